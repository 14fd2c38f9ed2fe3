/* Prints the socket filter for a spec given on the command line:
 *   filter_dump DIRECTION LOOPBACK VLAN CHANNEL_MASK_HEX DROP_ALL SNAPLEN USER_LEN [IFINDEX...]
 * USER_LEN > 0 appends that many "ld #i" instructions and a final "ret a". */
#include <stdio.h>
#include <stdlib.h>
#include "pfring_int.h"

int main(int argc, char **argv)
{
  struct pfringint_filter_spec s = { 0 };
  struct sock_filter *user = NULL;
  struct sock_fprog out;
  int ifx[64], i, n, rc;

  if (argc < 8)
    return 2;
  s.direction = (packet_direction)atoi(argv[1]);
  s.drop_loopback_outgoing = (u_int8_t)atoi(argv[2]);
  s.vlan_id = (u_int16_t)strtoul(argv[3], NULL, 0);
  s.channel_mask = strtoull(argv[4], NULL, 16);
  s.drop_all = (u_int8_t)atoi(argv[5]);
  s.snaplen = (u_int32_t)atoi(argv[6]);
  n = atoi(argv[7]);
  if (n > 0) {
    user = calloc((size_t)n + 1, sizeof(*user));
    for (i = 0; i < n; i++)
      user[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, (u_int32_t)i);
    user[n] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
    s.user = user;
    s.user_len = (u_int32_t)n + 1;
  }
  for (i = 8; i < argc && i - 8 < 64; i++)
    ifx[i - 8] = atoi(argv[i]);
  s.num_ifindex = (u_int32_t)(argc - 8);
  s.ifindex = ifx;
  rc = pfringint_build_socket_filter(&s, &out);
  if (rc < 0) {
    printf("error %d\n", rc);
    return 1;
  }
  for (i = 0; i < out.len; i++)
    printf("%u %u %u %u\n", out.filter[i].code, out.filter[i].jt, out.filter[i].jf, out.filter[i].k);
  return 0;
}
