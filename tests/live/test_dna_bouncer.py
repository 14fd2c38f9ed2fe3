"""The DNA Bouncer (libzero, the guide's §9.2): a bridge between two rings
whose decision function keeps or drops each packet.

Two namespaces joined by two veth links: ``veth0`` (a) <-> ``veth1`` (b)
and ``bx0`` (a) <-> ``bx1`` (b).  The bouncer, ``tests/unit/c/dna_bouncer_test.c``
(built from libpfring's sources), runs in b with its ingress ring on
``veth1`` and its egress ring on ``bx1``: a frame sent from a on ``veth0``
and kept by the decision function comes back to a on ``bx0``; in two-way
mode a frame sent on ``bx0`` comes back on ``veth0``.  The decision
function keeps IPv4 UDP with an even destination port.

Every wait is bounded; the bouncer is killed by pid when a test ends, and
the namespaces are deleted by the fixture.
"""
import os
import pathlib
import shutil
import signal
import socket
import struct
import threading
import time

import pytest

from pcap_pfring import Ring
from pcap_pfring.dna_bouncer import BouncerMode, BouncerStats, DnaBouncer
from pcap_pfring.errors import InvalidArgumentError, InvalidStatusError
from pcap_pfring.netns import ETH_P_ALL
from pcap_pfring.testing import cprog, sanitizers
from pcap_pfring.testing.fixtures import send_frames
from pcap_pfring.testing.procs import Process

pytestmark = pytest.mark.needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
IN_A, IN_B = "veth0", "veth1"        # a's end, the bouncer's ingress ring
OUT_A, OUT_B = "bx0", "bx1"          # a's end, the bouncer's egress ring
MAC_DST = bytes.fromhex("020000000bbb")
MAC_FWD = bytes.fromhex("0200000000aa")   # frames a -> b (direction 0)
MAC_REV = bytes.fromhex("0200000000cc")   # frames b -> a (direction 1)
PACKET_OUTGOING = 4


