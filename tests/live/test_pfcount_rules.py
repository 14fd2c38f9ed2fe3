"""pfcount --rule / --policy: PF_RING's filtering rules from the shell, in
the kernel, with each rule's matches in pfcount's statistics."""
import signal
import time

import pytest
from test_tools import json_result, pfcount, pfsend, tool

pytestmark = pytest.mark.needs_root


def test_a_drop_rule_and_a_counting_rule(veth_pair):
    # pfsend -b 4 -S 10.0.0.1: sources 10.0.0.1..4 in turn, 250 frames each
    drop = "rule_id=5,shost=10.0.0.2,proto=17,rule_action=DONT_FORWARD_AND_STOP"
    count = "rule_id=9,proto=0x11,rule_action=EXECUTE_AND_CONTINUE"   # after 5: the rest
    with pfcount(veth_pair, "-d", "20", "--rule", drop, "--rule", count, "--json") as c:
        pfsend(veth_pair, "-n", "1000", "-b", "4", "-c", "1", "-S", "10.0.0.1", "-l", "64")
        time.sleep(0.5)
        stats, err = json_result(c, sig=signal.SIGINT)
    assert stats["recv"] == 750
    assert stats["rules"] == [{"rule_id": 5, "match": 250, "bytes": 250 * 64},
                              {"rule_id": 9, "match": 750, "bytes": 750 * 64}]
    tail = err[err.index("Leaving..."):]
    assert "Rule 5: [250 pkts matched][16'000 bytes]" in tail
    assert "Rule 9: [750 pkts matched][48'000 bytes]" in tail


def test_a_drop_policy_keeps_only_what_a_rule_forwards(veth_pair):
    keep = "rule_id=1,shost=10.0.0.3,rule_action=FORWARD_AND_STOP"
    with pfcount(veth_pair, "-d", "20", "--rule", keep, "--policy", "drop", "--json") as c:
        pfsend(veth_pair, "-n", "1000", "-b", "4", "-c", "1", "-S", "10.0.0.1")
        time.sleep(0.5)
        stats, _ = json_result(c, sig=signal.SIGINT)
    assert (stats["recv"], stats["rules"][0]["match"]) == (250, 250)


@pytest.mark.parametrize("spec, message", [
    ("rule_id=1,port=53", "no field 'port'"),
    ("rule_id=1,dport=53-x", "dport='53-x' is not a number"),
    ("rule_id=1,rule_action=DROP", "rule_action 'DROP' is not one of FORWARD_AND_STOP"),
    ("rule_id=1,sport=2000-1000", "inverted port range"),
    ("rule_id=1,proto=17,proto=6", "proto is given twice"),
])
def test_a_bad_rule_is_one_line_and_status_1(veth_pair, spec, message):
    res = veth_pair.a.run([tool("pfcount"), "-i", veth_pair.if_a, "-d", "1", "--rule", spec],
                          check=False, timeout=30)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("pfcount: ") and message in lines[-1], res.stderr
