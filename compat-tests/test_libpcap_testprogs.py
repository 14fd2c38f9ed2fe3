"""libpcap's own test programs (testprogs/ of Debian's libpcap source
package), linked -lpcap against the system library (DT_NEEDED
libpcap.so.0.8), run on both routes in a namespace with traffic: the same
exit status, the same packets delivered, the same output where the output
does not name the library.

make setup (make compat-deps) downloads the source and builds the programs
under build/compat/testprogs; nothing of it is committed."""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from pcap_pfring.testing.compat import ON_RING, TWO_ROUTES, Program, flow_frames, route_env, send
from pcap_pfring.testing.fixtures import frame

pytestmark = pytest.mark.needs_root

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTPROGS = os.path.join(ROOT, "build", "compat", "testprogs")


@pytest.fixture(scope="module")
def progs():
    """The built programs (make compat-deps, cached under build/compat)."""
    if not os.path.exists(os.path.join(TESTPROGS, ".built")):
        subprocess.run(["make", "-s", "compat-deps"], cwd=ROOT, check=True, timeout=600)
    return TESTPROGS


def prog(progs, name, *args):
    return ["stdbuf", "-oL", os.path.join(progs, name), *args]


def run_both(ns, argv, timeout=30):
    """argv on both routes: {route: (status, stdout, stderr)}."""
    out = {}
    for route in TWO_ROUTES:
        res = ns.run(argv, env=route_env(route, PCAP_PF_RING_DEBUG=1), check=False,
                     timeout=timeout)
        out[route] = (res.returncode, res.stdout, res.stderr)
    return out


def test_programs_link_the_system_soname(progs):
    for name in ("capturetest", "filtertest", "opentest", "nonblocktest", "selpolltest",
                 "findalldevstest", "reactivatetest"):
        dyn = subprocess.run(["readelf", "-d", os.path.join(progs, name)], capture_output=True,
                             text=True, check=True).stdout
        assert "[libpcap.so.0.8]" in dyn, name
        assert "RPATH" not in dyn and "RUNPATH" not in dyn


FILTERS = ["udp", "tcp port 80 and not src net 10.0.0.0/8", "vlan 100 and udp",
           "ip[9] = 6 or udp[0:2] = 53", "ether proto 0x88b5", "ip6 and tcp port 22",
           "portrange 20000-20010 or icmp"]


@pytest.mark.parametrize("args", [[], ["-O"], ["-d"], ["-s", "96"], ["-m", "255.255.0.0"]],
                         ids=["optimized", "unoptimized", "dump", "snaplen", "netmask"])
def test_filtertest_prints_the_same_programs(progs, veth_pair, args):
    for expr in FILTERS:
        out = run_both(veth_pair.a, prog(progs, "filtertest", *args, "EN10MB", expr))
        assert out["ring"] == out["stock"], expr
        assert out["ring"][0] == 0
        assert out["ring"][1].startswith("{ 0x" if args == ["-d"] else "(000)")


def test_filtertest_errors_are_the_same(progs, veth_pair):
    for argv, error in ((["EN10MB", "udp and and"], "can't parse filter expression: syntax error"),
                        (["NOSUCHDLT", "udp"], "invalid data link type NOSUCHDLT"),
                        (["EN10MB", "port 99999"], "illegal port number 99999 > 65535"),
                        (["EN10MB", "ip6 and tcp[13] = 2"], "expression rejects all packets")):
        out = run_both(veth_pair.a, prog(progs, "filtertest", *argv))
        assert out["ring"] == out["stock"] == (1, "", f"filtertest: {error}\n"), argv


def test_findalldevstest_lists_the_veth(progs, veth_pair):
    out = run_both(veth_pair.a, prog(progs, "findalldevstest"))
    assert out["ring"][0] == out["stock"][0] == 0
    ring, stock = out["ring"][1], out["stock"][1]
    assert re.search(f"(^|\n){veth_pair.if_a}\n\tDescription: PF_RING\n", ring)   # as PF_RING
    assert re.search(f"(^|\n){veth_pair.if_a}\n\tFlags: ", stock)
    assert "\nany\n\tDescription: PF_RING\n" in ring
    # Apart from the descriptions of the interfaces a ring can open, the same.
    strip = re.compile(r"\n\tDescription: [^\n]*")
    assert strip.sub("", ring) == strip.sub("", stock)
    assert f"\tAddress: {veth_pair.ip_a}\n" in ring


