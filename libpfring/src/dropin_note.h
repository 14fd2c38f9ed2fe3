/*
 * dropin_note.h - the one reader of the ELF note that marks the libpcap
 * drop-in (PFRING_PCAP_DROPIN_NOTE, written by libpcap-pfring/src/syslib.c).
 *
 * Two readers need it: the system-libpcap loader (syspcap.c), which reads a
 * candidate file's PT_NOTE segments before it opens it, and pfring-run's
 * audit module (libpcap-pfring/src/audit/audit.c), which reads the segments
 * of an object the dynamic linker has just mapped.  Both hand this function
 * the bytes of one PT_NOTE segment.  Header-only, because the audit module
 * links nothing of libpfring.
 */
#ifndef PFRING_DROPIN_NOTE_H
#define PFRING_DROPIN_NOTE_H

#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <string.h>

#include "pfring.h"

/* 1 if the note segment p[0..len) holds a note named PFRING_PCAP_DROPIN_NOTE.
 * Every length is checked against len before it is used: a truncated or
 * hostile segment gives 0, never a read past its end. */
static inline int pfringint_notes_have_dropin(const void *segment, size_t len)
{
  const unsigned char *p = (const unsigned char *)segment;
  const size_t want = sizeof(PFRING_PCAP_DROPIN_NOTE);
  size_t off = 0;

  while (len - off >= sizeof(ElfW(Nhdr))) {
    ElfW(Nhdr) n;             /* copied: a segment need not be aligned */
    size_t name_len, desc_len;

    memcpy(&n, p + off, sizeof(n));
    name_len = ((size_t)n.n_namesz + 3u) & ~(size_t)3u;
    desc_len = ((size_t)n.n_descsz + 3u) & ~(size_t)3u;
    off += sizeof(n);
    if (name_len > len - off || desc_len > len - off - name_len)
      return 0;
    if (n.n_namesz == want && memcmp(p + off, PFRING_PCAP_DROPIN_NOTE, want) == 0)
      return 1;
    off += name_len + desc_len;
  }
  return 0;
}

#endif
