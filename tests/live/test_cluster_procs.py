"""Clusters whose members are separate processes.

Each member is ``python -m pcap_pfring.testing.member`` in namespace a,
writing every packet it receives to its own file.  Members are started one
after the other, each confirmed joined (its ``ready`` line) before the next
starts, so fanout member i is process i and the member of every frame is
predicted exactly by the reference hash.  Flows of every kind (IPv4 TCP and
UDP, IPv6, VLAN tagged, IPv4 and IPv6 fragments) go both ways: ``fwd`` is
received on veth0, ``rev`` transmitted on it.

When member j of n leaves, the kernel moves its last member into j's place
(``__fanout_unlink``), so after member 0 leaves, member slot 0 is process
n-1 and slots 1..n-2 keep theirs.

Every wait is bounded, and member processes are killed by pid when a test
ends, pass or fail; the namespaces are deleted by the fixture.
"""
import collections
import signal
import sys

import pytest

from pcap_pfring import ClusterType
from pcap_pfring.testing.flows import make_flows, predicted, send_flows
from pcap_pfring.testing.procs import Process

pytestmark = pytest.mark.needs_root

MEMBER = [sys.executable, "-m", "pcap_pfring.testing.member"]
PER_FLOW_TYPES = [ClusterType.PER_FLOW, ClusterType.PER_FLOW_5_TUPLE]


class Members:
    """n member processes of cluster ``cluster_id`` on ``device`` (a's veth
    by default), in join order; ``tag`` names their files apart."""

    def __init__(self, pair, n, cluster_id, ctype, tmp_path, device=None, tag=""):
        self.files = [tmp_path / f"member{tag}{i}.hex" for i in range(n)]
        self.procs = []
        try:
            for i, path in enumerate(self.files):
                p = Process(pair.a, [*MEMBER, device or pair.if_a, str(cluster_id),
                                     str(int(ctype)), str(path)], name=f"member {i}",
                            stdin=True)
                self.procs.append(p)
                p.wait_out("ready")
        except BaseException:
            self.kill()
            raise

    def frames(self, i):
        return [bytes.fromhex(line) for line in self.files[i].read_text().split()]

    def close(self, i):
        """Member i closes its ring and stays alive."""
        self.procs[i].send("close")
        self.procs[i].wait_out("closed")

    def sigkill(self, i):
        rc, _, err = self.procs[i].finish(timeout=10, sig=signal.SIGKILL)
        assert rc == -signal.SIGKILL, err

    def stop(self):
        """Stops the live members (each drains first); every member's frames."""
        live = [p for p in self.procs if p.p.poll() is None]
        for p in live:
            p.send("stop")
        for p in live:
            rc, out, err = p.finish(timeout=20)
            assert rc == 0 and "done" in out, (p.name, rc, out, err)
        return [self.frames(i) for i in range(len(self.procs))]

    def kill(self):
        for p in self.procs:
            p.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def assert_split(got, sent):
    """Disjoint members whose union is exactly ``sent`` (frames are unique)."""
    everything = [d for frames in got for d in frames]
    assert len(everything) == len(set(everything)), "a frame reached two members"
    assert sorted(everything) == sorted(sent)


def assert_flows_whole(got, flows, ctype, slots):
    """Both frames of every flow in one member: process slots[hash % len(slots)]."""
    where = {d: m for m, frames in enumerate(got) for d in frames}
    for f in flows:
        assert where[f.fwd] == where[f.rev], f
        assert where[f.fwd] == slots[predicted(ctype, f.fwd, f.vlan, len(slots))], f


def assert_round_robin(counts):
    assert max(counts) - min(counts) <= 1, counts


def of(frames, flows):
    sent = {d for f in flows for d in (f.fwd, f.rev)}
    return [d for d in frames if d in sent]


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("ctype", PER_FLOW_TYPES)
def test_processes_split_1000_flows(veth_pair, tmp_path, n, ctype):
    flows = make_flows(veth_pair, 1000, seed=n)
    with Members(veth_pair, n, 40 + n, ctype, tmp_path) as m:
        send_flows(veth_pair, flows)
        got = m.stop()
    assert_split(got, [d for f in flows for d in (f.fwd, f.rev)])
    assert_flows_whole(got, flows, ctype, list(range(n)))
    assert collections.Counter(f.kind for f in flows) == {k: 200 for k in
                                                          ("ipv4", "ipv6", "vlan", "frag4", "frag6")}
    per_member = [len(frames) // 2 for frames in got]            # flows: 2 frames each
    even = 1000 / n
    assert all(0.8 * even <= c <= 1.2 * even for c in per_member), per_member


@pytest.mark.parametrize("n", [2, 3, 4])
def test_processes_round_robin(veth_pair, tmp_path, n):
    flows = make_flows(veth_pair, 151, seed=10 + n)                # 302 frames
    with Members(veth_pair, n, 50 + n, ClusterType.ROUND_ROBIN, tmp_path) as m:
        send_flows(veth_pair, flows)
        got = m.stop()
    assert_split(got, [d for f in flows for d in (f.fwd, f.rev)])
    assert_round_robin([len(frames) for frames in got])


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("how", ["close", "sigkill"])
@pytest.mark.parametrize("ctype", [ClusterType.PER_FLOW_5_TUPLE, ClusterType.ROUND_ROBIN])
def test_a_member_leaves(veth_pair, tmp_path, n, how, ctype):
    """Member 0 closes its ring (its process lives on) or is killed; the
    others receive all later traffic, and every process ends."""
    before = make_flows(veth_pair, 200, seed=20 + n)
    after = make_flows(veth_pair, 200, seed=30 + n)
    with Members(veth_pair, n, 60 + n, ctype, tmp_path) as m:
        send_flows(veth_pair, before)
        if how == "close":
            m.close(0)
        else:
            m.sigkill(0)
        send_flows(veth_pair, after)
        got = m.stop()
    # after the leave: all of it, among the n - 1 others only
    later = [of(frames, after) for frames in got]
    assert later[0] == []
    assert_split(later, [d for f in after for d in (f.fwd, f.rev)])
    survivors = list(range(1, n))
    if ctype == ClusterType.ROUND_ROBIN:
        assert_round_robin([len(later[i]) for i in survivors])
    else:
        assert_flows_whole(later, after, ctype, [n - 1] + survivors[:-1])
    # before the leave: the n members as joined
    earlier = [of(frames, before) for frames in got]
    sent = [d for f in before for d in (f.fwd, f.rev)]
    if how == "close":                        # member 0 drained its ring first
        assert_split(earlier, sent)
        if ctype == ClusterType.ROUND_ROBIN:
            assert_round_robin([len(frames) for frames in earlier])
        else:
            assert_flows_whole(earlier, before, ctype, list(range(n)))
        return
    # killed: what member 0 had not yet written is lost, the others are exact
    everything = [d for frames in earlier for d in frames]
    assert len(everything) == len(set(everything)) and set(everything) <= set(sent)
    if ctype == ClusterType.ROUND_ROBIN:
        assert_round_robin([len(earlier[i]) for i in survivors])
        assert len(sent) // n <= len(earlier[1]) <= len(sent) // n + 1
        return
    where = {d: m for m, frames in enumerate(earlier) for d in frames}
    for f in before:
        member = predicted(ctype, f.fwd, f.vlan, n)
        if member:
            assert where[f.fwd] == where[f.rev] == member, f
        else:
            assert where.get(f.fwd, 0) == where.get(f.rev, 0) == 0, f
