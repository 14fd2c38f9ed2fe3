"""Hardware rules and the filtering mode (pfring_add_hw_rule,
pfring_remove_hw_rule, pfring_set_filtering_mode) on a veth pair.

veth has no n-tuple filters, so every hardware rule is refused with
PF_RING_ERROR_NOT_SUPPORTED and a message naming the device; the tests then
send known frames (each with a serial) from namespace b and assert exactly
which serials the ring's software rules let through.  Bad input is refused
before the device is asked, so it is tested here too.
"""

import pytest

from pcap_pfring._ffi import ffi, lib
from pcap_pfring.errors import InvalidArgumentError, InvalidStatusError, NotSupportedError
from pcap_pfring.hw_rules import DROP, FilteringMode, HwRule, HwRuleType
from pcap_pfring.rules import Rule, RuleAction
from pcap_pfring.testing.fixtures import drain, send_from_b
from pcap_pfring.testing.serials import open_ring, packet, serials

pytestmark = pytest.mark.needs_root



def not_supported_text(dev):
    return f"hardware rules are not supported by '{dev}' (ethtool n-tuple: Operation not supported)"


DROP_DPORT_53 = HwRule(rule_id=3, proto=17, dhost="10.2.0.1", dport=53, queue_id=DROP)


@pytest.mark.parametrize("rule", [
    DROP_DPORT_53,
    HwRule(rule_id=0, rule_type=HwRuleType.PERFECT, proto=6, shost="10.1.0.1", sport=80,
           vlan_id=100, queue_id=0),
    HwRule(rule_id=7, proto=0),                        # every IPv4 packet, dropped
    HwRule(rule_id=8, proto=1, queue_id=0),            # ICMP to queue 0
], ids=["five-tuple-drop", "perfect-vlan-queue", "any-ipv4", "icmp"])
def test_veth_refuses_a_hw_rule_naming_the_device(veth_pair, rule):
    with open_ring(veth_pair) as ring:
        with pytest.raises(NotSupportedError) as ei:
            ring.add_hw_rule(rule)
        assert str(ei.value) == not_supported_text(veth_pair.if_a)
        assert ei.value.code == lib.PF_RING_ERROR_NOT_SUPPORTED
        assert ring.last_error == not_supported_text(veth_pair.if_a)
        with pytest.raises(NotSupportedError) as ei:
            ring.remove_hw_rule(rule.rule_id)
        assert str(ei.value) == not_supported_text(veth_pair.if_a)


