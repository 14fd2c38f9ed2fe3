"""zc:, dna: and xdp: rings on AF_XDP (drivers/af_xdp.c), on veth pairs.

veth runs XDP natively but has no zero-copy AF_XDP, so these rings bind in
copy mode.  Frames are sent from b's end and must arrive at a's ring every
one, in order, byte for byte; frames the ring takes never reach a packet
socket on the same interface (they do not reach the stack).  Faults are run
in child processes where a capability, a limit or a variable must differ
from the test's.  After close, and after SIGKILL of the owner, `ip link`
must show no XDP program on the interface.
"""
import json
import os
import re
import signal
import socket
import sys
import textwrap
import time

import pytest

from pcap_pfring import (
    BadInterfaceNameError,
    ClusterType,
    Direction,
    InvalidArgumentError,
    NotSupportedError,
    Ring,
    SocketMode,
    WrongConfigurationError,
)
from pcap_pfring.status import list_rings
from pcap_pfring.testing.fixtures import collect, drain, frame, send_frames
from pcap_pfring.testing.procs import Process, Tcpdump

pytestmark = pytest.mark.needs_root

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DROP_IN = os.path.join(ROOT, "build", "libpcap-pfring")


def frames_for(pair, n, ethertype=0x88B5, tag=0):
    return [frame(pair.mac_a, pair.mac_b, ethertype, bytes([tag, i % 256, i // 256]) * 20)
            for i in range(n)]


def xdp_line(ns, ifname):
    """The `prog/xdp ...` line of `ip link show`, or None."""
    out = ns.run(["ip", "-d", "link", "show", ifname]).stdout
    m = re.search(r"prog/xdp\S* id (\d+) name (\S+)", out)
    return (int(m.group(1)), m.group(2)) if m else None


def wait_no_xdp(ns, ifname, timeout=5.0):
    deadline = time.monotonic() + timeout
    while xdp_line(ns, ifname) and time.monotonic() < deadline:
        time.sleep(0.05)
    return xdp_line(ns, ifname)


def child(ns, code, *, prefix=(), env=None, timeout=60):
    """Runs a Python snippet in ns (under ``prefix``, e.g. capsh); returns
    (exit status, stdout, stderr)."""
    argv = [*prefix, sys.executable, "-c", textwrap.dedent(code)]
    full_env = {**os.environ, **(env or {})}
    res = ns.run(argv, check=False, timeout=timeout, env=full_env)
    return res.returncode, res.stdout, res.stderr


OPEN_AND_REPORT = """
    import sys
    from pcap_pfring import Ring, PFRingError
    try:
        Ring(sys.argv[1] if len(sys.argv) > 1 else "zc:{dev}")
    except PFRingError as e:
        print(type(e).__name__, e)
        sys.exit(3)
    print("opened")
"""


# -- receiving --------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["zc", "dna", "xdp"])
def test_every_frame_in_order_byte_identical(veth_pair, prefix):
    pair = veth_pair
    sent = frames_for(pair, 300)
    with pair.a.enter():
        ring = Ring(f"{prefix}:{pair.if_a}", enable=True)
    with ring:
        assert xdp_line(pair.a, pair.if_a)[1] == "pfring_xdp_rx"
        send_frames(pair.b, pair.if_b, sent)
        got = [d for _, d in collect(ring, len(sent))]
        got += [d for _, d in drain(ring, quiet=0.2)]
        stats = ring.stats()
    assert got == sent
    assert (stats.recv, stats.drop) == (len(sent), 0)
    assert wait_no_xdp(pair.a, pair.if_a) is None


def test_recv_one_by_one_and_burst_agree(veth_pair):
    pair = veth_pair
    first, second = frames_for(pair, 70, tag=1), frames_for(pair, 70, tag=2)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}", enable=True)
    with ring:
        send_frames(pair.b, pair.if_b, first)
        one = []
        deadline = time.monotonic() + 5
        while len(one) < len(first) and time.monotonic() < deadline:
            pkt = ring.recv()
            if pkt is None:
                time.sleep(0.01)
            else:
                one.append(pkt[1])
        send_frames(pair.b, pair.if_b, second)
        burst = [d for _, d in collect(ring, len(second))]
    assert one == first
    assert burst == second


def test_nothing_before_enable_and_nothing_after_disable(veth_pair):
    pair = veth_pair
    early, wanted, late = (frames_for(pair, 20, tag=t) for t in (1, 2, 3))
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}")
    with ring:
        send_frames(pair.b, pair.if_b, early)
        ring.enable()
        send_frames(pair.b, pair.if_b, wanted)
        got = [d for _, d in collect(ring, len(wanted))]
        ring.disable()
        send_frames(pair.b, pair.if_b, late)
        ring.enable()
        rest = [d for _, d in drain(ring, quiet=0.3)]
    assert got == wanted
    assert rest == []


def test_taken_frames_do_not_reach_the_stack(veth_pair):
    """A packet socket on the same interface sees nothing the zc: ring took."""
    pair = veth_pair
    sent = frames_for(pair, 40)
    with pair.a.enter():
        zc = Ring(f"zc:{pair.if_a}", enable=True)
        std = Ring(pair.if_a, enable=True)
    with zc, std:
        std.set_bpf_filter("ether proto 0x88b5")
        send_frames(pair.b, pair.if_b, sent)
        got = [d for _, d in collect(zc, len(sent))]
        seen_by_stack = [d for _, d in drain(std, quiet=0.3)]
    assert got == sent
    assert seen_by_stack == []


def test_bpf_filter_runs_on_a_zc_ring(veth_pair):
    pair = veth_pair
    keep, skip = frames_for(pair, 30, 0x88B5, 1), frames_for(pair, 30, 0x88B6, 2)
    mixed = [f for pair_ in zip(keep, skip) for f in pair_]
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}", enable=True)
    with ring:
        ring.set_bpf_filter("ether proto 0x88b5")
        send_frames(pair.b, pair.if_b, mixed)
        got = [d for _, d in collect(ring, len(keep))] + [d for _, d in drain(ring, quiet=0.2)]
    assert got == keep