@pytest.mark.parametrize("args", [[], ["-p"], ["-s", "128"], ["-B", "4096"], ["-a"]],
                         ids=["default", "promisc", "snaplen", "buffer", "open_live"])
def test_opentest_opens(progs, veth_pair, args):
    out = run_both(veth_pair.a, prog(progs, "opentest", "-i", veth_pair.if_a, *args))
    assert out["ring"][:2] == out["stock"][:2] == (0, f"{veth_pair.if_a} opened successfully\n")
    assert out["ring"][2] == f"pcap-pfring: {veth_pair.if_a}: {ON_RING}\n"
    assert out["stock"][2] == ""


def test_opentest_errors(progs, veth_pair):
    """A missing device, and monitor mode on a veth (a ring hands monitor
    mode to the system libpcap, which refuses it here)."""
    for args in (["-i", "nosuchif0"], ["-i", "nosuchif0", "-a"], ["-i", veth_pair.if_a, "-I"]):
        out = run_both(veth_pair.a, prog(progs, "opentest", *args))
        ring, stock = out["ring"], out["stock"]
        assert ring[:2] == stock[:2], args
        assert ring[0] == 1
        debug = [line for line in ring[2].splitlines() if line.startswith("pcap-pfring: ")]
        assert [line for line in ring[2].splitlines() if line not in debug] == \
            stock[2].splitlines()
        assert all("falling back to the system libpcap" in line for line in debug)


def test_reactivatetest(progs, veth_pair):
    out = run_both(veth_pair.a, prog(progs, "reactivatetest"))
    assert out["ring"][:2] == out["stock"][:2] == (0, "")
    assert out["ring"][2].splitlines() == [
        "pcap-pfring: lo0: falling back to the system libpcap: no such interface 'lo0'",
        f"pcap-pfring: lo: {ON_RING}"]


class Traffic:
    """Frames sent from b to a in bursts until stopped (at most 20 s)."""

    def __init__(self, pair, frames, gap=0.05):
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(pair, frames, gap), daemon=True)
        self.thread.start()

    def _run(self, pair, frames, gap):
        deadline = time.monotonic() + 20
        while not self.stop_flag.is_set() and time.monotonic() < deadline:
            send(pair.b, pair.if_b, frames)
            self.stop_flag.wait(gap)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(25)


def test_nonblocktest(progs, veth_pair):
    """Non-blocking mode set before activation survives it; pcap_loop ends by
    pcap_breakloop from the callback.  Then the program fills the file table
    and expects pcap_setnonblock(0) to fail, because stock libpcap opens a
    fresh eventfd when it leaves non-blocking mode; a ring keeps its wake-up
    eventfd from open to close, so that call succeeds and the program reports
    the success as an error (the one difference, kept)."""
    # Stock libpcap reads with timeout 0 here: blocks of 256 KiB are handed
    # over only when full, so the traffic must fill one.
    big = [frame(veth_pair.mac_a, veth_pair.mac_b, payload=bytes(1400))] * 60
    results = {}
    for route in TWO_ROUTES:
        p = Program(veth_pair.a, prog(progs, "nonblocktest", "-i", veth_pair.if_a),
                    route_env(route, PCAP_PF_RING_DEBUG=1))
        traffic = Traffic(veth_pair, big)
        try:
            code = p.wait(timeout=20)
        finally:
            traffic.stop()
            p.stop()
        results[route] = (code, p.stderr.splitlines())
    assert results["stock"] == (0, [
        "nonblocktest: WARNING: using pcap_breakloop()",
        "nonblocktest: WARNING: pcap_setnonblock failed as expected: "
        "Could not open eventfd: Too many open files"])
    assert results["ring"] == (1, [
        f"pcap-pfring: {veth_pair.if_a}: {ON_RING}",
        "nonblocktest: WARNING: using pcap_breakloop()",
        "nonblocktest: pcap_setnonblock succeeded even though file table is full"])


