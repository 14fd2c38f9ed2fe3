/* cluster_dump TYPE [inline]
 * Prints the cluster program of a type (kernel/cluster.c), or with "inline"
 * the same hash as a socket filter fragment, one "code jt jf k" line per
 * instruction, or "error RC MESSAGE".  Used by
 * tests/unit/test_cluster_programs.py and tests/live/test_cluster_kernel.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pfring_int.h"

int main(int argc, char **argv)
{
  struct sock_fprog p;
  char err[256];
  int rc, i;

  if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "inline")))
    return 2;
  if (argc == 3)
    rc = pfringint_build_flow_hash((cluster_type)atoi(argv[1]), &p, err, sizeof(err));
  else
    rc = pfringint_build_cluster_program((cluster_type)atoi(argv[1]), &p, err, sizeof(err));
  if (rc < 0) {
    printf("error %d %s\n", rc, err);
    return 0;
  }
  for (i = 0; i < p.len; i++)
    printf("%u %u %u %u\n", p.filter[i].code, p.filter[i].jt, p.filter[i].jf, p.filter[i].k);
  free(p.filter);
  return 0;
}