def test_status_tree_shows_zc_and_the_mode(veth_pair):
    pair = veth_pair
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}", enable=True)
    with ring:
        mine = [r for r in list_rings() if r.pid == os.getpid() and
                r.fields.get("Bound Device(s)") == pair.if_a]
    assert len(mine) == 1, [r.fields for r in list_rings()]
    f = mine[0].fields
    assert f["Breed"] == "ZC"
    assert f["ZC Mode"] == "copy"                    # veth: no zero-copy AF_XDP
    assert f["Channel Id Mask"] == "0x0000000000000001"


# -- queues -----------------------------------------------------------------------

def steer(ns, ifname, cpu_to_queue):
    """XPS on ``ifname``: a frame sent from CPU c leaves by TX queue q (and a
    veth's TX queue is its peer's RX queue)."""
    for cpu, queue in cpu_to_queue.items():
        ns.run(["sh", "-c", f"echo {1 << cpu:x} > /sys/class/net/{ifname}/queues/tx-{queue}/xps_cpus"])


def send_on_cpu(ns, ifname, frames, cpu):
    """Sends from this thread pinned to ``cpu`` (so XPS picks the queue)."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        send_frames(ns, ifname, frames)
    finally:
        os.sched_setaffinity(0, old)


def test_one_queue_of_a_multiqueue_veth(veth_pair_mq):
    pair = veth_pair_mq
    if len(os.sched_getaffinity(0)) < 2 or not {0, 1} <= os.sched_getaffinity(0):
        pytest.skip("needs CPUs 0 and 1 to steer frames to two queues with XPS")
    on2, on1 = frames_for(pair, 50, 0x88B5, 2), frames_for(pair, 50, 0x88B6, 1)
    steer(pair.b, pair.if_b, {0: 2, 1: 1})
    with pair.a.enter():
        zc = Ring(f"zc:{pair.if_a}@2", enable=True)
        std = Ring(pair.if_a, enable=True)
    with zc, std:
        std.set_bpf_filter("ether proto 0x88b5 or ether proto 0x88b6")
        send_on_cpu(pair.b, pair.if_b, on2, 0)
        send_on_cpu(pair.b, pair.if_b, on1, 1)
        got = [d for _, d in collect(zc, len(on2))] + [d for _, d in drain(zc, quiet=0.2)]
        stack = [d for _, d in collect(std, len(on1))] + [d for _, d in drain(std, quiet=0.2)]
    assert got == on2                                # queue 2 only, all of it, in order
    assert stack == on1                              # queue 1 went on to the stack


# -- faults -----------------------------------------------------------------------

def test_queue_that_does_not_exist(veth_pair):
    with veth_pair.a.enter():
        with pytest.raises(InvalidArgumentError,
                           match=r"'veth0' has 1 RX queue \(0\.\.0\): there is no queue 3"):
            Ring(f"zc:{veth_pair.if_a}@3")
    assert xdp_line(veth_pair.a, veth_pair.if_a) is None


def test_interface_without_native_xdp(veth_pair):
    with veth_pair.a.enter():
        with pytest.raises(NotSupportedError, match="'lo' has no native XDP support"):
            Ring("zc:lo")
        with pytest.raises(BadInterfaceNameError, match="no such interface"):
            Ring("zc:nosuchif0")


def test_bad_zc_names():
    for name, exc, text in [("zc:eth0@1,1", InvalidArgumentError, "listed twice"),
                            ("zc:eth0,eth1", InvalidArgumentError, "one interface"),
                            ("zc:any", InvalidArgumentError, "not 'any'"),
                            ("dna:eth0.5", NotSupportedError, "no VLAN id")]:
        with pytest.raises(exc, match=re.escape(text)):
            Ring(name)


def test_queue_already_taken(veth_pair):
    with veth_pair.a.enter():
        first = Ring(f"zc:{veth_pair.if_a}")
        try:
            with pytest.raises(WrongConfigurationError,
                               match="queue 0 of 'veth0' is already used by another AF_XDP"):
                Ring(f"dna:{veth_pair.if_a}@0")
        finally:
            first.close()
    assert wait_no_xdp(veth_pair.a, veth_pair.if_a) is None


def test_interface_held_by_a_program_we_cannot_share_with(veth_pair):
    pair = veth_pair
    obj = os.path.join(ROOT, "build", "gen", "pfring_xdp.bpf.o")
    # make lib builds it before libpfring; a missing object is a broken build.
    assert os.path.exists(obj), f"{obj} is missing: make lib builds it"
    # Another program, attached in generic mode without libxdp: native XDP
    # cannot join it.
    pair.a.run(["ip", "link", "set", "dev", pair.if_a, "xdpgeneric", "obj", obj, "sec", "xdp"])
    held = xdp_line(pair.a, pair.if_a)
    assert held is not None
    with pair.a.enter():
        with pytest.raises(WrongConfigurationError, match="already has an XDP program"):
            Ring(f"zc:{pair.if_a}")
    assert xdp_line(pair.a, pair.if_a) == held       # theirs is left alone


def test_zerocopy_required_where_impossible(veth_pair):
    rc, out, err = child(veth_pair.a, OPEN_AND_REPORT.format(dev=veth_pair.if_a),
                         env={"PF_RING_ZC_MODE": "zerocopy"})
    assert rc == 3, out + err
    assert out.startswith("NotSupportedError 'veth0' cannot do zero-copy AF_XDP"), out
    assert "PF_RING_ZC_MODE=zerocopy requires it" in out
    assert xdp_line(veth_pair.a, veth_pair.if_a) is None


def test_bad_zc_mode_value(veth_pair):
    rc, out, err = child(veth_pair.a, OPEN_AND_REPORT.format(dev=veth_pair.if_a),
                         env={"PF_RING_ZC_MODE": "fast"})
    assert rc == 3, out + err
    assert "PF_RING_ZC_MODE 'fast' is not one of auto, zerocopy, copy" in out


def capsh():
    path = "/usr/sbin/capsh" if os.path.exists("/usr/sbin/capsh") else None
    if path is None:
        pytest.skip("capsh (libcap2-bin) is not installed")
    return path


@pytest.mark.parametrize("drop, text", [
    ("cap_net_raw", "(zc: rings need CAP_NET_RAW"),
    ("cap_bpf,cap_sys_admin", "it needs CAP_BPF and CAP_NET_ADMIN, or CAP_SYS_ADMIN"),
])
def test_missing_capability_is_named(veth_pair, drop, text):
    rc, out, err = child(veth_pair.a, OPEN_AND_REPORT.format(dev=veth_pair.if_a),
                         prefix=[capsh(), f"--drop={drop}", "--", "-c", 'exec "$@"', "sh"])
    if rc != 3 and "opened" in out:
        pytest.fail(f"opened without {drop}")
    assert rc == 3, out + err
    assert out.startswith("PermissionDeniedError"), out
    assert text in out, out
    assert xdp_line(veth_pair.a, veth_pair.if_a) is None


def test_locked_memory_limit_says_how_to_raise_it(veth_pair):
    code = OPEN_AND_REPORT.format(dev=veth_pair.if_a)
    script = f"ulimit -l 64 && exec {sys.executable} -c '{textwrap.dedent(code)}'"
    res = veth_pair.a.run([capsh(), "--drop=cap_ipc_lock", "--", "-c", script], check=False,
                          timeout=60)
    out = res.stdout
    assert res.returncode == 3, out + res.stderr
    assert out.startswith("NotEnoughMemoryError"), out
    assert "over the locked-memory limit (RLIMIT_MEMLOCK 64 KiB)" in out
    assert "ulimit -l" in out and "CAP_IPC_LOCK" in out
    assert xdp_line(veth_pair.a, veth_pair.if_a) is None


# -- nothing left attached --------------------------------------------------------

HOLD = """
    import sys, time
    from pcap_pfring import Ring
    r = Ring("zc:{dev}", enable=True)
    print("ready", flush=True)
    time.sleep(60)
