"""zc: rings over several RX queues (drivers/af_xdp.c): ``zc:X@0,zc:X@1``,
``zc:X@0,1`` and ``zc:X`` (every queue), on a veth pair with 4 queues a side.

One ring is one AF_XDP socket per queue, all on one UMEM, fed by one XDP
program.  Frames are steered to a queue of a's end with XPS on b's end (a
frame sent from CPU c leaves by the TX queue whose xps_cpus holds c, and a
veth's TX queue is its peer's RX queue).  Every frame must arrive once, byte
for byte, and each queue's frames in their order; the status tree shows the
queues; `ip -d link` shows no XDP program after close or SIGKILL.
"""
import json
import os
import re
import select
import signal
import socket
import struct
import sys
import textwrap
import time

import pytest

from pcap_pfring import BadInterfaceNameError, InvalidArgumentError, Ring, WrongConfigurationError
from pcap_pfring.status import list_rings
from pcap_pfring.testing.fixtures import collect, drain, frame, send_frames
from pcap_pfring.testing.procs import Process, Tcpdump

pytestmark = pytest.mark.needs_root

NQ = 4                                   # queues of veth_pair_mq
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33


@pytest.fixture
def mq(veth_pair_mq):
    if not {0, 1} <= os.sched_getaffinity(0):
        pytest.skip("needs CPUs 0 and 1 to steer frames to two queues with XPS")
    return veth_pair_mq