@pytest.fixture(scope="module")
def bouncer_exe(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    exe = tmp_path_factory.mktemp("dna_bouncer") / "dna_bouncer_test"
    res = cprog.build(ROOT, ROOT / "tests/unit/c/dna_bouncer_test.c", exe,
                      cflags=sanitizers.c_flags())
    assert res.returncode == 0, f"{' '.join(res.args)}\n{res.stdout}{res.stderr}"
    return exe


@pytest.fixture
def net(veth_pair):
    veth_pair.add_link(OUT_A, OUT_B)
    return veth_pair


def argv_of(exe, *args):
    """The program's command line; under make asan with leak checking on."""
    env = sanitizers.c_env(os.environ)
    pre = ["env", f"ASAN_OPTIONS={env['ASAN_OPTIONS']}"] if sanitizers.log_dir() else []
    return [*pre, str(exe), *args]


class Bouncer(Process):
    def __init__(self, exe, net, mode="one", decision="even", *extra):
        super().__init__(net.b, argv_of(exe, IN_B, OUT_B, mode, decision, *extra),
                         name=f"bouncer {mode} {decision}", stdin=True)

    def start(self):
        self.wait_out("ready")
        return self

    def stats(self):
        """{"d0": (received, forwarded, dropped, tx_failed), "d1": ..., "calls0": N, ...}"""
        return parse_stats(self.ask("stats", "stats "))

    def wait_received(self, d, n, timeout=10):
        """The stats once direction d has received n packets."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.stats()
            if st[f"d{d}"][0] >= n or time.monotonic() > deadline:
                return st
            time.sleep(0.05)

    def stop(self, how="break"):
        """Breaks the loop (a "break" command or SIGUSR1): (stdout lines, final stats)."""
        if how == "signal":
            self.p.send_signal(signal.SIGUSR1)
        else:
            self.send("break")
        rc, out, err = self.finish(timeout=20)
        assert rc == 0 and "done" in out, (rc, out, err)
        lines = out.splitlines()
        return lines, parse_stats([s for s in lines if s.startswith("stats ")][-1])


def parse_stats(line):
    out = {}
    for f in line.split()[1:]:
        k, v = f.split("=")
        out[k] = tuple(int(x) for x in v.split("/")) if "/" in v else int(v)
    return out


def udp(src, sport, dport, size=100, ttl=64):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size - 14, 0x1234, 0, ttl, 17, 0,
                     bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
    l4 = struct.pack("!HHHH", sport, dport, size - 34, 0)
    body = bytes((sport + i) & 0xFF for i in range(size - 42))
    return MAC_DST + src + b"\x08\x00" + ip + l4 + body


def tcp(src, sport, dport, size=100):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size - 14, 0x4321, 0, 64, 6, 0,
                     bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
    l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x02, 1024, 0, 0)
    return MAC_DST + src + b"\x08\x00" + ip + l4 + b"\x00" * (size - 54)


def raw(src, i):
    return MAC_DST + src + b"\x88\xb5" + bytes([i]) * 46


def mixed(src, base):
    """20 UDP frames (10 with an even destination port), 5 TCP frames with
    even ports, 5 frames of an experimental ethertype: the kept ones in order."""
    frames = [udp(src, base + i, 2000 + i) for i in range(20)]
    frames += [tcp(src, base + i, 4000 + 2 * i) for i in range(5)]
    frames += [raw(src, i) for i in range(5)]
    kept = [f for f in frames[:20] if struct.unpack("!H", f[36:38])[0] % 2 == 0]
    return frames, kept


class Tap:
    """A packet socket on ifname in ns: the frames that arrive there from
    src (not those leaving)."""

    def __init__(self, ns, ifname, src):
        with ns.enter():
            self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.s.bind((ifname, ETH_P_ALL))
        self.s.settimeout(0.1)
        self.src = src

    def frames(self, n, timeout=5.0, quiet=0.3):
        """Up to n frames, then whatever else comes within ``quiet`` seconds."""
        got = []
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            if len(got) >= n and time.monotonic() - last >= quiet:
                break
            try:
                data, addr = self.s.recvfrom(65536)
            except socket.timeout:
                continue
            if addr[2] == PACKET_OUTGOING or data[6:12] != self.src:
                continue
            got.append(data)
            last = time.monotonic()
        return got

    def close(self):
        self.s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_one_way_forwards_exactly_the_kept_frames(bouncer_exe, net):
    frames, kept = mixed(MAC_FWD, 1000)
    rev, _ = mixed(MAC_REV, 3000)
    with Tap(net.a, OUT_A, MAC_FWD) as tap, Tap(net.a, IN_A, MAC_REV) as back:
        with Bouncer(bouncer_exe, net, "one").start() as b:
            send_frames(net.a, IN_A, frames)
            b.wait_received(0, len(frames))
            got = tap.frames(len(kept))
            # one-way: nothing of the egress side goes back
            send_frames(net.a, OUT_A, rev)
            assert back.frames(1, timeout=1.0) == []
            lines, st = b.stop()
    assert got == kept                       # byte for byte, in order
    assert st["d0"] == (30, 10, 20, 0)
    assert st["d1"] == (0, 0, 0, 0)
    assert st["calls0"] == 30 and st["calls1"] == 0
    assert "loop returned 0 " in lines


def test_two_way_forwards_both_ways(bouncer_exe, net):
    fwd, kept_fwd = mixed(MAC_FWD, 1000)
    rev, kept_rev = mixed(MAC_REV, 3000)
    with Tap(net.a, OUT_A, MAC_FWD) as tap_out, Tap(net.a, IN_A, MAC_REV) as tap_in:
        with Bouncer(bouncer_exe, net, "two").start() as b:
            send_frames(net.a, IN_A, fwd)
            b.wait_received(0, len(fwd))
            send_frames(net.a, OUT_A, rev)
            b.wait_received(1, len(rev))
            got_fwd = tap_out.frames(len(kept_fwd))
            got_rev = tap_in.frames(len(kept_rev))
            lines, st = b.stop()
    assert got_fwd == kept_fwd
    assert got_rev == kept_rev
    assert st["d0"] == (30, 10, 20, 0)
    assert st["d1"] == (30, 10, 20, 0)
    assert st["calls0"] == 30 and st["calls1"] == 30


def test_the_decision_function_rewrites_in_place(bouncer_exe, net):
    frames, kept = mixed(MAC_FWD, 1000)
    want = [f[:22] + bytes([f[22] - 1]) + f[23:60] for f in kept]   # TTL - 1, 60 bytes
    with Tap(net.a, OUT_A, MAC_FWD) as tap:
        with Bouncer(bouncer_exe, net, "one", "edit").start() as b:
            send_frames(net.a, IN_A, frames)
            b.wait_received(0, len(frames))
            got = tap.frames(len(want))
            _, st = b.stop()
    assert got == want
    assert st["d0"] == (30, 10, 20, 0)


def test_failed_sends_are_counted(bouncer_exe, net):
    """The egress link down: every kept packet's send fails, counted as
    tx_failed, and the loop goes on."""
    frames, kept = mixed(MAC_FWD, 1000)
    with Bouncer(bouncer_exe, net, "one").start() as b:
        net.b.run(["ip", "link", "set", OUT_B, "down"])
        send_frames(net.a, IN_A, frames)
        st = b.wait_received(0, len(frames))
        assert st["d0"] == (30, 0, 20, 10)
        net.b.run(["ip", "link", "set", OUT_B, "up"])
        deadline = time.monotonic() + 5
        while (net.b.run(["cat", f"/sys/class/net/{OUT_B}/operstate"]).stdout.strip() != "up"
               and time.monotonic() < deadline):
            time.sleep(0.05)
        with Tap(net.a, OUT_A, MAC_FWD) as tap:
            send_frames(net.a, IN_A, frames)
            b.wait_received(0, 2 * len(frames))
            got = tap.frames(len(kept))
        _, st = b.stop()
    assert got == kept
    assert st["d0"] == (60, 10, 40, 10)


@pytest.mark.parametrize("how", ["break", "signal"])
@pytest.mark.parametrize("wait", ["passive", "active"])
def test_breakloop_ends_the_loop(bouncer_exe, net, how, wait):
    frames, kept = mixed(MAC_FWD, 1000)
    with Tap(net.a, OUT_A, MAC_FWD) as tap:
        extra = ("active",) if wait == "active" else ()
        with Bouncer(bouncer_exe, net, "two", "even", *extra).start() as b:
            send_frames(net.a, IN_A, frames)
            b.wait_received(0, len(frames))
            got = tap.frames(len(kept))
            time.sleep(0.1)                  # idle: the loop waits (or spins)
            lines, st = b.stop(how)
    assert got == kept
    assert st["d0"] == (30, 10, 20, 0)
    assert "loop returned 0 " in lines
    took = [int(s.split()[2]) for s in lines if s.startswith("break took ")]
    assert len(took) == 1 and took[0] < 500, lines     # the loop waits 10 ms at a time


def test_from_the_decision_function(bouncer_exe, net):
    """loop and destroy called from the decision function are refused; a
    break from it ends the loop after that burst."""
    frames = [udp(MAC_FWD, 1000, 2000)]
    with Bouncer(bouncer_exe, net, "one", "self").start() as b:
        send_frames(net.a, IN_A, frames)
        rc, out, err = b.finish(timeout=20)
    assert rc == 0 and "done" in out, (rc, out, err)
    lines = out.splitlines()
    assert "loop returned 0 " in lines
    assert ("self loop: -11 pfring_dna_bouncer_loop: the bouncer is looping already "
            "(one loop at a time)") in lines
    assert ("self destroy: pfring_dna_bouncer_destroy: the bouncer is looping (called from "
            "its decision function); nothing was freed: call pfring_dna_bouncer_breakloop "
            "and destroy it once pfring_dna_bouncer_loop has returned") in lines
    st = parse_stats([s for s in lines if s.startswith("stats ")][-1])
    assert st["d0"] == (1, 1, 0, 0)


BAD_INPUT = """\
create NULL ingress: NULL pfring_dna_bouncer_create: ingress_ring is NULL
create NULL egress: NULL pfring_dna_bouncer_create: egress_ring is NULL
create NULL both: NULL pfring_dna_bouncer_create: ingress_ring is NULL
create same ring: NULL pfring_dna_bouncer_create: ingress_ring and egress_ring are the same ring; a bouncer bridges two
create send_only ingress: NULL pfring_dna_bouncer_create: ingress_ring is in send_only_mode; the bouncer receives on it
create recv_only egress: NULL pfring_dna_bouncer_create: egress_ring is in recv_only_mode; the bouncer sends on it
create management egress: NULL pfring_dna_bouncer_create: egress_ring is in management_only_mode; it can neither receive nor send
create closed ingress: NULL pfring_dna_bouncer_create: ingress_ring was closed by pfring_close
set_mode NULL: -2 pfring_dna_bouncer_set_mode: handle is NULL
loop NULL: -2 pfring_dna_bouncer_loop: handle is NULL
stats NULL: -2 pfring_dna_bouncer_stats: handle is NULL
breakloop NULL, destroy NULL: survived
set_mode two_way recv_only ingress: -2 pfring_dna_bouncer_set_mode: ingress_ring is in recv_only_mode; the bouncer sends on it
set_mode one_way recv_only ingress: 0 \n\
set_mode 7: -2 pfring_dna_bouncer_set_mode: mode 7 is not one_way_mode (0) or two_way_mode (1)
set_mode -1: -2 pfring_dna_bouncer_set_mode: mode -1 is not one_way_mode (0) or two_way_mode (1)
set_mode two_way: 0 \n\
loop NULL func: -2 pfring_dna_bouncer_loop: func is NULL
stats direction 2: -2 pfring_dna_bouncer_stats: direction 2 is not 0 (ingress -> egress) or 1 (egress -> ingress)
stats NULL stats: -2 pfring_dna_bouncer_stats: stats is NULL
loop after a break: 0 \n\
loop after a break took under 1 s
set_mode while looping: -11 pfring_dna_bouncer_set_mode: the bouncer is looping; break the loop first
loop while looping: -11 pfring_dna_bouncer_loop: the bouncer is looping already (one loop at a time)
destroy while looping: pfring_dna_bouncer_destroy: the bouncer is looping; nothing was freed: call pfring_dna_bouncer_breakloop and destroy it once pfring_dna_bouncer_loop has returned
looping thread: loop returned 0 after the break, under 1 s
stats after the loop: 0 \n\
loop with egress closed: -11 pfring_dna_bouncer_loop: egress_ring was closed by pfring_close
done
"""


def test_bad_input(bouncer_exe, net):
    res = net.b.run(argv_of(bouncer_exe, "--bad-input", IN_B, OUT_B), check=False, timeout=60)
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert res.stdout == BAD_INPUT
    # a refused destroy also says so on the library's log (stderr)
    assert ("pfring: warning: pfring_dna_bouncer_destroy: the bouncer is looping; nothing "
            "was freed") in res.stderr


# -- the Python adapter (pcap_pfring.dna_bouncer) ------------------------------

def py_bouncer(net, mode):
    """Rings enabled before the loop runs, so that what is sent at once is queued."""
    with net.b.enter():
        ingress = Ring(IN_B, caplen=2048, promisc=True, enable=True)
        egress = Ring(OUT_B, caplen=2048, promisc=True, enable=mode == BouncerMode.TWO_WAY)
    return DnaBouncer(ingress, egress, mode), ingress, egress


def even_udp(packet, direction):
    return (packet[12:14] == b"\x08\x00" and packet[23] == 17
            and struct.unpack("!H", packet[36:38])[0] % 2 == 0)


class Looper(threading.Thread):
    """bouncer.loop(decide) in a thread; the exception it raised, if any."""

    def __init__(self, bouncer, decide):
        super().__init__(daemon=True)
        self.bouncer, self.decide, self.exc = bouncer, decide, None

    def run(self):
        try:
            self.bouncer.loop(self.decide)
        except BaseException as e:      # noqa: BLE001 - the test looks at it
            self.exc = e

    def wait_received(self, d, n, timeout=10):
        deadline = time.monotonic() + timeout
        while self.bouncer.stats(d).received < n and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self):
        self.bouncer.breakloop()
        self.join(10)
        assert not self.is_alive(), "the loop did not end"


def test_python_two_way_with_a_python_decision(net):
    fwd, kept_fwd = mixed(MAC_FWD, 1000)
    rev, kept_rev = mixed(MAC_REV, 3000)
    seen = {0: 0, 1: 0}

    def decide(packet, direction):
        seen[direction] += 1
        return even_udp(packet, direction)

    bouncer, ingress, egress = py_bouncer(net, BouncerMode.TWO_WAY)
    with Tap(net.a, OUT_A, MAC_FWD) as tap_out, Tap(net.a, IN_A, MAC_REV) as tap_in:
        with bouncer:
            looper = Looper(bouncer, decide)
            looper.start()
            send_frames(net.a, IN_A, fwd)
            looper.wait_received(0, len(fwd))
            send_frames(net.a, OUT_A, rev)
            looper.wait_received(1, len(rev))
            got_fwd = tap_out.frames(len(kept_fwd))
            got_rev = tap_in.frames(len(kept_rev))
            looper.stop()
            assert looper.exc is None
            assert bouncer.stats(0) == BouncerStats(30, 10, 20, 0)
            assert bouncer.stats(1) == BouncerStats(30, 10, 20, 0)
        assert ingress.closed and egress.closed       # destroy closed them
    assert got_fwd == kept_fwd and got_rev == kept_rev
    assert seen == {0: 30, 1: 30}


def test_python_decision_rewrites_and_cuts(net):
    frames, kept = mixed(MAC_FWD, 1000)
    want = [f[:22] + bytes([f[22] - 1]) + f[23:60] for f in kept]

    def decide(packet, direction):
        if not even_udp(packet, direction):
            return False
        packet[22] -= 1                 # TTL, in place in the ring
        return 60

    bouncer, _, _ = py_bouncer(net, BouncerMode.ONE_WAY)
    with Tap(net.a, OUT_A, MAC_FWD) as tap:
        with bouncer:
            looper = Looper(bouncer, decide)
            looper.start()
            send_frames(net.a, IN_A, frames)
            looper.wait_received(0, len(frames))
            got = tap.frames(len(want))
            looper.stop()
            assert bouncer.stats(0) == BouncerStats(30, 10, 20, 0)
    assert got == want


def test_python_an_exception_ends_the_loop(net):
    def decide(packet, direction):
        raise RuntimeError("no verdict")

    bouncer, _, _ = py_bouncer(net, BouncerMode.ONE_WAY)
    with Tap(net.a, OUT_A, MAC_FWD) as tap:
        with bouncer:
            looper = Looper(bouncer, decide)
            looper.start()
            send_frames(net.a, IN_A, [udp(MAC_FWD, 1000, 2000)])
            looper.join(10)
            assert not looper.is_alive()
            assert isinstance(looper.exc, RuntimeError) and str(looper.exc) == "no verdict"
            assert tap.frames(1, timeout=1.0) == []       # dropped
            assert bouncer.stats(0) == BouncerStats(1, 0, 1, 0)


def test_python_bad_input(net):
    with net.b.enter():
        a = Ring(IN_B, caplen=2048)
        b = Ring(OUT_B, caplen=2048)
    try:
        with pytest.raises(InvalidArgumentError) as e:
            DnaBouncer(a, a)
        assert str(e.value) == ("pfring_dna_bouncer_create: ingress_ring and egress_ring "
                                "are the same ring; a bouncer bridges two")
        with pytest.raises(InvalidArgumentError) as e:
            DnaBouncer("veth1", b)
        assert str(e.value) == "ingress must be a Ring, not str"
        bouncer = DnaBouncer(a, b)
        with pytest.raises(InvalidStatusError) as e:
            a.close()
        assert "the ring is registered with the DNA bouncer" in str(e.value)
        with pytest.raises(InvalidArgumentError) as e:
            bouncer.loop(None)
        assert str(e.value) == "decide must be callable, not NoneType"
        with pytest.raises(InvalidArgumentError) as e:
            bouncer.stats(2)
        assert str(e.value) == ("pfring_dna_bouncer_stats: direction 2 is not 0 "
                                "(ingress -> egress) or 1 (egress -> ingress)")
        with pytest.raises(InvalidArgumentError) as e:
            bouncer.set_mode(7)
        assert str(e.value) == ("pfring_dna_bouncer_set_mode: mode 7 is not one_way_mode (0) "
                                "or two_way_mode (1)")
        looper = Looper(bouncer, even_udp)
        looper.start()
        deadline = time.monotonic() + 5
        while not bouncer.looping and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(InvalidStatusError) as e:
            bouncer.loop(even_udp)
        assert "the bouncer is looping already" in str(e.value)
        with pytest.raises(InvalidStatusError) as e:
            bouncer.destroy()
        assert "the bouncer is looping" in str(e.value)
        looper.stop()
        assert looper.exc is None
        bouncer.destroy()
        bouncer.destroy()                                # twice: harmless
        assert a.closed and b.closed
        with pytest.raises(InvalidStatusError):
            bouncer.stats(0)
    finally:
        a.close()
        b.close()
