"""Clusters of zc: rings whose members are separate processes.

Each member is ``python -m pcap_pfring.testing.member zc:veth0 ...`` in
namespace a, writing every packet it receives to its own file; members start
one after the other, each confirmed joined (``ready``) before the next, so
member i is process i.  The first one's XDP program holds veth0's queue; the
others take its packet memory and bind their own sockets to it
(drivers/README.md, zc: clusters), and the program sends each frame to
member hash % members with the hash of the cluster type, the program that
AF_PACKET fanout clusters run.

Every frame goes into veth0 (XDP sees received frames only), so "both
directions" of a flow are its two frames, one each way, both received.  The
member of a frame is the one the reference hash predicts for an AF_PACKET
cluster (``predicted``), and a test runs an AF_PACKET cluster of the same
type and size over the same flows and compares member by member.

Every wait is bounded, members are killed by pid when a test ends, and the
namespaces are deleted by the fixture.
"""
import os
import re
import signal
import sys
import time

import pytest
import test_cluster_procs as procs_test

from pcap_pfring import ClusterType, Ring
from pcap_pfring.errors import InvalidArgumentError, NotSupportedError, WrongConfigurationError
from pcap_pfring.testing.flows import make_flows, predicted, send
from pcap_pfring.testing.procs import Process

pytestmark = pytest.mark.needs_root

MEMBER = [sys.executable, "-m", "pcap_pfring.testing.member"]
REAPER = "pfring-xdp-reaper"


class Members(procs_test.Members):
    """The members of test_cluster_procs.py on a zc: device: a killed
    member's reaper must be gone before the others are asked anything."""

    def sigkill(self, i):
        pid = self.procs[i].pid
        super().sigkill(i)
        wait_reaper_gone(pid)


def reapers_of(pid):
    """The reapers (by their command line) whose member is process ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 3 and os.path.basename(argv[0]).decode() == REAPER and \
                argv[3] == str(pid).encode():
            found.append(int(entry))
    return found


def wait_reaper_gone(pid, timeout=10.0):
    """The reaper of the dead member ``pid`` has done its leaving and exited."""
    deadline = time.monotonic() + timeout
    while reapers_of(pid):
        assert time.monotonic() < deadline, f"the reaper of member {pid} is still running"
        time.sleep(0.02)


def xdp_program(pair, timeout=5.0):
    """The XDP program on a's veth once it settles (None: none is attached)."""
    deadline = time.monotonic() + timeout
    while True:
        out = pair.a.run(["ip", "-d", "link", "show", pair.if_a]).stdout
        m = re.search(r"prog/xdp\S* id (\d+) name (\S+)", out)
        if not m or time.monotonic() >= deadline:
            return m and m.group(2)
        time.sleep(0.05)


def both_ways(flows):
    """Every flow's two frames, both received on veth0."""
    return [d for f in flows for d in (f.fwd, f.rev)]


def send_received(pair, flows):
    send(pair, both_ways(flows))


def assert_split(got, sent):
    """Disjoint members whose union is exactly ``sent`` (frames are unique)."""
    everything = [d for frames in got for d in frames]
    assert len(everything) == len(set(everything)), "a frame reached two members"
    assert sorted(everything) == sorted(sent)


def member_of(got):
    return {d: m for m, frames in enumerate(got) for d in frames}


def assert_flows_whole(got, flows, ctype, slots):
    """Both frames of every flow in one member: process slots[hash % len(slots)]."""
    where = member_of(got)
    for f in flows:
        assert where[f.fwd] == where[f.rev], f
        assert where[f.fwd] == slots[predicted(ctype, f.fwd, f.vlan, len(slots))], f


def of(frames, flows):
    sent = set(both_ways(flows))
    return [d for d in frames if d in sent]


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("ctype", [ClusterType.PER_FLOW, ClusterType.PER_FLOW_5_TUPLE,
                                   ClusterType.PER_FLOW_2_TUPLE])