"""


def reaper_of(pid):
    """The pid of the pfring-xdp-reaper that ``pid`` started, or None."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and cmd and cmd[0].endswith(b"pfring-xdp-reaper"):
            return int(entry)
    return None


def owner_of(p):
    """The Python that holds the ring: ``ip netns exec`` execs it, so the
    started pid."""
    with open(f"/proc/{p.pid}/cmdline", "rb") as f:
        assert f.read().startswith(sys.executable.encode()), "ip netns exec did not exec"
    return p.pid


def hold_ring(pair):
    p = Process(pair.a, [sys.executable, "-c", textwrap.dedent(HOLD.format(dev=pair.if_a))],
                name="holder")
    try:
        p.wait_out("ready", timeout=30)
    except BaseException:
        p.kill()
        raise
    return p


def test_sigkill_of_the_owner_leaves_no_program(veth_pair):
    pair = veth_pair
    p = hold_ring(pair)
    try:
        prog = xdp_line(pair.a, pair.if_a)
        assert prog is not None and prog[1] == "pfring_xdp_rx"
        owner = owner_of(p)
        assert reaper_of(owner) is not None
        os.kill(owner, signal.SIGKILL)
        assert wait_no_xdp(pair.a, pair.if_a) is None
        p.p.wait(timeout=10)
    finally:
        p.kill()
    # and the interface takes a new ring at once
    with pair.a.enter():
        Ring(f"zc:{pair.if_a}").close()


