/*
 * test_dropin_note.c - table tests of pfringint_notes_have_dropin(), the one
 * reader of the drop-in's ELF note (dropin_note.h).  Each row is a note
 * segment built here: well formed, another vendor's note, a note after
 * others, and truncated or hostile lengths, which must give 0 and never
 * read past the segment (the segment is copied to the end of a page with an
 * inaccessible page after it, so an overread faults).
 * Prints one line per failed case and "N passed, N failed".
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dropin_note.h"

static int passed, failed;

/* Appends one note (namesz from the name, padded to 4) to buf at *off. */
static void put_note(unsigned char *buf, size_t *off, const char *name, uint32_t namesz,
                     uint32_t descsz, size_t body)
{
  ElfW(Nhdr) n = { .n_namesz = namesz, .n_descsz = descsz, .n_type = 1 };

  memcpy(buf + *off, &n, sizeof(n));
  *off += sizeof(n);
  memset(buf + *off, 0, body);
  if (name)
    memcpy(buf + *off, name, strlen(name) + 1);
  *off += body;
}

/* Runs the reader over seg[0..len) placed flush against a PROT_NONE page. */
static int check_at_page_end(const unsigned char *seg, size_t len)
{
  long page = sysconf(_SC_PAGESIZE);
  unsigned char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int r;

  if (map == MAP_FAILED)
    return -1;
  mprotect(map + page, (size_t)page, PROT_NONE);
  memcpy(map + page - len, seg, len);
  r = pfringint_notes_have_dropin(map + page - len, len);
  munmap(map, (size_t)page * 2);
  return r;
}

static void expect(const char *what, const unsigned char *seg, size_t len, int want)
{
  int got = check_at_page_end(seg, len);

  if (got == want) {
    passed++;
  } else {
    failed++;
    printf("FAIL %s: got %d, want %d\n", what, got, want);
  }
}

int main(void)
{
  unsigned char buf[256];
  const uint32_t ours = sizeof(PFRING_PCAP_DROPIN_NOTE);
  const size_t ours_pad = (ours + 3u) & ~3u;
  size_t off;

  off = 0;
  put_note(buf, &off, PFRING_PCAP_DROPIN_NOTE, ours, 0, ours_pad);
  expect("our note alone", buf, off, 1);
  expect("our note cut by one byte", buf, off - 1, 0);
  expect("only a header", buf, sizeof(ElfW(Nhdr)), 0);
  expect("shorter than a header", buf, sizeof(ElfW(Nhdr)) - 1, 0);
  expect("empty segment", buf, 0, 0);

  off = 0;
  put_note(buf, &off, "GNU", 4, 16, 4 + 16);
  put_note(buf, &off, PFRING_PCAP_DROPIN_NOTE, ours, 4, ours_pad + 4);
  expect("after a GNU build-id note", buf, off, 1);

  off = 0;
  put_note(buf, &off, "GNU", 4, 16, 4 + 16);
  expect("a GNU note only", buf, off, 0);

  off = 0;
  put_note(buf, &off, "pcap-pfrin", 11, 0, 12);
  expect("a prefix of our name", buf, off, 0);

  off = 0;
  put_note(buf, &off, "GNU", 4, 0xfffffff0u, 4);
  put_note(buf, &off, PFRING_PCAP_DROPIN_NOTE, ours, 0, ours_pad);
  expect("a huge descsz before ours", buf, off, 0);

  off = 0;
  put_note(buf, &off, NULL, 0xffffffffu, 0xffffffffu, 0);
  expect("all-ones sizes", buf, off, 0);

  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
