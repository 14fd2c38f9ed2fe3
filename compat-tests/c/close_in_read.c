/* pcap_close from inside a read of the same handle, on the reading thread,
 * for test_close_in_read.py.
 *
 *   close_in_read signal FUNC IFNAME
 *     FUNC (next_ex, next, dispatch, loop) waits on an idle IFNAME; a
 *     SIGALRM handler 200 ms later calls pcap_close on the handle, prints
 *     "closed" and _exit(3)s, as ngrep's SIGINT handler does.
 *   close_in_read callback FUNC IFNAME
 *     FUNC (dispatch, loop) reads IFNAME; the callback of the first packet
 *     calls pcap_close on the handle; the read then returns, and the
 *     program prints "returned rc=N" and exits 0.
 *
 * "ready" is printed once the capture is open.  Exit 2: bad arguments or
 * the capture cannot be opened. */
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static pcap_t *handle;
static int callbacks;

static void on_alarm(int sig)
{
  static const char msg[] = "closed\n";

  (void)sig;
  pcap_close(handle);
  if (write(1, msg, sizeof(msg) - 1) < 0) {
    /* nothing more to say */
  }
  _exit(3);
}

static void closing_callback(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
  (void)user;
  (void)h;
  (void)data;
  if (callbacks++ == 0)
    pcap_close(handle);
}

static int read_once(const char *func, pcap_handler cb)
{
  struct pcap_pkthdr *h, hdr;
  const u_char *data;

  if (strcmp(func, "next_ex") == 0)
    return pcap_next_ex(handle, &h, &data);
  if (strcmp(func, "next") == 0)
    return pcap_next(handle, &hdr) ? 1 : 0;
  if (strcmp(func, "dispatch") == 0)
    return pcap_dispatch(handle, -1, cb, NULL);
  return pcap_loop(handle, -1, cb, NULL);
}

static void ignore_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
  (void)user;
  (void)h;
  (void)data;
}

int main(int argc, char **argv)
{
  char errbuf[PCAP_ERRBUF_SIZE];
  struct sigaction sa;
  struct itimerval later = { { 0, 0 }, { 0, 200000 } };
  int by_signal, rc;

  if (argc != 4 || (strcmp(argv[1], "signal") && strcmp(argv[1], "callback")) ||
      (strcmp(argv[2], "next_ex") && strcmp(argv[2], "next") && strcmp(argv[2], "dispatch") &&
       strcmp(argv[2], "loop"))) {
    fprintf(stderr, "usage: close_in_read signal|callback next_ex|next|dispatch|loop IFNAME\n");
    return 2;
  }
  by_signal = strcmp(argv[1], "signal") == 0;
  if (!by_signal && strcmp(argv[2], "dispatch") && strcmp(argv[2], "loop")) {
    fprintf(stderr, "close_in_read: callback needs dispatch or loop\n");
    return 2;
  }
  handle = pcap_open_live(argv[3], 65535, 0, 100, errbuf);
  if (!handle) {
    fprintf(stderr, "close_in_read: %s\n", errbuf);
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  if (by_signal) {
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &later, NULL);
    for (;;)
      read_once(argv[2], ignore_packet);
  }
  rc = read_once(argv[2], closing_callback);
  printf("returned rc=%d callbacks=%d\n", rc, callbacks);
  return 0;
}
