"""Hardware rules, rule to ethtool request, without root.

A ``pcap_pfring.hw_rules.HwRule`` becomes a ``hw_filtering_rule``
(``HwRule.to_c``), which libpfring checks and turns into the
ETHTOOL_SRXCLSRLINS request a NIC with n-tuple filters receives
(libpfring/src/hw_encode.c, built here alone with tests/unit/c/hw_encode.c).
The live tests can only see veth refuse the request; here every field of
the request is written out by hand: the command, the flow type, the
location, the action, the match and mask unions (network order) and the
VLAN extension; and every refused rule with its exact message.
"""
import pathlib
import shutil
import subprocess

import pytest

from pcap_pfring._ffi import ffi, lib
from pcap_pfring.hw_rules import DROP, HwRule, HwRuleType

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRXCLSRLINS = 0x32
TCP_V4, UDP_V4, SCTP_V4, IP_USER, FLOW_EXT = 0x01, 0x02, 0x03, 0x0D, 0x80000000
DISC = 0xFFFFFFFFFFFFFFFF


@pytest.fixture(scope="module")
def encode(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    exe = tmp_path_factory.mktemp("hw") / "hw_encode"
    cmd = ["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
           f"-I{ROOT / 'libpfring/include'}", f"-I{ROOT / 'libpfring/src'}", "-o", str(exe),
           str(ROOT / "tests/unit/c/hw_encode.c"), str(ROOT / "libpfring/src/hw_encode.c")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr

    def run(rule, queues=0):
        line = f"{queues} {bytes(ffi.buffer(rule.to_c())).hex()}\n"
        res = subprocess.run([str(exe)], input=line, capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        kind, rest = res.stdout.rstrip("\n").split(" ", 1)
        if kind == "err":
            code, message = rest.split(" ", 1)
            return int(code), message
        c, flow, loc, cookie, h, m, hv, mv = rest.split()
        return {"cmd": int(c, 16), "flow_type": int(flow, 16), "location": int(loc, 16),
                "ring_cookie": int(cookie, 16), "h_u": h, "m_u": m, "h_vlan": hv, "m_vlan": mv}
    return run


def test_struct_sizes():
    assert ffi.sizeof("intel_82599_five_tuple_filter_hw_rule") == 15
    assert ffi.sizeof("intel_82599_perfect_filter_hw_rule") == 17
    assert ffi.sizeof("union hw_filtering_rule_family") == 59   # the Silicom rule is the largest
    assert ffi.sizeof("hw_filtering_rule") == 65
    assert ffi.offsetof("hw_filtering_rule", "rule_id") == 4
    assert lib.PFRING_HW_RULE_DROP_QUEUE == 0xFFFF == DROP


def test_python_writes_host_order():
    c = HwRule(rule_id=9, rule_type=HwRuleType.PERFECT, proto=6, shost="10.1.2.3",
               dhost="192.168.0.1", sport=80, dport=8080, queue_id=3, vlan_id=100).to_c()
    p = c.rule_family.perfect_rule
    assert (c.rule_id, c.rule_family_type) == (9, lib.intel_82599_perfect_filter_rule)
    assert (p.s_addr, p.d_addr, p.s_port, p.d_port) == (0x0A010203, 0xC0A80001, 80, 8080)
    assert (p.proto, p.queue_id, p.vlan_id) == (6, 3, 100)


def test_five_tuple_udp_drop(encode):
    assert encode(HwRule(rule_id=3, proto=17, dhost="10.2.0.1", dport=53)) == {
        "cmd": SRXCLSRLINS, "flow_type": UDP_V4, "location": 3, "ring_cookie": DISC,
        # tcp_ip4_spec: ip4src, ip4dst, psrc, pdst, tos, then the union's zeroes
        "h_u": "00000000" "0a020001" "0000" "0035" "00" "000000",
        "m_u": "00000000" "ffffffff" "0000" "ffff" "00" "000000",
        "h_vlan": "0000", "m_vlan": "0000"}


def test_perfect_tcp_with_vlan_to_a_queue(encode):
    rule = HwRule(rule_id=0, rule_type=HwRuleType.PERFECT, proto=6, shost="10.1.0.1", sport=80,
                  vlan_id=100, queue_id=1)
    assert encode(rule, queues=4) == {
        "cmd": SRXCLSRLINS, "flow_type": TCP_V4 | FLOW_EXT, "location": 0, "ring_cookie": 1,
        "h_u": "0a010001" "00000000" "0050" "0000" "00" "000000",
        "m_u": "ffffffff" "00000000" "ffff" "0000" "00" "000000",
        "h_vlan": "0064", "m_vlan": "0fff"}


def test_sctp_and_the_user_flows(encode):
    assert encode(HwRule(rule_id=1, proto=132, dport=9, queue_id=0))["flow_type"] == SCTP_V4
    # usr_ip4_spec: ip4src, ip4dst, l4_4_bytes, tos, ip_ver (ETH_RX_NFC_IP4), proto
    assert encode(HwRule(rule_id=7)) == {
        "cmd": SRXCLSRLINS, "flow_type": IP_USER, "location": 7, "ring_cookie": DISC,
        "h_u": "00000000" "00000000" "00000000" "00" "01" "00" "00",
        "m_u": "00" * 16, "h_vlan": "0000", "m_vlan": "0000"}
    assert encode(HwRule(rule_id=65535, proto=1, shost="10.0.0.1", queue_id=2), queues=4) == {
        "cmd": SRXCLSRLINS, "flow_type": IP_USER, "location": 65535, "ring_cookie": 2,
        "h_u": "0a000001" "00000000" "00000000" "00" "01" "01" "00",
        "m_u": "ffffffff" "00000000" "00000000" "00" "00" "ff" "00",
        "h_vlan": "0000", "m_vlan": "0000"}


def test_a_drop_needs_no_queue(encode):
    assert encode(HwRule(rule_id=2, proto=17), queues=1)["ring_cookie"] == DISC


@pytest.mark.parametrize("rule, queues, message", [
    (HwRule(rule_id=1, proto=17, queue_id=4), 4,
     "queue_id 4: the device has 4 RX queues (0..3, or 0xFFFF to drop)"),
    (HwRule(rule_id=1, proto=17, queue_id=1), 1,
     "queue_id 1: the device has 1 RX queue (0..0, or 0xFFFF to drop)"),
    (HwRule(rule_id=1, proto=47, sport=1), 0,
     "ports need proto 6 (TCP), 17 (UDP) or 132 (SCTP), not 47"),
    (HwRule(rule_id=1, rule_type=HwRuleType.PERFECT, vlan_id=4096), 0,
     "perfect_rule.vlan_id 4096 is over 4095"),
    (HwRule(rule_id=1, rule_type=3), 0, "rule_family_type 3 is not a hw_filtering_rule_type "
     "(0 intel_82599_five_tuple_rule, 1 intel_82599_perfect_filter_rule, "
     "2 silicom_redirector_rule)"),
])
def test_refused(encode, rule, queues, message):
    assert encode(rule, queues) == (lib.PF_RING_ERROR_INVALID_ARGUMENT, message)


def test_silicom_is_not_supported(encode):
    assert encode(HwRule(rule_id=1, rule_type=2)) == (
        lib.PF_RING_ERROR_NOT_SUPPORTED, "silicom_redirector_rule needs a Silicom redirector "
        "switch, which libpfring does not drive")