def test_zc_members_split_flows_whole(veth_pair, tmp_path, n, ctype):
    flows = make_flows(veth_pair, 300, seed=n)
    with Members(veth_pair, n, 70 + n, ctype, tmp_path, f"zc:{veth_pair.if_a}") as m:
        send_received(veth_pair, flows)
        got = m.stop()
    assert_split(got, both_ways(flows))
    assert_flows_whole(got, flows, ctype, list(range(n)))
    assert all(len(frames) > 0 for frames in got), [len(frames) for frames in got]
    assert xdp_program(veth_pair) is None        # the last one out detached it


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("ctype", [ClusterType.PER_FLOW, ClusterType.PER_FLOW_5_TUPLE])
def test_zc_and_af_packet_clusters_pick_the_same_member(veth_pair, tmp_path, n, ctype):
    """The same flows, through a zc: cluster, then a standard one of the
    same type and size: every frame at the same member index."""
    flows = make_flows(veth_pair, 200, seed=40 + n)
    with Members(veth_pair, n, 80 + n, ctype, tmp_path, f"zc:{veth_pair.if_a}", "zc") as m:
        send_received(veth_pair, flows)
        zc = m.stop()
    with Members(veth_pair, n, 90 + n, ctype, tmp_path, veth_pair.if_a, "std") as m:
        send_received(veth_pair, flows)
        std = m.stop()
    assert_split(zc, both_ways(flows))
    assert_split(std, both_ways(flows))
    assert member_of(zc) == member_of(std)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("victim", ["first", "last"])
@pytest.mark.parametrize("how", ["sigkill", "close"])
def test_a_zc_member_leaves_the_others_go_on(veth_pair, tmp_path, n, victim, how):
    """A member is SIGKILLed or closes its ring (its process lives on): the
    first one (the process whose program holds the queue and whose memory
    the others took) or the last one.  It leaves as the kernel takes a
    fanout member out (the last member moves into its slot): by its reaper
    when killed, by its close otherwise.  The others receive all later
    traffic."""
    ctype = ClusterType.PER_FLOW_5_TUPLE
    dead = 0 if victim == "first" else n - 1
    before = make_flows(veth_pair, 200, seed=50 + n)
    after = make_flows(veth_pair, 200, seed=60 + n)
    with Members(veth_pair, n, 100 + n, ctype, tmp_path, f"zc:{veth_pair.if_a}") as m:
        send_received(veth_pair, before)
        if how == "close":
            m.close(dead)
        else:
            m.sigkill(dead)
        send_received(veth_pair, after)
        got = m.stop()
    assert xdp_program(veth_pair) is None
    later = [of(frames, after) for frames in got]
    assert later[dead] == []
    assert_split(later, both_ways(after))
    slots = list(range(n))
    slots[dead] = slots[-1]
    del slots[-1]
    assert_flows_whole(later, after, ctype, slots)
    earlier = [of(frames, before) for frames in got]
    if how == "close":               # it drained its ring first: all exact
        assert_split(earlier, both_ways(before))
        assert_flows_whole(earlier, before, ctype, list(range(n)))
        return
    where = member_of(earlier)
    for f in before:                 # the living members' share is exact
        member = predicted(ctype, f.fwd, f.vlan, n)
        if member != dead:
            assert where[f.fwd] == where[f.rev] == member, f


def test_every_member_killed_the_program_goes(veth_pair, tmp_path):
    """The reapers of killed members: the last one out detaches the program."""
    with Members(veth_pair, 3, 105, ClusterType.PER_FLOW, tmp_path,
                 f"zc:{veth_pair.if_a}") as m:
        assert xdp_program(veth_pair, timeout=0) == "pfring_xdp_rx"
        for i in (1, 0, 2):
            m.sigkill(i)
    assert xdp_program(veth_pair) is None


def test_frames_of_a_killed_member_come_back(veth_pair, tmp_path, monkeypatch):
    """A member stopped (SIGSTOP) while 600 frames come for it: its RX ring
    takes all 512 frames of the cluster's memory, so the other member gets
    nothing more.  Killed, its reaper gives the frames back: the survivor
    receives its whole share of the next 256 frames."""
    monkeypatch.setenv("PF_RING_MIN_NUM_SLOTS", "512")
    ctype = ClusterType.PER_FLOW_5_TUPLE
    flows = make_flows(veth_pair, 1400, seed=7, kinds=("ipv4",))
    to = [[f for f in flows if predicted(ctype, f.fwd, f.vlan, 2) == i] for i in (0, 1)]
    flood, after = to[1][:300], to[0][:128]
    assert len(flood) == 300 and len(after) == 128
    with Members(veth_pair, 2, 110, ctype, tmp_path, f"zc:{veth_pair.if_a}") as m:
        os.kill(m.procs[1].pid, signal.SIGSTOP)
        send_received(veth_pair, flood)
        m.sigkill(1)
        send_received(veth_pair, after)
        got = m.stop()
    assert of(got[0], after) == both_ways(after)
    assert of(got[0], flood) == []


