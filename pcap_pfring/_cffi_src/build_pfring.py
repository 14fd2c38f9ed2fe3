"""cffi builder for pcap_pfring._pfring (out-of-line API mode).

The declarations are decl/system.h (the system types), then libpfring's
pfring.h itself, read by cdef_from_header.py, then decl/helpers.h (the
extension's own helpers and callbacks).  The extension links libpfring.so
from build/lib and finds it at run time next to itself (pcap_pfring/lib,
rpath $ORIGIN/lib).
"""
import os
import re
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from cdef_from_header import header_cdef  # noqa: E402


def _read(*parts):
    with open(os.path.join(*parts)) as f:
        return f.read()


ffi = FFI()
ffi.cdef(_read(HERE, "decl", "system.h") +
         header_cdef(_read(ROOT, "libpfring", "include", "pfring.h")) +
         _read(HERE, "decl", "helpers.h"))

with open(os.path.join(HERE, "helpers.c")) as f:
    HELPERS = f.read()
with open(os.path.join(ROOT, "pyproject.toml")) as f:
    VERSION = re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)

ffi.set_source(
    "pcap_pfring._pfring",
    f'static const char *pp_build_version(void) {{ return "{VERSION}"; }}\n' + HELPERS,
    include_dirs=[os.path.join(ROOT, "libpfring", "include")],
    library_dirs=[os.path.join(ROOT, "build", "lib")],
    libraries=[":libpfring.so.1"],
    extra_link_args=["-Wl,-rpath,$ORIGIN/lib"],
    extra_compile_args=["-O2", "-Wall", "-Wno-address-of-packed-member"],
)

if __name__ == "__main__":
    ffi.compile(verbose=True)