def frames_for(pair, n, tag, ethertype=0x88B5):
    """n frames of b to a, each naming its queue (tag) and its number."""
    return [frame(pair.mac_a, pair.mac_b, ethertype, bytes([tag, i % 256, i // 256]) * 20)
            for i in range(n)]


def steer(pair, cpu_to_queue):
    """XPS on b's end: CPU c sends by TX queue cpu_to_queue[c], so a's RX
    queue of that number gets the frame; every other queue has no CPU."""
    for q in range(NQ):
        cpus = sum(1 << c for c, qq in cpu_to_queue.items() if qq == q)
        pair.b.run(["sh", "-c",
                    f"echo {cpus:x} > /sys/class/net/{pair.if_b}/queues/tx-{q}/xps_cpus"])


def send_on_cpu(pair, frames, cpu):
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        send_frames(pair.b, pair.if_b, frames)
    finally:
        os.sched_setaffinity(0, old)


def send_to_queues(pair, per_queue):
    """per_queue: {queue: frames}; at most two queues at a time (two CPUs)."""
    items = sorted(per_queue.items())
    for i in range(0, len(items), 2):
        part = items[i:i + 2]
        steer(pair, {cpu: q for cpu, (q, _) in enumerate(part)})
        for cpu, (_, frames) in enumerate(part):
            send_on_cpu(pair, frames, cpu)


def receive(ring, n):
    got = [d for _, d in collect(ring, n)]
    return got + [d for _, d in drain(ring, quiet=0.2)]


def by_queue(got):
    out = {}
    for d in got:
        out.setdefault(d[14], []).append(d)
    return out


def xdp_lines(ns, ifname):
    """The `prog/xdp ... id N name X` entries of `ip -d link show`."""
    out = ns.run(["ip", "-d", "link", "show", ifname]).stdout
    return re.findall(r"prog/xdp\S* id (\d+) name (\S+)", out)


def wait_no_xdp(ns, ifname, timeout=5.0):
    deadline = time.monotonic() + timeout
    while xdp_lines(ns, ifname) and time.monotonic() < deadline:
        time.sleep(0.05)
    return xdp_lines(ns, ifname)


def redirected(pair):
    """Per RX queue of a's end, the frames XDP redirected there (veth's
    own counters, `ethtool -S`): proof of the queue each frame came by."""
    out = pair.a.run(["ethtool", "-S", pair.if_a]).stdout
    return {int(q): int(n) for q, n in re.findall(r"rx_queue_(\d+)_xdp_redirect: (\d+)", out)}


def status_of(ifname):
    mine = [r for r in list_rings() if r.pid == os.getpid() and
            r.fields.get("Bound Device(s)") == ifname]
    assert len(mine) == 1, [r.fields for r in list_rings()]
    return mine[0].fields


# -- receiving --------------------------------------------------------------------

@pytest.mark.parametrize("form", ["zc:{d}@0,zc:{d}@1", "zc:{d}@0,1", "dna:{d}@0-1",
                                  "zc:{d}@1,dna:{d}@0"])
def test_two_queues_every_frame_once_byte_identical(mq, form):
    pair = mq
    on0, on1 = frames_for(pair, 150, 0), frames_for(pair, 150, 1)
    with pair.a.enter():
        ring = Ring(form.format(d=pair.if_a), enable=True)
    with ring:
        assert len(xdp_lines(pair.a, pair.if_a)) == 1          # one program for the ring
        before = redirected(pair)
        send_to_queues(pair, {0: on0, 1: on1})
        got = receive(ring, len(on0) + len(on1))
        after = redirected(pair)
        stats = ring.stats()
        fields = status_of(pair.if_a)
    assert {q: after[q] - before[q] for q in range(NQ)} == {0: 150, 1: 150, 2: 0, 3: 0}
    assert len(got) == len(on0) + len(on1)
    assert by_queue(got) == {0: on0, 1: on1}                   # each queue whole, in order
    assert (stats.recv, stats.drop) == (len(got), 0)           # the queues add up
    assert fields["Breed"] == "ZC"
    assert fields["Channel Id Mask"] == "0x0000000000000003"
    assert wait_no_xdp(pair.a, pair.if_a) == []


def test_listed_queues_only_the_others_go_to_the_stack(mq):
    pair = mq
    on1, on3 = frames_for(pair, 60, 1), frames_for(pair, 60, 3)
    on0, on2 = frames_for(pair, 60, 0, 0x88B6), frames_for(pair, 60, 2, 0x88B6)
    with pair.a.enter():
        zc = Ring(f"zc:{pair.if_a}@1,zc:{pair.if_a}@3", enable=True)
        std = Ring(pair.if_a, enable=True)
    with zc, std:
        std.set_bpf_filter("ether proto 0x88b5 or ether proto 0x88b6")
        send_to_queues(pair, {0: on0, 1: on1, 2: on2, 3: on3})
        got = receive(zc, len(on1) + len(on3))
        stack = receive(std, len(on0) + len(on2))
    assert by_queue(got) == {1: on1, 3: on3}
    assert by_queue(stack) == {0: on0, 2: on2}


def test_zc_dev_takes_every_queue(mq):
    pair = mq
    sent = {q: frames_for(pair, 80, q) for q in range(NQ)}
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}", enable=True)
    with ring:
        before = redirected(pair)
        send_to_queues(pair, sent)
        got = receive(ring, sum(len(f) for f in sent.values()))
        after = redirected(pair)
        stats = ring.stats()
        fields = status_of(pair.if_a)
    assert {q: after[q] - before[q] for q in range(NQ)} == {q: 80 for q in range(NQ)}
    assert len(got) == 4 * 80
    assert by_queue(got) == sent
    assert stats.recv == 4 * 80 and stats.drop == 0
    assert fields["Channel Id Mask"] == "0x000000000000000F"
    assert wait_no_xdp(pair.a, pair.if_a) == []


def test_recv_one_by_one_round_robin_over_the_queues(mq):
    """pfring_recv over both sockets: every frame once, each queue in order."""
    pair = mq
    on0, on1 = frames_for(pair, 200, 0), frames_for(pair, 200, 1)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}@0,zc:{pair.if_a}@1", enable=True)
    with ring:
        send_to_queues(pair, {0: on0, 1: on1})
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 400 and time.monotonic() < deadline:
            pkt = ring.recv(wait=False)
            if pkt is None:
                ring.poll(50)
                continue
            got.append(bytes(pkt[1]))
        got += [d for _, d in drain(ring, quiet=0.2)]
    assert by_queue(got) == {0: on0, 1: on1}


def test_loop_and_batches_over_the_queues(mq):
    """pfring_loop and recv_batch (pfring_recv_burst, whose packets point
    into the UMEM until the next call): every frame once, per queue in order."""
    pair = mq
    on0, on1 = frames_for(pair, 120, 0), frames_for(pair, 120, 1)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}@0,zc:{pair.if_a}@1", enable=True)
    with ring:
        send_to_queues(pair, {0: on0, 1: on1})
        looped = []
        ring.loop(lambda h, v: looped.append(bytes(v)), count=240, timeout=5)
        send_to_queues(pair, {0: on0, 1: on1})
        batched = []
        deadline = time.monotonic() + 5
        while len(batched) < 240 and time.monotonic() < deadline:
            batch = ring.recv_batch(50, timeout=0.1)
            views = [d for _, d in batch]                      # all valid until the next call
            batched.extend(views)
    assert by_queue(looped) == {0: on0, 1: on1}
    assert by_queue(batched) == {0: on0, 1: on1}