def test_round_robin_on_a_zc_ring_is_refused(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(f"zc:{veth_pair.if_a}")
    with ring:
        with pytest.raises(NotSupportedError,
                           match=r"cluster type 1 \(round robin\) is not supported on zc: "
                                 r"rings"):
            ring.set_cluster(120, ClusterType.ROUND_ROBIN)


def test_zc_and_standard_rings_do_not_mix_in_a_cluster(veth_pair):
    with veth_pair.a.enter():
        std = Ring(veth_pair.if_a)
        zc = Ring(f"zc:{veth_pair.if_a}")
    with std, zc:
        std.set_cluster(121, ClusterType.PER_FLOW)
        with pytest.raises(InvalidArgumentError,
                           match=r"cannot join cluster 121 with a zc: ring: its members are "
                                 r"standard rings"):
            zc.set_cluster(121, ClusterType.PER_FLOW)
        zc.set_cluster(122, ClusterType.PER_FLOW)
        with veth_pair.a.enter():
            other = Ring(veth_pair.if_a)
        with other:
            with pytest.raises(InvalidArgumentError,
                               match=r"cannot join cluster 122 with a standard ring: its "
                                     r"members are zc: rings"):
                other.set_cluster(122, ClusterType.PER_FLOW)


def test_a_cluster_queue_needs_its_cluster(veth_pair, tmp_path):
    """A ring opened on a queue that a zc: cluster holds cannot enable
    outside it, nor join another cluster id."""
    with Members(veth_pair, 1, 123, ClusterType.PER_FLOW, tmp_path,
                 f"zc:{veth_pair.if_a}") as m:
        with veth_pair.a.enter():
            ring = Ring(f"zc:{veth_pair.if_a}")
        with ring:
            with pytest.raises(WrongConfigurationError,
                               match=r"queue 0 of 'veth0' is used by zc: cluster 123: join it"):
                ring.enable()
            with pytest.raises(WrongConfigurationError,
                               match=r"cannot join cluster 124: queue 0 of 'veth0' is held by "
                                     r"zc: cluster 123"):
                ring.set_cluster(124, ClusterType.PER_FLOW)
        m.stop()


def test_a_zc_cluster_is_of_one_queue(veth_pair_mq):
    pair = veth_pair_mq
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}")
    with ring:
        with pytest.raises(NotSupportedError,
                           match=r"'veth0' cannot join cluster 125: a zc: cluster splits one "
                                 r"RX queue \(open zc:veth0@N\), and this ring has 4 queues"):
            ring.set_cluster(125, ClusterType.PER_FLOW)


def test_members_do_not_sample_send_or_leave_but_by_closing(veth_pair, tmp_path):
    """A member that joined (the queue's cluster was there) has no TX ring,
    no member samples (one program serves them all), and a member leaves by
    closing its ring."""
    with Members(veth_pair, 1, 126, ClusterType.PER_FLOW, tmp_path,
                 f"zc:{veth_pair.if_a}") as m:
        with veth_pair.a.enter():
            ring = Ring(f"zc:{veth_pair.if_a}")
        with ring:
            ring.set_cluster(126, ClusterType.PER_FLOW)
            with pytest.raises(NotSupportedError,
                               match=r"a zc: cluster member does not sample"):
                ring.set_sampling_rate(4)
            with pytest.raises(NotSupportedError):
                ring.send(b"\xff" * 60)
            with pytest.raises(NotSupportedError,
                               match=r"'veth0' cannot leave zc: cluster 126 but by closing"):
                ring.remove_from_cluster()
        m.stop()


JOIN = """
import sys
from pcap_pfring import ClusterType, Ring
from pcap_pfring.errors import PFRingError
ring = Ring(sys.argv[1])
try:
    ring.set_cluster(127, ClusterType.PER_FLOW)
except PFRingError as e:
    print(type(e).__name__, e, flush=True)
    sys.exit(1)
print("joined", flush=True)
"""


def test_joining_without_ptrace_rights_says_so(veth_pair, tmp_path):
    """pidfd_getfd needs ptrace rights over the member whose memory a ring
    takes: a process without CAP_SYS_PTRACE (the member has it) is refused,
    and the error says why."""
    with Members(veth_pair, 1, 127, ClusterType.PER_FLOW, tmp_path,
                 f"zc:{veth_pair.if_a}") as m:
        p = Process(veth_pair.a, ["setpriv", "--bounding-set", "-sys_ptrace", "--inh-caps",
                                  "-sys_ptrace", sys.executable, "-c", JOIN,
                                  f"zc:{veth_pair.if_a}"], name="joiner")
        rc, out, err = p.finish(timeout=20)
        assert rc == 1, (out, err)
        assert "PermissionDeniedError" in out, out
        assert "needs ptrace rights over that process (CAP_SYS_PTRACE" in out, out
        m.stop()
