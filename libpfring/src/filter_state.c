/*
 * filter_state.c - the ring's filter state: the one object that decides which
 * packets reach the application, its one apply/rollback step, and the one
 * place that decides where a BPF program runs (pfring_int.h has the rules).
 *
 * The public wrappers (pfring.c) check their arguments, copy ring->filter,
 * change the field they set and hand the copy to pfringint_filter_apply().
 * Applying is three steps; each can fail only before it changes anything,
 * and a failure undoes the steps before it, so a ring whose set call fails
 * keeps its old filter, exactly:
 *
 *   prepare  a program that will run in user space: the interpreter loaded,
 *            the program validated (nothing on the ring touched yet)
 *   attach   the backend attaches the kernel program built from the new
 *            state (ops.update_filter: all or nothing; the state is put
 *            back on failure)
 *   switch   the receive path's flag, the recheck time stamp, the old
 *            program and the old rule set freed, the status entry (cannot
 *            fail)
 *
 * Which program a ring runs is decided here too: next.rules NULL (no
 * filtering rules, the default policy) keeps the classic filter that
 * kernel/filter.c builds; with rules the backend loads the rules program
 * of kernel/rules/ around that same classic filter (pfringint_rules_attach,
 * rules.c), as one new program instance that replaces the old one only
 * once it is attached.
 *
 * Per packet the receive path tests only ring->uf_check; the work is here,
 * out of line, for the packets that need it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pfring_int.h"

static u_int64_t now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (u_int64_t)ts.tv_sec * 1000000000ull + (u_int64_t)ts.tv_nsec;
}

void pfringint_filter_init(pfring *ring)
{
  memset(&ring->filter, 0, sizeof(ring->filter));
  ring->filter.direction = pfringint_params()->enable_tx_capture ? rx_and_tx_direction
                                                                 : rx_only_direction;
  ring->filter.channel_mask = ring->spec.channel_mask;
  ring->filter.vlan_id = ring->spec.vlan_id;
  ring->filter.bpf_where = PFRINGINT_BPF_NONE;
  ring->uf_check = 0;
}

/* Does the receive path run the program on some packets in this state? */
/* The one answer to "does this expression test VLAN tags" (pfring.h): the
 * kernel filter sees a received frame with its tag taken out, so such an
 * expression runs in user space, on the frame with its tag back. */
__attribute__((visibility("default"))) int pfring_bpf_expr_needs_userspace(const char *expr)
{
  return expr && strstr(expr, "vlan") != NULL;
}

static int needs_userspace_run(const struct pfringint_filter *f)
{
  return f->bpf.len > 0 &&
         (f->bpf_where == PFRINGINT_BPF_USERSPACE || f->recheck_until_ns != 0);
}

int pfringint_filter_apply(pfring *ring, struct pfringint_filter *next)
{
  struct pfringint_filter old = ring->filter;
  char msg[PFRING_ERRBUF_SIZE];
  int rc;

  if (next->bpf.len == 0) {          /* no program: nothing runs anywhere */
    next->bpf_where = PFRINGINT_BPF_NONE;
    next->recheck_until_ns = 0;
  }

  /* 1. prepare */
  if (needs_userspace_run(next) &&
      (rc = pfringint_bpf_userspace_ready(&next->bpf, msg, sizeof(msg))) < 0)
    return pfringint_seterr(ring, rc, 0, "%s", msg);

  /* 2. attach: the backend reads the state from the ring */
  ring->filter = *next;
  if (ring->filter.recheck_until_ns == PFRINGINT_RECHECK_NOW)
    ring->filter.recheck_until_ns = 0;  /* not before the kernel has the program */
  if (ring->ops.update_filter && (rc = ring->ops.update_filter(ring)) < 0) {
    ring->filter = old;
    return rc;
  }

  /* 3. switch: from here on nothing fails */
  if (next->recheck_until_ns == PFRINGINT_RECHECK_NOW)
    ring->filter.recheck_until_ns = now_ns();   /* packets stamped later met the new program */
  ring->uf_check = (u_int8_t)needs_userspace_run(&ring->filter);
  if (old.bpf.filter && old.bpf.filter != ring->filter.bpf.filter)
    free(old.bpf.filter);
  if (old.rules != ring->filter.rules)
    pfringint_ruleset_free(old.rules);    /* the rule set the ring ran before */
  *next = ring->filter;
  pfringint_status_update(ring);
  return 0;
}

/* Where a program runs, before the kernel has had its say.  (The wrappers
 * refused a program over BPF_MAXINSNS without PFRING_BPF_FALLBACK.) */
static u_int8_t choose_where(pfring *ring, const struct sock_fprog *prog, const char *expr)
{
  if (ring->flags & PF_RING_USERSPACE_BPF)
    return PFRINGINT_BPF_USERSPACE;
  if (pfring_bpf_expr_needs_userspace(expr))
    return PFRINGINT_BPF_USERSPACE;       /* tests VLAN tags the kernel took out */
  if (!ring->ops.update_filter)
    return PFRINGINT_BPF_USERSPACE;       /* no kernel program on this ring */
  if (prog->len > BPF_MAXINSNS)
    return PFRINGINT_BPF_USERSPACE;       /* more than the kernel takes */
  return PFRINGINT_BPF_KERNEL;
}

int pfringint_filter_set_bpf(pfring *ring, struct sock_fprog prog, const char *expr,
                             u_int32_t flags)
{
  struct pfringint_filter next = ring->filter;
  char kernel_msg[PFRING_ERRBUF_SIZE];
  int rc;

  next.bpf = prog;
  next.bpf_where = prog.len ? choose_where(ring, &prog, expr) : PFRINGINT_BPF_NONE;
  next.recheck_until_ns = 0;
  if (prog.len && next.bpf_where == PFRINGINT_BPF_KERNEL && (flags & PFRING_BPF_FILTER_QUEUED))
    next.recheck_until_ns = PFRINGINT_RECHECK_NOW;
  rc = pfringint_filter_apply(ring, &next);
  if (rc < 0 && next.bpf_where == PFRINGINT_BPF_KERNEL && (flags & PFRING_BPF_FALLBACK)) {
    /* The kernel refused it: the same state with the program in user space,
     * which checks the queued packets anyway. */
    snprintf(kernel_msg, sizeof(kernel_msg), "%s", ring->errbuf);
    next.bpf_where = PFRINGINT_BPF_USERSPACE;
    next.recheck_until_ns = 0;
    rc = pfringint_filter_apply(ring, &next);
    if (rc == 0)
      pfringint_log(3, "%s: the kernel refused the BPF program (%s); it runs in user space",
                    ring->bound_name, kernel_msg);
  }
  if (rc < 0 && prog.filter != ring->filter.bpf.filter)
    free(prog.filter);
  return rc;
}

int pfringint_filter_accepts(pfring *ring, const u_char *pkt, u_int len, u_int caplen,
                             u_int64_t ts_ns)
{
  struct pfringint_filter *f = &ring->filter;

  if (f->bpf_where != PFRINGINT_BPF_USERSPACE) {
    /* A kernel program, and packets the previous one may have queued. */
    if (ts_ns > f->recheck_until_ns) {
      f->recheck_until_ns = 0;          /* the kernel has it from here on */
      ring->uf_check = 0;
      return 1;
    }
  }
  if (pfringint_bpf_match(&f->bpf, pkt, len, caplen))
    return 1;
  ring->uf_rejected++;
  return 0;
}