def test_sweep_removes_the_program_of_a_crashed_process(veth_pair):
    """Owner and reaper both killed: the next ring on the interface removes
    the dead owner's program (by its id) and opens."""
    pair = veth_pair
    p = hold_ring(pair)
    try:
        owner = owner_of(p)
        reaper = reaper_of(owner)
        assert reaper is not None
        old = xdp_line(pair.a, pair.if_a)
        os.kill(reaper, signal.SIGKILL)
        os.kill(owner, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while os.path.exists(f"/proc/{owner}") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert xdp_line(pair.a, pair.if_a) == old    # nobody cleaned up yet
    finally:
        p.kill()
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}")
    with ring:
        new = xdp_line(pair.a, pair.if_a)
        assert new is not None and new[0] != old[0]
    assert wait_no_xdp(pair.a, pair.if_a) is None


# -- the tools and the drop-in ----------------------------------------------------

def test_pfcount_on_a_zc_ring(veth_pair):
    pair = veth_pair
    sent = frames_for(pair, 25)
    t = Process(pair.a, [os.path.join(os.path.dirname(sys.executable), "pfcount"),
                         "-i", f"zc:{pair.if_a}", "-e", "1", "-N", str(len(sent)), "-d", "30",
                         "--json"], name="pfcount")
    try:
        t.wait_err("# Polling threads:", timeout=30)
        send_frames(pair.b, pair.if_b, sent)
        rc, out, err = t.finish(30)
    finally:
        t.kill()
    assert rc == 0, err
    stats = json.loads(out)
    assert (stats["device"], stats["recv"], stats["drop"]) == (f"zc:{pair.if_a}", 25, 0)
    assert stats["bytes"] == sum(len(f) for f in sent)


