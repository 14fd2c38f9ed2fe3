"""C test programs built from libpfring's own sources (not the installed
library), so that they can reach its internals: the sources, the include
directories (the AF_XDP skeleton in build/gen comes from make lib) and the
libraries they link.  ``root`` is the project's source tree (the tests
pass theirs: this module may run from an installed copy)."""
import subprocess

WARNINGS = ["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]


def library_sources(root):
    return sorted([*root.glob("libpfring/src/*.c"), *root.glob("drivers/*.c"),
                   *root.glob("kernel/*.c"),
                   *(p for p in root.glob("kernel/rules/*.c") if not p.name.endswith(".bpf.c"))])


def build(root, src, exe, cflags=()):
    """gcc src + libpfring's sources -> exe; the completed gcc run, whose
    args are the command."""
    cmd = ["gcc", "-std=gnu11", "-O1", "-g", *cflags, *WARNINGS,
           f"-I{root / 'libpfring/include'}", f"-I{root / 'libpfring/src'}",
           f"-I{root / 'kernel/xdp'}", f"-I{root / 'kernel/rules'}", f"-I{root / 'build/gen'}",
           "-o", str(exe), str(src), *map(str, library_sources(root)),
           "-lxdp", "-lbpf", "-ldl", "-lpthread"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)