def test_bpf_filter_on_a_ring_of_two_queues(mq):
    pair = mq
    keep0, keep1 = frames_for(pair, 40, 0), frames_for(pair, 40, 1)
    other = frames_for(pair, 40, 0, 0x88B6)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}@0,1", enable=True)
    with ring:
        ring.set_bpf_filter("ether proto 0x88b5")
        send_to_queues(pair, {0: other + keep0, 1: keep1})
        got = receive(ring, len(keep0) + len(keep1))
    assert by_queue(got) == {0: keep0, 1: keep1}


def test_sampling_counts_over_the_queues(mq):
    """One exact 1-in-2 count for the ring, whatever queue a frame came by."""
    pair = mq
    on0, on1 = frames_for(pair, 100, 0), frames_for(pair, 100, 1)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}@0,1", enable=True)
    with ring:
        ring.set_sampling_rate(2)
        send_to_queues(pair, {0: on0})
        send_to_queues(pair, {1: on1})
        got = receive(ring, 100)
    assert by_queue(got) == {0: on0[::2], 1: on1[::2]}


def set_queued_filter(ring, ethertype):
    """pfring_set_bpf_program_ex with PFRING_BPF_FILTER_QUEUED (libpcap's
    pcap_setfilter): keep frames of ``ethertype``."""
    from pcap_pfring._ffi import ffi, lib
    from pcap_pfring.errors import check

    insns = [(0x28, 0, 0, 12), (0x15, 0, 1, ethertype), (0x06, 0, 0, 262144), (0x06, 0, 0, 0)]
    prog = ffi.new("char[]", b"".join(struct.pack("=HBBI", *i) for i in insns))
    check(lib.pfring_set_bpf_program_ex(ring._h(), prog, len(insns), ffi.NULL,
                                        lib.PFRING_BPF_LIBPCAP), ring._h())


def test_frames_queued_on_every_queue_are_checked_against_a_new_filter(mq):
    """The frames the old filter (none) put on both RX rings before a change
    are checked in user space, all of them before any frame of the new one
    (whose first ends the check), though queue 1 has more than a batch."""
    pair = mq
    n = {0: 10, 1: 100}
    before = {q: frames_for(pair, n[q], q, 0x88B5) + frames_for(pair, n[q], q, 0x88B6)
              for q in (0, 1)}
    after = {q: frames_for(pair, 20, q, 0x88B6) + frames_for(pair, 20, q, 0x88B5)
             for q in (0, 1)}
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}@0,1", enable=True)
    with ring:
        send_to_queues(pair, before)
        time.sleep(0.2)                                        # on the RX rings, unread
        set_queued_filter(ring, 0x88B5)
        send_to_queues(pair, after)
        got = receive(ring, 150)
    assert by_queue(got) == {q: before[q][:n[q]] + after[q][20:] for q in (0, 1)}


def test_selectable_fd_and_poll_see_every_queue(mq):
    pair = mq
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}@0,zc:{pair.if_a}@1", enable=True)
    with ring:
        fd = ring.fileno()
        assert fd >= 0
        assert select.select([fd], [], [], 0.2)[0] == []       # nothing yet
        assert ring.poll(100) is False
        for q in (1, 0):                                       # each socket wakes it
            sent = frames_for(pair, 5, q)
            send_to_queues(pair, {q: sent})
            assert select.select([fd], [], [], 2.0)[0] == [fd]
            assert ring.poll(1000)
            assert by_queue(receive(ring, 5)) == {q: sent}
            assert select.select([fd], [], [], 0.2)[0] == []   # read out: quiet again


