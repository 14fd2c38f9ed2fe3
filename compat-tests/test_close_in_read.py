"""pcap_close from inside a read of the same handle on the reading thread
(c/close_in_read.c), as ngrep's SIGINT handler does it.

From a signal handler that then exits, both routes close and exit at once
(the ring's close cannot wait for the read below it on its own stack: it
breaks the read and leaves the freeing to it).  From a callback, which
stock libpcap leaves undefined (the loop goes on with a freed handle), the
ring's read returns PCAP_ERROR_BREAK after that one callback and frees the
handle itself."""
import os
import subprocess

import pytest

from pcap_pfring.cli.pfring_run import libdir
from pcap_pfring.testing.compat import Program, flow_frames, route_env, send

pytestmark = pytest.mark.needs_root

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "c", "close_in_read.c")
ON_RING = "capturing on a PF_RING ring"


@pytest.fixture(scope="module")
def close_in_read(tmp_path_factory):
    exe = tmp_path_factory.mktemp("close") / "close_in_read"
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", SOURCE, "-o", str(exe),
                    "-L" + libdir(), "-lpcap"], check=True, capture_output=True, timeout=60)
    return str(exe)


@pytest.mark.parametrize("route", ["ring", "stock"])
@pytest.mark.parametrize("func", ["next_ex", "next", "dispatch", "loop"])
def test_close_from_a_signal_handler(veth_pair, close_in_read, route, func):
    p = Program(veth_pair.a, [close_in_read, "signal", func, veth_pair.if_a],
                route_env(route, PCAP_PF_RING_DEBUG=1))
    try:
        assert p.wait(timeout=5) == 3, p.stderr
    finally:
        p.stop()
    assert p.stdout == "ready\nclosed\n"
    assert (ON_RING in p.stderr) == (route == "ring")


@pytest.mark.parametrize("func", ["dispatch", "loop"])
def test_close_from_a_callback_breaks_the_ring_read(veth_pair, close_in_read, func):
    rx, _ = flow_frames(veth_pair, 8)
    p = Program(veth_pair.a, [close_in_read, "callback", func, veth_pair.if_a],
                route_env("ring", PCAP_PF_RING_DEBUG=1))
    try:
        p.wait_for("ready", stream="out")
        send(veth_pair.b, veth_pair.if_b, rx)
        assert p.wait(timeout=5) == 0, p.stderr
    finally:
        p.stop()
    assert p.stdout == "ready\nreturned rc=-2 callbacks=1\n"
    assert ON_RING in p.stderr


def test_bad_arguments_are_named(close_in_read):
    res = subprocess.run([close_in_read, "callback", "next", "lo"], capture_output=True,
                         text=True, timeout=10, env=route_env("ring"))
    assert res.returncode == 2
    assert "callback needs dispatch or loop" in res.stderr
