/*
 * status.c - the status tree (PF_RING's /proc/net/pf_ring).  Placeholder:
 * ring ids only; the tree itself is written by the full implementation.
 */
#include <stdio.h>
#include "pfring_int.h"

static u_int32_t next_id;

u_int32_t pfringint_next_ring_id(void) { return __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED); }
void pfringint_status_register(pfring *ring) { (void)ring; }
void pfringint_status_update(pfring *ring) { (void)ring; }
void pfringint_status_unregister(pfring *ring) { (void)ring; }
int pfringint_status_write_appl_stats(pfring *ring, const char *text) { (void)ring; (void)text; return 0; }
void pfringint_status_path(pfring *ring, const char *sub, char *path, size_t len)
{
  snprintf(path, len, "%s/%s/%u", pfringint_params()->status_dir, sub, ring->ring_id);
}
