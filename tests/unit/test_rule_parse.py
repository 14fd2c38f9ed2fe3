"""Rule.parse: a rule from one line of field=value items (pfcount --rule)."""
import pytest

from pcap_pfring import InvalidArgumentError
from pcap_pfring._ffi import ffi
from pcap_pfring.rules import Rule, RuleAction


def test_fields_values_and_flags():
    r = Rule.parse("rule_id=7, proto=17 ,sport=1000-2000,dport=0x35,shost=10.0.0.0/8,"
                   "rule_action=dont_forward_and_stop,locked,bidirectional=no,vlan_id=12,"
                   "smac=02:00:00:00:00:01")
    assert r == Rule(rule_id=7, proto=17, sport=(1000, 2000), dport=53, shost="10.0.0.0/8",
                     rule_action=RuleAction.DONT_FORWARD_AND_STOP, locked=True,
                     bidirectional=False, vlan_id=12, smac="02:00:00:00:00:01")
    assert Rule.parse("") == Rule()


def test_reflect_and_tunnel_fields():
    r = Rule.parse("rule_id=3,rule_action=reflect_and_stop,reflector_device_name=rf0,"
                   "tunnel_id=0x1234")
    assert r == Rule(rule_id=3, rule_action=RuleAction.REFLECT_AND_STOP,
                     reflector_device_name="rf0", tunnel_id=0x1234)
    c = r.to_c()
    assert ffi.string(c.reflector_device_name) == b"rf0"
    assert (c.extended_fields.optional_fields, c.extended_fields.tunnel.tunnel_id) == (1, 0x1234)
    assert Rule.parse("rule_action=BOUNCE_AND_CONTINUE").rule_action == RuleAction.BOUNCE_AND_CONTINUE


def test_payload_pattern_text_and_escapes():
    assert Rule.parse("payload_pattern=GET /x").payload_pattern == "GET /x"
    assert Rule.parse(r"payload_pattern=a\x2cb\\c\x7F").payload_pattern == b"a,b\\c\x7f"
    assert Rule.parse(r"proto=6,payload_pattern=\x20HTTP").payload_pattern == b" HTTP"


@pytest.mark.parametrize("text, message", [
    ("port=1", "no field 'port'"),
    ("proto", "proto needs a value"),
    ("proto=", "proto needs a value"),
    ("proto=udp", "proto='udp' is not a number"),
    ("sport=1-", "sport='1-' is not a number"),
    ("locked=maybe", "locked='maybe' is not a boolean"),
    ("rule_action=reflect", "rule_action 'reflect' is not one of"),
    ("proto=6,proto=17", "proto is given twice"),
    ("payload_pattern=", "payload_pattern needs a value"),
    (r"payload_pattern=a\x4", r"payload_pattern 'a\\\\x4' has a bad escape at '\\\\x4'"),
    (r"payload_pattern=a\n", r"has a bad escape at '\\\\n'"),
])
def test_bad_text_is_a_clear_error(text, message):
    with pytest.raises(InvalidArgumentError, match=message):
        Rule.parse(text)
