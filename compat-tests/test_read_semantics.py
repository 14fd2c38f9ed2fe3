"""Read timeouts, non-blocking mode and pcap_breakloop as stock libpcap has
them (c/read_semantics.c), on a ring and on the system libpcap side by side.

Stock libpcap on Linux waits in poll() until a packet comes, whatever the
timeout: on TPACKET_V3 the kernel's block timer retires no empty block, so
an idle capture never returns "nothing" (python-libpcap would then yield
empty records).  Non-blocking mode returns 0 at once; pcap_breakloop, from a
signal handler or from another thread, ends a blocked call with
PCAP_ERROR_BREAK (-2; pcap_next gives NULL).  One difference is kept and
documented (libpcap-pfring/README.md): with timeout 0 stock waits until a
whole block is full, the drop-in hands a packet over within a second.

Every wait is bounded; every program is stopped by its pid.
"""
import os
import re
import subprocess
import time

import pytest

from pcap_pfring.cli.pfring_run import libdir
from pcap_pfring.testing.compat import TWO_ROUTES, Program, ipv4_frame, route_env, send

pytestmark = pytest.mark.needs_root

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "c", "read_semantics.c")
FUNCS = ("next_ex", "next", "dispatch", "loop")
RETURNED = re.compile(r"returned rc=(-?\d+) got=(\d+) ms=(\d+)")


@pytest.fixture(scope="module")
def read_semantics(tmp_path_factory):
    exe = tmp_path_factory.mktemp("read") / "read_semantics"
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", SOURCE, "-o", str(exe),
                    "-L" + libdir(), "-lpcap", "-lpthread"], check=True, capture_output=True,
                   timeout=60)
    return str(exe)


class Progs(dict):
    """The program on each route, by route; stopped by pid when the block
    ends (``with start(...) as progs:``)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.values():
            p.stop()


def start(pair, exe, *args):
    """The program on both routes, each started and ready."""
    progs = Progs()
    try:
        for route in TWO_ROUTES:
            progs[route] = Program(pair.a, [exe, *args, pair.if_a],
                                   route_env(route, PCAP_PF_RING_DEBUG=1))
            progs[route].wait_for("ready", stream="out")
    except BaseException:
        progs.__exit__()
        raise
    return progs


def outcome(p, timeout):
    """(rc, got, ms) once the program says its call returned, or None if it
    has not within timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        m = RETURNED.search(p.stdout)
        if m:
            return tuple(int(x) for x in m.groups())
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def finish(progs):
    """Exit statuses once the programs end (killed after 5 s), and each was
    on the route it was meant for."""
    codes = {route: p.wait(timeout=5) for route, p in progs.items()}
    assert "capturing on a PF_RING ring" in progs["ring"].stderr
    return codes


def one_frame(pair):
    return ipv4_frame(pair.mac_a, pair.mac_b, "10.7.0.2", "10.7.0.1", 17, 41000, 9, b"late")


@pytest.mark.parametrize("immediate", [False, True], ids=["buffered", "immediate"])
@pytest.mark.parametrize("func", FUNCS)
def test_idle_capture_does_not_return_at_the_timeout(veth_pair, read_semantics, func, immediate):
    with start(veth_pair, read_semantics, "-t", "100", *(["-i"] if immediate else []),
              "-f", func) as progs:
        time.sleep(0.5)
        for route, p in progs.items():
            assert outcome(p, 0) is None, (route, p.stdout)
            assert p.proc.poll() is None, (route, p.stderr)
    assert "capturing on a PF_RING ring" in progs["ring"].stderr


# What each call returns for one packet: pcap_loop(cnt 1) returns 0.
LATE = {"next_ex": (1, 1), "next": (1, 1), "dispatch": (1, 1), "loop": (0, 1)}


@pytest.mark.parametrize("immediate", [False, True], ids=["buffered", "immediate"])
@pytest.mark.parametrize("func", FUNCS)
def test_packet_after_300_ms_is_returned(veth_pair, read_semantics, func, immediate):
    with start(veth_pair, read_semantics, "-t", "100", *(["-i"] if immediate else []),
              "-f", func) as progs:
        time.sleep(0.3)
        send(veth_pair.b, veth_pair.if_b, [one_frame(veth_pair)])
        got = {route: outcome(p, 3) for route, p in progs.items()}
        codes = finish(progs)
    for route in TWO_ROUTES:
        assert got[route] is not None, (route, progs[route].stdout, progs[route].stderr)
        assert got[route][:2] == LATE[func], route
        assert 250 <= got[route][2] < 1500, route
    assert codes == {"ring": 0, "stock": 0}


# Not pcap_loop: libpcap's loop reads again after a read that gave nothing,
# so in non-blocking mode it spins (on both routes) until its count.
@pytest.mark.parametrize("func", ("next_ex", "next", "dispatch"))
def test_nonblocking_returns_zero_at_once(veth_pair, read_semantics, func):
    with start(veth_pair, read_semantics, "-n", "-t", "100", "-f", func) as progs:
        got = {route: outcome(p, 3) for route, p in progs.items()}
        codes = finish(progs)
    for route in TWO_ROUTES:
        assert got[route] is not None, (route, progs[route].stdout, progs[route].stderr)
        assert got[route][:2] == (0, 0), route
        assert got[route][2] < 50, route
    assert codes == {"ring": 0, "stock": 0}


@pytest.mark.parametrize("how", ["signal", "thread"])
@pytest.mark.parametrize("func", FUNCS)
def test_breakloop_ends_a_blocked_call(veth_pair, read_semantics, func, how):
    with start(veth_pair, read_semantics, "-t", "100", "-b", how, "-f", func) as progs:
        got = {route: outcome(p, 3) for route, p in progs.items()}
        codes = finish(progs)
    expected = (0, 0) if func == "next" else (-2, 0)     # pcap_next: NULL
    for route in TWO_ROUTES:
        assert got[route] is not None, (route, progs[route].stdout, progs[route].stderr)
        assert got[route][:2] == expected, route
        assert 250 <= got[route][2] < 1500, route
    assert codes == {"ring": 0, "stock": 0}


def test_timeout_zero_delivers_within_a_second_on_a_ring(veth_pair, read_semantics):
    """The documented difference: timeout 0 without immediate mode.  Stock
    libpcap waits for a full block (256 KiB) and so has not returned 1.5 s
    after one packet; the drop-in hands the packet over within a second (the
    kernel block timeout it sets for 0)."""
    with start(veth_pair, read_semantics, "-t", "0", "-f", "next_ex") as progs:
        time.sleep(0.3)
        send(veth_pair.b, veth_pair.if_b, [one_frame(veth_pair)])
        ring = outcome(progs["ring"], 1.5)
        stock = outcome(progs["stock"], 0)
        assert progs["stock"].proc.poll() is None, progs["stock"].stderr
    assert ring is not None and ring[:2] == (1, 1), progs["ring"].stdout
    assert ring[2] < 1300
    assert stock is None, progs["stock"].stdout
