"""pfring-rules' rules file, read without root: comments, blank lines, hash
rules, and each bad line named by file and line (the live tests add the
rules libpfring refuses and run the tool)."""
import pytest

from pcap_pfring.cli.pfrules import RulesFileError, build_parser, parse_hash_rule, read_rules
from pcap_pfring.rules import HashRule, Rule, RuleAction


def test_comments_blank_lines_and_hash_rules(tmp_path):
    path = tmp_path / "r.rules"
    path.write_text("# heading\n\n  rule_id=1,proto=17 # trailing\n"
                    "hash:host_peer_a=10.0.0.1,host_peer_b=10.0.0.2,proto=6,port_peer_a=0x50,"
                    "port_peer_b=1024,rule_action=dont_forward_and_stop\n")
    entries = read_rules(str(path))
    assert [e.line for e in entries] == [3, 4]
    assert entries[0].rule == Rule(rule_id=1, proto=17)
    assert entries[1].rule == HashRule("10.0.0.1", "10.0.0.2", port_peer_a=80, port_peer_b=1024,
                                       proto=6,
                                       rule_action=RuleAction.DONT_FORWARD_AND_STOP)


@pytest.mark.parametrize("text, message", [
    ("hash:host_peer_a=10.0.0.1,host_peer_b=10.0.0.2,proto\n", "proto needs a value"),
    ("hash:host_peer_a=10.0.0.1,host_peer_b=10.0.0.2,proto=x\n", "proto='x' is not a number"),
    ("hash:host_peer_a=10.0.0.1,host_peer_b=10.0.0.2,proto=6,proto=17\n", "proto is given twice"),
    ("hash:host_peer_a=10.0.0.1,host_peer_b=10.0.0.2,rule_action=DROP\n",
     "rule_action 'DROP' is not one of FORWARD_AND_STOP"),
    ("hash:host_peer_a=10.0.0.1,host_peer_b=10.0.0.2/24\n", "not a prefix"),
    ("rule_id=70000\n", "rule_id 70000 is out of range (0..65535)"),
    ("rule_id=1,shost=10.0.0.256\n", "is not an IPv4 or IPv6 address"),
])
def test_bad_lines(tmp_path, text, message):
    path = tmp_path / "bad.rules"
    path.write_text("# ok so far\n" + text)
    with pytest.raises(RulesFileError) as ei:
        read_rules(str(path))
    assert str(ei.value).startswith(f"{path}:2: ") and message in str(ei.value), str(ei.value)


def test_parse_hash_rule_needs_both_peers():
    with pytest.raises(ValueError, match="a hash rule needs host_peer_a"):
        parse_hash_rule("host_peer_b=10.0.0.1")


def test_the_rules_file_is_required(capsys):
    with pytest.raises(SystemExit) as ei:
        build_parser().parse_args(["-i", "eth0"])
    assert ei.value.code == 2
    assert "-f" in capsys.readouterr().err


def test_text_shows_the_hash_rules_an_add_or_delete_rule_made():
    from pcap_pfring.cli.pfrules import Report
    common = {"match": 3, "filtered": 0, "match_forward": 3, "bytes": 180}
    snap = {"recv": 6, "bytes": 360, "drop": 0, "time_s": 1.0, "hash_rules": [],
            "rules": [dict(common, rule_id=1, action="FORWARD_ADD_RULE_AND_STOP",
                           hash_added=3, hash_refused=1),
                      dict(common, rule_id=2, action="FORWARD_DEL_RULE_AND_STOP",
                           hash_deleted=2),
                      dict(common, rule_id=3, action="FORWARD_AND_STOP")]}
    lines = Report.text(snap).splitlines()
    assert lines[2:5] == [
        "Rule 1 [FORWARD_ADD_RULE_AND_STOP]: [3 pkts matched][180 bytes][0 dropped]"
        "[3 forwarded][3 hash rules added][1 refused]",
        "Rule 2 [FORWARD_DEL_RULE_AND_STOP]: [3 pkts matched][180 bytes][0 dropped]"
        "[3 forwarded][2 hash rules deleted]",
        "Rule 3 [FORWARD_AND_STOP]: [3 pkts matched][180 bytes][0 dropped][3 forwarded]"]
