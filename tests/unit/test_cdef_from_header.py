"""The binding's declarations are made from pfring.h (cdef_from_header)."""
import pathlib
import re
import sys

from cffi import FFI

from pcap_pfring._ffi import lib

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "pcap_pfring" / "_cffi_src"))
from cdef_from_header import header_cdef  # noqa: E402

HEADER = ROOT / "libpfring" / "include" / "pfring.h"


def test_the_steps_on_a_small_header():
    text = '''#ifndef X_H
#define X_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#define SIZE 16   /* a comment */
#define ALIAS SIZE
#define FLAG (1u << 3)
#define NAME "text"
#define MACRO(x) ((x) + 1)
struct outer {
  int a;
  struct inner_tag {
    unsigned char b;
  } __attribute__((packed)) inner;
  char name[ALIAS];
} __attribute__((packed));
typedef enum { one = 0, two } numbers;
int f(struct outer *o, ...) __attribute__((format(printf, 1, 2)));
#ifdef __cplusplus
}
#endif
#endif
'''
    got = header_cdef(text)
    lines = [x.strip() for x in got.splitlines() if x.strip()]
    assert lines == [
        "#define SIZE 16", "#define ALIAS 16", "#define FLAG ...",
        "struct outer {", "int a;", "struct inner_tag {", "unsigned char b;",
        "...; }  inner;", "char name[16];", "...; } ;",
        "typedef enum { one = 0, two } numbers;",
        "int f(struct outer *o, ...) ;",
    ]
    FFI().cdef("typedef int int32_t;" + got)      # cffi takes it


def test_every_function_of_pfring_h_is_bound():
    names = set(re.findall(r"^[\w\s\*]*?\b((?:pfring|dna_cluster)_\w+)\(", HEADER.read_text(),
                           re.M))
    assert len(names) > 100
    assert [n for n in sorted(names) if not hasattr(lib, n)] == []
