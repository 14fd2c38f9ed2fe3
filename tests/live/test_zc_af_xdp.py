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
import struct
import subprocess
import sys
import textwrap
import time

import pytest

from pcap_pfring import (
    BadInterfaceNameError,
    InvalidArgumentError,
    NotSupportedError,
    Ring,
    WrongConfigurationError,
)
from pcap_pfring.status import list_rings
from pcap_pfring.testing.fixtures import collect, drain, frame, send_frames
from pcap_pfring.testing.procs import Process

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
    for name, exc, text in [("zc:eth0@1,2", InvalidArgumentError, "one RX queue"),
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
    out = tmp_path / "zc.pcap"
    env = {**os.environ, "LD_LIBRARY_PATH": DROP_IN}
    p = pair.a.popen(["tcpdump", "-n", "-U", "-i", f"zc:{pair.if_a}", "-w", str(out),
                      "-c", str(len(sent)), "ether proto 0x88b5"], env=env,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while xdp_line(pair.a, pair.if_a) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert xdp_line(pair.a, pair.if_a) is not None
        time.sleep(0.3)
        send_frames(pair.b, pair.if_b, sent)
        _, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    data = out.read_bytes()
    records, off = [], 24
    while off < len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        records.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    assert records == sent
    assert wait_no_xdp(pair.a, pair.if_a) is None