def test_disable_takes_every_queue_out(mq):
    """Before enable and after disable, both queues' frames go on to the
    stack (a standard ring on the interface sees them), and the zc: ring
    never gets them."""
    pair = mq
    on0, on1 = frames_for(pair, 20, 0), frames_for(pair, 20, 1)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}@0,1")
        std = Ring(pair.if_a, enable=True)
    with ring, std:
        std.set_bpf_filter("ether proto 0x88b5")
        send_to_queues(pair, {0: on0, 1: on1})
        assert by_queue(receive(std, 40)) == {0: on0, 1: on1}
        ring.enable()
        send_to_queues(pair, {0: on0, 1: on1})
        assert by_queue(receive(ring, 40)) == {0: on0, 1: on1}
        assert receive(std, 0) == []
        ring.disable()
        send_to_queues(pair, {0: on0, 1: on1})
        assert by_queue(receive(std, 40)) == {0: on0, 1: on1}
        ring.enable()
        assert receive(ring, 0) == []


# -- sending ----------------------------------------------------------------------

def test_send_goes_through_the_first_socket(mq):
    pair = mq
    sent = [frame(pair.mac_b, pair.mac_a, 0x88B5, bytes([i % 256]) * (30 + i)) for i in range(600)]
    with pair.b.enter():
        peer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        peer.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        peer.bind((pair.if_b, 0))
    peer.settimeout(0.3)
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}@2,zc:{pair.if_a}@3", enable=True)
    with ring, peer:
        for f in sent:
            assert ring.send(f) == len(f)
        ring.flush_tx_packets()
        got = []
        deadline = time.monotonic() + 5
        while len(got) < len(sent) and time.monotonic() < deadline:
            try:
                data, addr = peer.recvfrom(65536)
            except socket.timeout:
                continue
            if addr[2] != PACKET_OUTGOING and data[12:14] == b"\x88\xb5":
                got.append(data)
    assert got == sent


# -- the tools and the drop-in ----------------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DROP_IN = os.path.join(ROOT, "build", "libpcap-pfring")


def test_pfcount_on_two_queues(mq):
    pair = mq
    on0, on1 = frames_for(pair, 30, 0), frames_for(pair, 30, 1)
    name = f"zc:{pair.if_a}@0,zc:{pair.if_a}@1"
    t = Process(pair.a, [os.path.join(os.path.dirname(sys.executable), "pfcount"),
                         "-i", name, "-e", "1", "-N", "60", "-d", "30", "--json"],
                name="pfcount")
    try:
        t.wait_err("# Polling threads:", timeout=30)
        send_to_queues(pair, {0: on0, 1: on1})
        rc, out, err = t.finish(30)
    finally:
        t.kill()
    assert rc == 0, err
    stats = json.loads(out)
    assert (stats["device"], stats["recv"], stats["drop"]) == (name, 60, 0)
    assert stats["bytes"] == sum(len(f) for f in on0 + on1)
    assert wait_no_xdp(pair.a, pair.if_a) == []


@pytest.mark.skipif(not os.path.exists("/usr/bin/tcpdump"), reason="tcpdump is not installed")
def test_tcpdump_on_two_queues_through_the_drop_in(mq, tmp_path):
    pair = mq
    if not os.path.exists(os.path.join(DROP_IN, "libpcap.so.0.8")):
        pytest.skip("the drop-in is not built (make lib)")
    on0, on1 = frames_for(pair, 20, 0), frames_for(pair, 20, 1)
    other = frames_for(pair, 10, 1, 0x88B6)
    with Tcpdump(pair.a, DROP_IN, f"zc:{pair.if_a}@0,1", tmp_path / "zc.pcap", 40,
                 "ether proto 0x88b5") as td:
        assert len(xdp_lines(pair.a, pair.if_a)) == 1
        send_to_queues(pair, {0: on0, 1: other + on1})
        records = td.records()
    assert by_queue(records) == {0: on0, 1: on1}
    assert wait_no_xdp(pair.a, pair.if_a) == []
    assert wait_no_xdp(pair.a, pair.if_a) == []


# -- nothing left -----------------------------------------------------------------

HOLD = """
    import sys, time
    from pcap_pfring import Ring
    r = Ring(sys.argv[1], enable=True)
    print("ready", flush=True)
    time.sleep(60)
"""