@pytest.mark.skipif(not os.path.exists("/usr/bin/tcpdump"), reason="tcpdump is not installed")
def test_tcpdump_on_zc_through_the_drop_in(veth_pair, tmp_path):
    pair = veth_pair
    if not os.path.exists(os.path.join(DROP_IN, "libpcap.so.0.8")):
        pytest.skip("the drop-in is not built (make lib)")
    sent = frames_for(pair, 15)
    with Tcpdump(pair.a, DROP_IN, f"zc:{pair.if_a}", tmp_path / "zc.pcap", len(sent),
                 "ether proto 0x88b5") as td:
        assert xdp_line(pair.a, pair.if_a) is not None
        send_frames(pair.b, pair.if_b, sent)
        records = td.records()
    assert records == sent
    assert wait_no_xdp(pair.a, pair.if_a) is None
    assert wait_no_xdp(pair.a, pair.if_a) is None


# -- transmission ------------------------------------------------------------------

PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33


def peer_socket(pair):
    """A plain AF_PACKET socket on b's end, every protocol, a big buffer."""
    with pair.b.enter():
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        s.bind((pair.if_b, 0))
    s.settimeout(0.3)
    return s


def peer_frames(s, n, ethertype=0x88B5, timeout=5.0):
    """Frames of ``ethertype`` received (not sent) on the peer socket, until n
    came or nothing came for the socket's timeout after ``timeout`` s."""
    out = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data, addr = s.recvfrom(65536)
        except socket.timeout:
            if len(out) >= n:
                break
            continue
        if addr[2] != PACKET_OUTGOING and data[12:14] == ethertype.to_bytes(2, "big"):
            out.append(data)
    return out


