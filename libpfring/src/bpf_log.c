/*
 * bpf_log.c - libbpf's and libxdp's messages, through pfring_set_print.
 *
 * Both libraries print on stderr unless given a print function, and
 * libbpf's is one per process: libpfring installs it once, for the rules
 * programs (rules.c) and the XDP rings (drivers/af_xdp.c) alike.  Messages
 * go out at debug level, one line each (a refused program's verifier log
 * reaches the caller in the error text instead).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "pfring_int.h"

void pfringint_log_library_line(const char *library, const char *fmt, va_list ap)
{
  char msg[1024];
  size_t n;

  vsnprintf(msg, sizeof(msg), fmt, ap);
  n = strlen(msg);
  while (n && msg[n - 1] == '\n')
    msg[--n] = '\0';
  pfringint_log(3, "%s: %s", library, msg);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
  if (level != LIBBPF_DEBUG)
    pfringint_log_library_line("libbpf", fmt, ap);
  return 0;
}

static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void install(void)
{
  libbpf_set_print(libbpf_print);
}

void pfringint_libbpf_logs(void)
{
  pthread_once(&installed, install);
}
