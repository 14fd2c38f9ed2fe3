"""C unit tests: table-driven C programs built from single library sources.

Each program in tests/unit/c is compiled with gcc together with the library
files it tests and tests/unit/c/stubs.c (a pfringint_log that records the
messages), then run with a scratch directory as its argument.  It prints one
line per failed case and "N passed, N failed", and exits 1 on any failure.
Under make asan they are built with its sanitizers and checked for leaks.
"""
import os
import pathlib
import shutil
import subprocess

import pytest

from pcap_pfring.testing import sanitizers

ROOT = pathlib.Path(__file__).resolve().parents[2]
C_DIR = pathlib.Path("tests", "unit", "c")
INCLUDES = [pathlib.Path("libpfring", "include"), pathlib.Path("libpfring", "src")]
CFLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"]

# program -> the library sources it needs (paths relative to the repository)
PROGRAMS = {
    "test_device_name": ["libpfring/src/device_name.c"],
    "test_config": ["libpfring/src/config.c"],
    "test_dropin_note": [],
    "test_link_types": ["libpfring/src/netdev.c"],
}


def _compile(name, out):
    sources = [C_DIR / f"{name}.c", C_DIR / "stubs.c"]
    sources += [pathlib.Path(s) for s in PROGRAMS[name]]
    cmd = ["gcc", *CFLAGS, *sanitizers.c_flags(), *(f"-I{ROOT / i}" for i in INCLUDES),
           "-o", str(out), *(str(ROOT / s) for s in sources), "-lpthread"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stdout}{res.stderr}"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_c_program(name, tmp_path):
    exe = tmp_path / name
    _compile(name, exe)
    # The programs set the variables they test; nothing of ours leaks in.
    env = sanitizers.c_env({k: v for k, v in os.environ.items() if not k.startswith("PF_RING_")})
    res = subprocess.run([str(exe), str(tmp_path)], capture_output=True, text=True,
                         timeout=60, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.rstrip().endswith(" 0 failed"), res.stdout