def test_sent_frames_arrive_on_the_peer_in_order_byte_identical(veth_pair):
    pair = veth_pair
    sent = [frame(pair.mac_b, pair.mac_a, 0x88B5, bytes([i % 256, i // 256]) * (20 + i % 700))
            for i in range(1200)]                     # over twice the TX ring: frames are reused
    peer = peer_socket(pair)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}", enable=True)
    with ring, peer:
        for f in sent:
            assert ring.send(f) == len(f)
        ring.flush_tx_packets()
        got = peer_frames(peer, len(sent))
    assert len(got) == len(sent)
    assert got == sent


def test_send_without_flush_waits_for_a_batch_or_the_flush(veth_pair):
    from pcap_pfring._ffi import lib

    pair = veth_pair
    sent = [frame(pair.mac_b, pair.mac_a, 0x88B5, bytes([i]) * 30) for i in range(100)]
    peer = peer_socket(pair)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}", enable=True)
    with ring, peer:
        for f in sent:
            assert lib.pfring_send(ring._h(), f, len(f), 0) == len(f)
        before = peer_frames(peer, 96, timeout=1.0)   # kicked every 32 queued frames
        ring.flush_tx_packets()
        after = peer_frames(peer, 4, timeout=1.0)
    assert before == sent[:96]
    assert after == sent[96:]


def test_pfsend_on_a_zc_ring(veth_pair):
    pair = veth_pair
    with pair.b.enter():
        rx = Ring(pair.if_b, enable=True)
    with rx:
        rx.set_bpf_filter("udp")
        res = pair.a.run([os.path.join(os.path.dirname(sys.executable), "pfsend"),
                          "-i", f"zc:{pair.if_a}", "-M", pair.mac_b.hex(":"), "-n", "700",
                          "-l", "64"], check=False, timeout=60)
        assert res.returncode == 0, res.stderr
        got = collect(rx, 700) + drain(rx, quiet=0.3)
    assert len(got) == 700
    assert {len(d) for _, d in got} == {64}
    assert {d[:6] for _, d in got} == {pair.mac_b}


def test_send_on_a_receive_only_zc_ring(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(f"zc:{veth_pair.if_a}")
    with ring:
        ring.set_socket_mode(SocketMode.RECV_ONLY)
        ring.enable()
        with pytest.raises(InvalidArgumentError, match="ring is in receive-only mode"):
            ring.send(frame(veth_pair.mac_b, veth_pair.mac_a))


def test_send_only_zc_ring_takes_nothing_and_cannot_receive(veth_pair):
    pair = veth_pair
    sent = frames_for(pair, 20)
    with pair.a.enter():
        zc = Ring(f"zc:{pair.if_a}")
        std = Ring(pair.if_a, enable=True)
    with zc, std:
        zc.set_socket_mode(SocketMode.SEND_ONLY)
        zc.enable()
        std.set_bpf_filter("ether proto 0x88b5")
        send_frames(pair.b, pair.if_b, sent)
        stack = [d for _, d in collect(std, len(sent))] + [d for _, d in drain(std, quiet=0.2)]
        with pytest.raises(InvalidArgumentError, match="ring is in send-only mode"):
            zc.recv()
        out = frame(pair.mac_b, pair.mac_a, 0x88B5, b"tx")
        assert zc.send(out) == len(out)
    assert stack == sent                              # the queue went on to the stack


def test_send_bad_arguments_are_named(veth_pair):
    pair = veth_pair
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}", enable=True)
    with ring:
        with pytest.raises(InvalidArgumentError,
                           match=r"if_index 1 \('lo'\): a zc: ring sends on its own interface "
                                 r"only \('veth0'"):
            ring.send(frame(pair.mac_b, pair.mac_a), if_index=1)
        with pytest.raises(InvalidArgumentError,
                           match=r"packet of 1515 bytes is longer than 'veth0' allows "
                                 r"\(1514 bytes"):
            ring.send(frame(pair.mac_b, pair.mac_a, payload=b"x" * 1501))
        assert ring.send(frame(pair.mac_b, pair.mac_a, payload=b"x" * 1500)) == 1514


# -- direction, sampling, clusters ---------------------------------------------------

def test_direction_on_a_zc_ring(veth_pair):
    pair = veth_pair
    sent = frames_for(pair, 30)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}", enable=True)
    with ring:
        with pytest.raises(NotSupportedError,
                           match="direction tx_only on 'veth0': a zc: ring sees only the "
                                 "packets its queue receives"):
            ring.set_direction(Direction.TX_ONLY)
        ring.set_direction(Direction.RX_ONLY)
        send_frames(pair.b, pair.if_b, sent[:15])
        first = [d for _, d in collect(ring, 15)]
        ring.set_direction(Direction.RX_AND_TX)
        send_frames(pair.b, pair.if_b, sent[15:])
        second = [d for _, d in collect(ring, 15)] + [d for _, d in drain(ring, quiet=0.2)]
    assert first + second == sent


