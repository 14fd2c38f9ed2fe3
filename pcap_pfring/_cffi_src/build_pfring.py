"""cffi builder for pcap_pfring._pfring (out-of-line API mode).

The declaration files in decl/ are concatenated in this order (types first,
then what uses them).  The extension links libpfring.so from build/lib and
finds it at run time next to itself (pcap_pfring/lib, rpath $ORIGIN/lib).
"""
import os
import re

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DECLS = ["types.h", "errors.h", "ring.h", "rules.h", "status.h", "env.h", "dna_cluster.h",
         "helpers.h"]   # order matters

ffi = FFI()
ffi.cdef("".join(open(os.path.join(HERE, "decl", name)).read() for name in DECLS))

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