SEEN = re.compile(r"(\d+) packets seen, (\d+) packets counted after \w+ returns$", re.M)


def counted(p):
    return sum(int(m.group(2)) for m in SEEN.finditer(p.stdout))


def capture_both(pair, argv_of, n, rx, tx=()):
    """Both routes' programs started together, rx and tx sent, and waited
    for until each counted n packets; then SIGINT.  {route: Program}."""
    started = {r: Program(pair.a, argv_of(r), route_env(r, PCAP_PF_RING_DEBUG=1))
               for r in TWO_ROUTES}
    try:
        for p in started.values():
            p.wait_for("Listening on", stream="out")
        time.sleep(0.3)
        send(pair.b, pair.if_b, rx)
        send(pair.a, pair.if_a, tx)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(counted(p) < n for p in started.values()):
            time.sleep(0.05)
    finally:
        for p in started.values():
            p.stop(signal.SIGINT)
    return started


# -s -b: a SIGINT handler that calls pcap_breakloop; -r: with SA_RESTART.
# Not -n: stock libpcap, spinning in non-blocking reads, now and then misses
# the break (its process then outlives the test); test_capdump covers
# non-blocking reads and pcap_breakloop on both routes.
@pytest.mark.parametrize("args", [["-s", "-b"], ["-s", "-b", "-r"], ["-s", "-b", "-m"],
                                  ["-s", "-b", "-t", "10"]],
                         ids=["default", "restart", "immediate", "timeout"])
def test_capturetest_counts_the_filtered_packets(progs, veth_pair, args):
    rx, tx = flow_frames(veth_pair, 15)
    n = sum(1 for f in rx + tx if f[23] == 17)
    done = capture_both(veth_pair, lambda r: prog(progs, "capturetest", "-i", veth_pair.if_a,
                                                  *args, "udp"), n, rx, tx)
    for route, p in done.items():
        assert p.proc.returncode == 0, (route, p.stderr)
        assert counted(p) == n, (route, p.stdout)
        assert p.stdout.endswith("Broken out of loop from SIGINT handler\n")
        seen = [int(m.group(1)) for m in SEEN.finditer(p.stdout)]
        assert seen == [int(m.group(2)) for m in SEEN.finditer(p.stdout)]
        last = re.findall(r"^(\d+) ps_recv, (\d+) ps_drop, (\d+) ps_ifdrop$", p.stdout, re.M)[-1]
        assert last == (str(n), "0", "0"), route
    assert ON_RING in done["ring"].stderr


@pytest.mark.parametrize("args", [["-s"], ["-p"], ["-s", "-t"], ["-p", "-t"], ["-s", "-n"]],
                         ids=["select", "poll", "select_timeout", "poll_timeout", "nonblock"])
def test_selpolltest_wakes_for_the_filtered_packets(progs, veth_pair, args):
    rx, tx = flow_frames(veth_pair, 15)
    n = sum(1 for f in rx + tx if f[23] == 6)
    done = capture_both(veth_pair, lambda r: prog(progs, "selpolltest", "-i", veth_pair.if_a,
                                                  *args, "tcp"), n, rx, tx)
    for route, p in done.items():
        assert p.proc.returncode == -signal.SIGINT       # no handler: SIGINT ends it
        assert counted(p) == n, (route, p.stdout)
        assert "error" not in p.stdout.lower()
        if "-t" not in args:                               # woken for packets only
            assert "Select returned a descriptor: readable, no exceptional condition\n" in \
                p.stdout or "Poll returned a descriptor: readable, " in p.stdout
            assert "timed out" not in p.stdout
    assert ON_RING in done["ring"].stderr
    # Same "Listening on ..." line: the same wait primitive was chosen.
    assert done["ring"].stdout.splitlines()[0] == done["stock"].stdout.splitlines()[0]
