/*
 * stubs.c - what the unit test programs need from the rest of libpfring
 * when they compile single library files: a pfringint_log() that records
 * every message instead of printing it.
 *
 *   stub_log        all messages, each followed by '\n'
 *   stub_log_count  how many messages
 *   stub_log_level  the level of the last message
 *   stub_log_reset  forgets them
 *   stub_log_hook   if set, called after each message (a print callback)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

char stub_log[16384];
int stub_log_count;
int stub_log_level = -1;
void (*stub_log_hook)(void);

void stub_log_reset(void);
void pfringint_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void stub_log_reset(void)
{
  stub_log[0] = '\0';
  stub_log_count = 0;
  stub_log_level = -1;
}

void pfringint_log(int level, const char *fmt, ...)
{
  size_t n = strlen(stub_log);
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(stub_log + n, sizeof(stub_log) - n, fmt, ap);
  va_end(ap);
  n = strlen(stub_log);
  if (n + 1 < sizeof(stub_log)) {
    stub_log[n] = '\n';
    stub_log[n + 1] = '\0';
  }
  stub_log_count++;
  stub_log_level = level;
  if (stub_log_hook)
    stub_log_hook();
}