def test_close_frees_every_queue(mq):
    pair = mq
    with pair.a.enter():
        Ring(f"zc:{pair.if_a}", enable=True).close()
        assert wait_no_xdp(pair.a, pair.if_a) == []
        for q in range(NQ):                                    # each queue free again
            Ring(f"zc:{pair.if_a}@{q}").close()
    assert wait_no_xdp(pair.a, pair.if_a) == []


def test_sigkill_of_the_owner_leaves_no_program(mq):
    pair = mq
    name = f"zc:{pair.if_a}@0,zc:{pair.if_a}@1,zc:{pair.if_a}@3"
    p = Process(pair.a, [sys.executable, "-c", textwrap.dedent(HOLD), name], name="holder")
    try:
        p.wait_out("ready", timeout=30)
        assert [n for _, n in xdp_lines(pair.a, pair.if_a)] == ["pfring_xdp_rx"]
        os.kill(p.pid, signal.SIGKILL)
        assert wait_no_xdp(pair.a, pair.if_a) == []
        p.p.wait(timeout=10)
    finally:
        p.kill()
    with pair.a.enter():                                       # the queues take a ring at once
        Ring(name).close()


# -- bad input --------------------------------------------------------------------

def test_a_listed_queue_that_does_not_exist(mq):
    pair = mq
    with pair.a.enter():
        with pytest.raises(InvalidArgumentError,
                           match=r"'veth0' has 4 RX queues \(0\.\.3\): there is no queue 5"):
            Ring(f"zc:{pair.if_a}@0,zc:{pair.if_a}@5")
        with pytest.raises(InvalidArgumentError, match="there is no queue 4"):
            Ring(f"zc:{pair.if_a}@3-4")
    assert xdp_lines(pair.a, pair.if_a) == []


@pytest.mark.parametrize("form, exc, text", [
    ("zc:{d}@1,zc:{d}@1", InvalidArgumentError, "queue 1 of 'veth0' is listed twice"),
    ("zc:{d}@0-2,zc:{d}@2", InvalidArgumentError, "queue 2 of 'veth0' is listed twice"),
    ("zc:{d}@0,1,1", InvalidArgumentError, "queue 1 of 'veth0' is listed twice"),
    ("zc:{d}@0,{d}@1", InvalidArgumentError, "'veth0@1' is not a zc: device"),
    ("zc:{d}@0,{d}@1", InvalidArgumentError, "a ring cannot mix zc: and standard devices"),
    ("zc:{d}@0,pcap:{d}@1", InvalidArgumentError, "a ring cannot mix zc: and other modules"),
    ("{d}@0,zc:{d}@1", InvalidArgumentError, "expected a channel number at 'zc:veth0@1'"),
    ("{d},zc:{d}@1", BadInterfaceNameError, "character ':' is not allowed in interface name"),
    ("zc:{d}@0,zc:lo@0", InvalidArgumentError,
     "a zc: ring opens on one interface: 'veth0' and 'lo' differ"),
    ("zc:{d},zc:{d}@1", InvalidArgumentError, "'veth0' without '@' takes every RX queue"),
])
def test_bad_queue_lists_are_named(mq, form, exc, text):
    pair = mq
    with pair.a.enter():
        with pytest.raises(exc, match=re.escape(text)) as info:
            Ring(form.format(d=pair.if_a))
    assert info.value.code == exc.code
    assert xdp_lines(pair.a, pair.if_a) == []


def test_a_queue_held_by_another_ring(mq):
    """The second ring fails on queue 1 and leaves nothing: queue 0 is free
    and only the first ring's program is attached."""
    pair = mq
    with pair.a.enter():
        first = Ring(f"zc:{pair.if_a}@1")
        try:
            with pytest.raises(WrongConfigurationError,
                               match="queue 1 of 'veth0' is already used by another AF_XDP"):
                Ring(f"zc:{pair.if_a}@0,zc:{pair.if_a}@1")
            assert len(xdp_lines(pair.a, pair.if_a)) == 1     # the first ring's
        finally:
            first.close()
        assert wait_no_xdp(pair.a, pair.if_a) == []
        Ring(f"zc:{pair.if_a}@0,zc:{pair.if_a}@1").close()       # both free now
    assert wait_no_xdp(pair.a, pair.if_a) == []
