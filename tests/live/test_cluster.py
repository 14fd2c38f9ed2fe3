"""Clusters on real kernel fanout groups: members, flows, both directions.

Frames of many flows go A->B (received on veth0) and B->A (transmitted on
veth0), so each member ring on veth0 sees both directions.  Fanout members
are numbered in join order, so every frame's member is predicted exactly by
the reference hash."""
import json
import os
import random
import subprocess
import sys
import time

import pytest

from pcap_pfring import ClusterType, InvalidArgumentError, NotSupportedError, Ring
from pcap_pfring.testing.fixtures import drain, frame, send_from_b
from pcap_pfring.testing.flows import ipv4, l4, make_flows, predicted, send

pytestmark = pytest.mark.needs_root


def capture_in_cluster(pair, members, ctype, cluster_id, rx_frames, tx_frames=()):
    """Member rings on veth0 joined in order; rx_frames are sent from b, tx_frames
    from a; returns each member's frames."""
    with pair.a.enter():
        rings = [Ring(pair.if_a) for _ in range(members)]
    try:
        for r in rings:
            r.set_cluster(cluster_id, ctype)
            r.enable()
        send(pair, rx_frames, tx_frames, settle=0)
        return [[d for _, d in drain(r)] for r in rings]
    finally:
        for r in rings:
            r.close()


def run_members(pair, members, ctype, flows, cluster_id):
    return capture_in_cluster(pair, members, ctype, cluster_id,
                              [f.fwd for f in flows], [f.rev for f in flows])


@pytest.mark.parametrize("members", [2, 3, 4])
@pytest.mark.parametrize("ctype", [ClusterType.PER_FLOW_5_TUPLE, ClusterType.PER_FLOW,
                                   ClusterType.PER_FLOW_2_TUPLE])
def test_per_flow_members(veth_pair, members, ctype):
    flows = make_flows(veth_pair, 200, seed=members)
    got = run_members(veth_pair, members, ctype, flows, cluster_id=100 + members)
    sent = [d for f in flows for d in (f.fwd, f.rev)]
    everything = [d for m in got for d in m]
    assert sorted(everything) == sorted(sent)                     # complete, nothing twice
    where = {d: m for m, frames in enumerate(got) for d in frames}
    for f in flows:
        # the tagged frame is received with its tag re-inserted: same bytes as sent
        assert where[f.fwd] == where[f.rev], f                      # a flow stays whole
        assert where[f.fwd] == predicted(ctype, f.fwd, f.vlan, members), f
    assert all(got)                                               # every member got some


def test_round_robin_is_even(veth_pair):
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, 0x88B5, i.to_bytes(4, "big") * 4)
              for i in range(301)]
    got = capture_in_cluster(veth_pair, 3, ClusterType.ROUND_ROBIN, 9, frames)
    assert sorted(len(g) for g in got) == [100, 100, 101]
    assert sorted(d for g in got for d in g) == sorted(frames)


def test_spread_of_1000_flows(veth_pair):
    rng = random.Random(7)
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, 0x0800,
                    ipv4([10, 9, rng.randrange(256), rng.randrange(1, 255)], [10, 8, 0, 1], 17,
                         l4(rng.randrange(1024, 65535), 53, i)))
              for i in range(1000)]
    counts = [len(g) for g in capture_in_cluster(veth_pair, 4, ClusterType.PER_FLOW_5_TUPLE,
                                                 12, frames)]
    assert sum(counts) == 1000
    assert all(200 <= c <= 300 for c in counts), counts


def test_cluster_errors(veth_pair):
    pair = veth_pair
    pair.a.run(["ip", "link", "add", "veth2", "type", "veth", "peer", "name", "veth3"])
    pair.a.run(["ip", "link", "set", "veth2", "up"])
    with pair.a.enter():
        first = Ring(pair.if_a, enable=True)
        rr = Ring(pair.if_a, enable=True)
        other_dev = Ring("veth2", enable=True)
        spare = Ring(pair.if_a)
    with first, rr, other_dev, spare:
        first.set_cluster(33, ClusterType.PER_FLOW_5_TUPLE)
        with pytest.raises(InvalidArgumentError,
                           match="cannot join cluster 33 as round_robin: its members use per_flow_5_tuple"):
            rr.set_cluster(33, ClusterType.ROUND_ROBIN)
        with pytest.raises(InvalidArgumentError, match="another device"):
            other_dev.set_cluster(33, ClusterType.PER_FLOW_5_TUPLE)
        with pytest.raises(InvalidArgumentError, match="out of range"):
            spare.set_cluster(0)
        with pytest.raises(InvalidArgumentError, match="out of range"):
            spare.set_cluster(70000)
        with pytest.raises(NotSupportedError, match="duplication"):
            spare.set_cluster(5, ClusterType.PER_FLOW_IP_WITH_DUP_TUPLE)
        with pytest.raises(Exception, match="already in cluster 33"):
            first.set_cluster(34)
        with pytest.raises(InvalidArgumentError,
                           match="cannot join cluster 33 as per_flow_2_tuple: its members use per_flow_5_tuple"):
            spare.set_cluster(33, ClusterType.PER_FLOW_2_TUPLE)
        spare.set_cluster(33, ClusterType.PER_FLOW_5_TUPLE)     # the same type joins
        spare.enable()
    # once the members are gone, the id can be used with another type
    with pair.a.enter():
        again = Ring(pair.if_a, enable=True)
    with again:
        again.set_cluster(33, ClusterType.PER_FLOW_2_TUPLE)


def test_remove_from_cluster(veth_pair):
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, 0x88B5, i.to_bytes(4, "big") * 4)
              for i in range(30)]
    with veth_pair.a.enter():
        rings = [Ring(veth_pair.if_a) for _ in range(3)]
    try:
        for r in rings:
            r.set_cluster(21, ClusterType.ROUND_ROBIN)
            r.enable()
        rings[0].remove_from_cluster()
        send_from_b(veth_pair, frames)
        counts = [len(drain(r)) for r in rings]
    finally:
        for r in rings:
            r.close()
    assert counts == [30, 15, 15]


def test_two_pfcounts_split_per_flow_and_show_in_status(veth_pair):
    from pcap_pfring import status
    tool = os.path.join(os.path.dirname(sys.executable), "pfcount")
    counters = [veth_pair.a.popen([tool, "-i", veth_pair.if_a, "-c", "44", "-H", "4", "-e", "1",
                                   "-d", "4", "--json", "-f", "udp"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    try:
        time.sleep(1.0)
        mine = [r for r in status.list_rings() if r.pid in {c.pid for c in counters}]
        assert len(mine) == 2
        assert all(r.fields["Cluster Id"] == "44" and r.fields["Appl. Name"] == "pfcount"
                   for r in mine)
        sender = os.path.join(os.path.dirname(sys.executable), "pfsend")
        res = veth_pair.b.run([sender, "-i", veth_pair.if_b, "-n", "6400", "-b", "16", "-c", "16",
                               "-M", veth_pair.mac_a.hex(":")], check=False, timeout=30)
        assert res.returncode == 0, res.stderr
        results = [json.loads(c.communicate(timeout=30)[0]) for c in counters]
    finally:
        for c in counters:
            if c.poll() is None:
                c.kill()
                c.wait()
    recv = [r["recv"] for r in results]
    assert sum(recv) == 6400
    # 256 flows of 25 packets each: every member holds whole flows
    assert all(n % 25 == 0 and n > 0 for n in recv), recv
