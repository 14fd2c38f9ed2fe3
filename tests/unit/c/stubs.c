/* Stubs for unit tests that compile single library files: the log sink. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

char stub_log[8192];
int stub_log_count;

void pfringint_log(int level, const char *fmt, ...)
{
  va_list ap;
  size_t n = strlen(stub_log);
  (void)level;
  va_start(ap, fmt);
  vsnprintf(stub_log + n, sizeof(stub_log) - n, fmt, ap);
  va_end(ap);
  n = strlen(stub_log);
  if (n < sizeof(stub_log) - 1) {
    stub_log[n] = '\n';
    stub_log[n + 1] = '\0';
  }
  stub_log_count++;
}