def test_software_rules_keep_filtering_after_the_refusal(veth_pair):
    # serials 0..9 from 10.1.0.1, 10..19 from 10.1.0.2; the drop rule takes the second source
    frames = [packet(veth_pair, i, src="10.1.0.1" if i < 10 else "10.1.0.2") for i in range(20)]
    with open_ring(veth_pair) as ring:
        ring.add_rule(Rule(rule_id=4, shost="10.1.0.2",
                           rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        ring.set_filtering_mode(FilteringMode.HARDWARE_AND_SOFTWARE)
        with pytest.raises(NotSupportedError):
            ring.add_hw_rule(DROP_DPORT_53)
        ring.enable()
        send_from_b(veth_pair, frames)
        assert serials(drain(ring, quiet=0.4)) == list(range(10))
        st = ring.rule_stats(4)
        assert (st.match, st.filtered, st.match_forward) == (10, 10, 0)
        # a rule added after the refusal works as well
        ring.add_rule(Rule(rule_id=2, dport=2001, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        send_from_b(veth_pair, [packet(veth_pair, 100 + i, dport=2000 + i % 2) for i in range(6)])
        assert serials(drain(ring, quiet=0.4)) == [100, 102, 104]
        assert ring.rule_stats(2).match == 3


def test_filtering_modes(veth_pair):
    with open_ring(veth_pair) as ring:
        assert ring.filtering_mode is FilteringMode.SOFTWARE_ONLY
        ring.set_filtering_mode(FilteringMode.HARDWARE_AND_SOFTWARE)
        assert ring.filtering_mode is FilteringMode.HARDWARE_AND_SOFTWARE
        with pytest.raises(NotSupportedError) as ei:
            ring.set_filtering_mode(FilteringMode.HARDWARE_ONLY)
        assert str(ei.value) == not_supported_text(veth_pair.if_a)
        assert ring.filtering_mode is FilteringMode.HARDWARE_AND_SOFTWARE   # unchanged
        ring.set_filtering_mode(FilteringMode.SOFTWARE_ONLY)
        assert ring.filtering_mode is FilteringMode.SOFTWARE_ONLY
        # the software rules run in the software modes
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, shost="10.1.0.1"))
        ring.enable()
        send_from_b(veth_pair, [packet(veth_pair, i, src=f"10.1.0.{1 + i % 2}") for i in range(8)])
        assert serials(drain(ring, quiet=0.4)) == [0, 2, 4, 6]
        ring.set_filtering_mode(FilteringMode.HARDWARE_AND_SOFTWARE)
        send_from_b(veth_pair, [packet(veth_pair, 10 + i, src=f"10.1.0.{1 + i % 2}")
                                for i in range(4)])
        assert serials(drain(ring, quiet=0.4)) == [10, 12]
        assert ring.rule_stats(1).match == 6


@pytest.mark.parametrize("rule, message", [
    (HwRule(rule_id=5, rule_type=7), "hardware rule 5: rule_family_type 7 is not a "
     "hw_filtering_rule_type (0 intel_82599_five_tuple_rule, 1 intel_82599_perfect_filter_rule, "
     "2 silicom_redirector_rule)"),
    (HwRule(rule_id=5, proto=1, dport=53), "hardware rule 5: ports need proto 6 (TCP), "
     "17 (UDP) or 132 (SCTP), not 1"),
    (HwRule(rule_id=6, sport=1), "hardware rule 6: ports need proto 6 (TCP), 17 (UDP) or "
     "132 (SCTP), not 0"),
    (HwRule(rule_id=9, rule_type=HwRuleType.PERFECT, proto=17, vlan_id=5000),
     "hardware rule 9: perfect_rule.vlan_id 5000 is over 4095"),
])
def test_bad_rules_are_invalid_arguments(veth_pair, rule, message):
    with open_ring(veth_pair) as ring:
        with pytest.raises(InvalidArgumentError) as ei:
            ring.add_hw_rule(rule)
        assert str(ei.value) == message
        assert ei.value.code == lib.PF_RING_ERROR_INVALID_ARGUMENT


def test_other_bad_input(veth_pair):
    with open_ring(veth_pair) as ring:
        h = ring._h()
        assert lib.pfring_add_hw_rule(h, ffi.NULL) == lib.PF_RING_ERROR_INVALID_ARGUMENT
        assert ring.last_error == "rule is NULL"
        with pytest.raises(NotSupportedError) as ei:        # a family libpfring does not drive
            ring.add_hw_rule(HwRule(rule_id=1, rule_type=2))
        assert str(ei.value) == ("hardware rule 1: silicom_redirector_rule needs a Silicom "
                                 "redirector switch, which libpfring does not drive")
        for mode in (3, 7, 0x7FFFFFFF):
            with pytest.raises(InvalidArgumentError) as ei:
                ring.set_filtering_mode(mode)
            assert str(ei.value) == (f"mode {mode} is not a filtering_mode (0 "
                                     "hardware_and_software, 1 hardware_only, 2 software_only)")
        with pytest.raises(InvalidArgumentError, match=r"mode -1 is out of range \(0\.\.4294967295\)"):
            ring.set_filtering_mode(-1)
        assert ring.filtering_mode is FilteringMode.SOFTWARE_ONLY
        # the Python side: types and what the struct cannot hold
        with pytest.raises(TypeError):
            ring.add_hw_rule(Rule(rule_id=1))
        with pytest.raises(TypeError):
            ring.set_filtering_mode("hardware_only")
        with pytest.raises(InvalidArgumentError, match="shost '::1' is not an IPv4 address"):
            ring.add_hw_rule(HwRule(rule_id=1, shost="::1"))
        with pytest.raises(InvalidArgumentError, match="dport 70000 is out of range"):
            ring.add_hw_rule(HwRule(rule_id=1, proto=6, dport=70000))
        with pytest.raises(InvalidArgumentError, match="only a perfect filter rule"):
            ring.add_hw_rule(HwRule(rule_id=1, vlan_id=10))
        with pytest.raises(InvalidArgumentError, match="rule_id 65536"):
            ring.remove_hw_rule(65536)


def test_rings_on_no_or_several_devices_refuse(veth_pair):
    with open_ring(veth_pair, f"{veth_pair.if_a},lo") as ring:
        for call in (lambda: ring.add_hw_rule(DROP_DPORT_53),
                     lambda: ring.remove_hw_rule(3),
                     lambda: ring.set_filtering_mode(FilteringMode.HARDWARE_ONLY)):
            with pytest.raises(NotSupportedError) as ei:
                call()
            assert str(ei.value) == (f"hardware rules are set on one device, and this ring is "
                                     f"on 2 ('{veth_pair.if_a}' and more): open a ring per "
                                     "device for its rules")
    with open_ring(veth_pair, "any") as ring:
        with pytest.raises(NotSupportedError) as ei:
            ring.add_hw_rule(DROP_DPORT_53)
        assert str(ei.value) == ("hardware rules need a ring on a network device; 'any' is "
                                 "not one")
        ring.set_filtering_mode(FilteringMode.HARDWARE_AND_SOFTWARE)   # no device needed


def test_lo_has_no_ntuple_filters_either(veth_pair):
    with open_ring(veth_pair, "lo") as ring:
        with pytest.raises(NotSupportedError) as ei:
            ring.add_hw_rule(DROP_DPORT_53)
        assert str(ei.value) == not_supported_text("lo")


def test_closed_ring(veth_pair):
    ring = open_ring(veth_pair)
    h = ring._h()
    ring.close()
    rule = DROP_DPORT_53.to_c()
    for rc in (lib.pfring_add_hw_rule(h, rule), lib.pfring_remove_hw_rule(h, 3),
               lib.pfring_set_filtering_mode(h, lib.software_only),
               lib.pfring_get_filtering_mode(h)):
        assert rc == lib.PF_RING_ERROR_INVALID_STATUS
    with pytest.raises(InvalidStatusError, match="ring used after close"):
        ring.add_hw_rule(DROP_DPORT_53)
