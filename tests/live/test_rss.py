"""RSS rehash and the symmetric RSS key, on veth pairs with 4 queues.

With ``enable_rss_rehash`` the channel of a packet is PF_RING's symmetric
per_flow hash modulo the device's RX queues, whatever queue it came on or
left by: the rings of ``eth0@0`` .. ``eth0@3`` share the traffic, each flow
(both directions, every fragment) whole in the ring the reference hash
predicts.  ``fwd`` frames are received on veth0, ``rev`` frames transmitted.
"""
import pytest

from pcap_pfring import ClusterType, Flags, InvalidStatusError, Ring, open_multichannel
from pcap_pfring.testing.fixtures import collect, drain
from pcap_pfring.testing.flows import make_flows, predicted, send, send_flows

pytestmark = pytest.mark.needs_root

QUEUES = 4


def where(rings_frames):
    out = {}
    for i, frames in enumerate(rings_frames):
        for d in frames:
            assert d not in out, "a frame reached two rings"
            out[d] = i
    return out


def test_multichannel_rings_with_rehash_split_flows_whole(veth_pair_mq):
    pair = veth_pair_mq
    flows = make_flows(pair, 400, seed=5)
    with pair.a.enter():
        rings = open_multichannel(pair.if_a)
        whole = Ring(pair.if_a)
    try:
        assert len(rings) == QUEUES
        for r in [*rings, whole]:
            r.enable_rss_rehash()
            r.enable()
        send_flows(pair, flows)
        got = [[d for _, d in drain(r)] for r in rings]
        everything = [d for _, d in drain(whole)]
    finally:
        for r in [*rings, whole]:
            r.close()
    sent = [d for f in flows for d in (f.fwd, f.rev)]
    assert sorted(everything) == sorted(sent)             # no @Y: rehash changes nothing
    at = where(got)
    assert sorted(at) == sorted(sent)                     # each frame exactly once
    for f in flows:
        assert at[f.fwd] == at[f.rev] == predicted(ClusterType.PER_FLOW, f.fwd, f.vlan,
                                                   QUEUES), f
    assert all(got), [len(g) for g in got]


def test_rehash_after_enable_rebuilds_the_filter(veth_pair_mq):
    pair = veth_pair_mq
    first, second = make_flows(pair, 120, seed=6), make_flows(pair, 120, seed=7)
    with pair.a.enter():
        ring = Ring(f"{pair.if_a}@1", enable=True)
    with ring:
        send_flows(pair, first)
        by_queue = [d for _, d in drain(ring)]
        ring.enable_rss_rehash()                          # enabled: re-attached now
        ring.enable_rss_rehash()                          # twice is harmless
        send_flows(pair, second)
        rehashed = [d for _, d in drain(ring)]
    # by RX/TX queue, the two directions of a flow are not kept together
    assert len(by_queue) < 2 * len(first)
    want = [d for f in second if predicted(ClusterType.PER_FLOW, f.fwd, f.vlan, QUEUES) == 1
            for d in (f.fwd, f.rev)]
    assert want and sorted(rehashed) == sorted(want)
    with pytest.raises(InvalidStatusError):
        ring.enable_rss_rehash()                          # closed


def test_rehash_on_a_queue_set_and_with_a_bpf_filter(veth_pair_mq):
    pair = veth_pair_mq
    flows = make_flows(pair, 200, seed=8, kinds=("ipv4", "ipv6"))
    with pair.a.enter():
        ring = Ring(f"{pair.if_a}@0,3")
    with ring:
        ring.enable_rss_rehash()                          # before enable
        ring.set_bpf_filter("ip")                         # the user's filter after it
        ring.enable()
        send_flows(pair, flows)
        got = [d for _, d in drain(ring)]
    want = [d for f in flows if f.kind == "ipv4"
            and predicted(ClusterType.PER_FLOW, f.fwd, f.vlan, QUEUES) in (0, 3)
            for d in (f.fwd, f.rev)]
    assert want and sorted(got) == sorted(want)


def test_symmetric_rss_on_veth_warns_and_captures(veth_pair, capfd):
    """veth has no RSS key: the open succeeds with one warning naming the
    device (found through the ring's socket in namespace a, or the error
    would be 'No such device'), and the ring captures as usual."""
    capfd.readouterr()
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, flags=Flags.ZC_SYMMETRIC_RSS, enable=True)
        plain = Ring(veth_pair.if_a, enable=True)
    text = ("veth0: the NIC does not support a symmetric RSS key (Operation not supported); "
            "RSS is left as it is")
    with ring, plain:
        assert capfd.readouterr().err.splitlines() == [f"pfring: warning: {text}"]
        assert ring.last_error == text
        assert plain.last_error == ""
        flows = make_flows(veth_pair, 20, seed=9)
        send(veth_pair, [f.fwd for f in flows])
        assert [d for _, d in collect(ring, 20)] == [f.fwd for f in flows]
        assert drain(ring) == []
