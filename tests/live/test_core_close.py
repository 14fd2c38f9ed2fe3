"""pfring_close against calls in flight, under AddressSanitizer.

tests/unit/c/close_race.c is built with -fsanitize=address from libpfring's
own sources (not the installed library), then run on one end of a veth
pair in a fresh namespace: a thread blocks in each receive call (pfring_recv
with wait, plain and PF_RING_REENTRANT, pfring_loop, pfring_recv_burst,
pfring_poll), the main thread closes the ring, and the blocked call must
come back with PF_RING_ERROR_INVALID_STATUS; every call on the closed handle
must fail the same way with errno EBADF.  ASan aborts the program on any
read of freed memory, which is what closing used to cause.  Under make asan
it gets that run's flags (UBSan too).
"""
import os
import pathlib
import shutil
import subprocess

import pytest

from pcap_pfring.testing import cprog, sanitizers

pytestmark = pytest.mark.needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
CFLAGS = sanitizers.c_flags() or ["-fsanitize=address", "-fno-omit-frame-pointer"]


@pytest.fixture(scope="module")
def close_race(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    probe = tmp_path_factory.mktemp("asan")
    (probe / "p.c").write_text("int main(void) { return 0; }\n")
    if subprocess.run(["gcc", "-fsanitize=address", "-o", str(probe / "p"), str(probe / "p.c")],
                      capture_output=True).returncode != 0:
        pytest.skip("gcc cannot build with -fsanitize=address here")
    exe = probe / "close_race"
    res = cprog.build(ROOT, ROOT / "tests/unit/c/close_race.c", exe, CFLAGS)
    assert res.returncode == 0, f"{' '.join(res.args)}\n{res.stdout}{res.stderr}"
    return exe


def test_close_wakes_blocked_calls_and_closed_handles_fail_safely(veth_pair, close_race):
    res = veth_pair.a.run([str(close_race), veth_pair.if_a], check=False, timeout=120,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                               "ASAN_OPTIONS": "abort_on_error=0:detect_leaks=1:exitcode=23",
                               **{k: v for k, v in os.environ.items()
                                  if k == "PF_RING_STATUS_DIR"}})
    out = res.stdout + res.stderr
    assert "AddressSanitizer" not in out, out
    assert "runtime error:" not in out, out
    assert res.returncode == 0, out
    assert res.stdout.rstrip().endswith(" 0 failed"), out