@pytest.mark.parametrize("rate", [1, 3, 10])
def test_sampling_in_the_xdp_program_is_exact(veth_pair, rate):
    pair = veth_pair
    sent = frames_for(pair, 200)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}")
    with ring:
        ring.set_sampling_rate(rate)
        ring.enable()
        send_frames(pair.b, pair.if_b, sent)
        got = [d for _, d in collect(ring, len(sent[::rate]))] + \
              [d for _, d in drain(ring, quiet=0.2)]
        stats, kstats = ring.stats(), ring.kernel_stats()
    assert got == sent[::rate]                        # the 1st, the (N+1)th, ...
    assert (stats.recv, stats.drop) == (len(sent[::rate]), 0)
    assert (kstats.recv, kstats.drop) == (len(sent[::rate]), 0)


def test_sampling_rate_change_restarts_the_count(veth_pair):
    pair = veth_pair
    sent = frames_for(pair, 40)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}", enable=True)
    with ring:
        ring.set_sampling_rate(4)
        send_frames(pair.b, pair.if_b, sent[:10])    # kept: 0, 4, 8
        first = [d for _, d in collect(ring, 3)] + [d for _, d in drain(ring, quiet=0.2)]
        ring.set_sampling_rate(5)
        send_frames(pair.b, pair.if_b, sent[10:])    # kept: 10, 15, ..., 35
        second = [d for _, d in collect(ring, 6)] + [d for _, d in drain(ring, quiet=0.2)]
        with pytest.raises(InvalidArgumentError, match="sampling rate must be at least 1"):
            ring.set_sampling_rate(0)
    assert first == sent[0:10:4]
    assert second == sent[10::5]


def test_a_zc_ring_alone_in_its_cluster_gets_every_frame(veth_pair):
    """A cluster of one zc: ring (tests/live/test_zc_cluster.py has the
    clusters of processes): every frame, in order."""
    pair = veth_pair
    sent = frames_for(pair, 10)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}")
    with ring:
        ring.set_cluster(7, ClusterType.PER_FLOW)
        ring.enable()
        send_frames(pair.b, pair.if_b, sent)
        got = [d for _, d in collect(ring, len(sent))]
    assert got == sent


def test_rss_rehash_on_a_zc_ring_is_refused(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(f"zc:{veth_pair.if_a}")
    with ring:
        with pytest.raises(NotSupportedError, match="RSS rehash on 'veth0': a zc: ring is one queue"):
            ring.enable_rss_rehash()


# -- drops ----------------------------------------------------------------------------

DROPS = """
    import json, sys, time
    from pcap_pfring import Ring
    ring = Ring("zc:{dev}", enable=True)
    print("ready", file=sys.stderr, flush=True)
    time.sleep(2.0)
    s, k = ring.stats(), ring.kernel_stats()
    n = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        got = ring.recv_batch(1024, timeout=0.3)
        if not got:
            break
        n += len(got)
    s2 = ring.stats()
    print(json.dumps([s.recv, s.drop, k.recv, k.drop, n, s2.recv, s2.drop]))
"""


def test_drops_on_the_fill_and_rx_rings_are_counted(veth_pair, monkeypatch):
    pair = veth_pair
    monkeypatch.setenv("PF_RING_MIN_NUM_SLOTS", "512")
    sent = frames_for(pair, 800)
    script = textwrap.dedent(DROPS).replace("{dev}", pair.if_a)
    t = Process(pair.a, [sys.executable, "-c", script], name="zc-drops")
    try:
        t.wait_err("ready", timeout=30)
        send_frames(pair.b, pair.if_b, sent)
        rc, out, err = t.finish(30)
    finally:
        t.kill()
    assert rc == 0, err
    recv, drop, krecv, kdrop, n, recv2, drop2 = json.loads(out)
    # 512 frames (min_num_slots 512, the least): the RX ring holds 512, the
    # rest found no free frame on the fill ring
    assert (recv, drop) == (0, len(sent) - 512)
    assert (krecv, kdrop) == (len(sent), len(sent) - 512)   # recv: the drops included
    assert (n, recv2, drop2) == (512, 512, len(sent) - 512)
