"""pfring-rules: a rules file into a ring, each rule's statistics every
second and at the end.  Frames come from pfsend in namespace b (-b 4 -S
10.0.0.1: sources 10.0.0.1..4 in turn, to 192.168.0.1, UDP 10000 -> 9), and
every count is asserted exactly."""
import json
import signal
import time

import pytest
from test_tools import Tool, pfsend, tool

pytestmark = pytest.mark.needs_root

RULES = """\
# drop one source, count the rest of UDP
rule_id=5,shost=10.0.0.2,proto=17,rule_action=DONT_FORWARD_AND_STOP   # 250 of 1000

rule_id=9,proto=0x11,rule_action=EXECUTE_AND_CONTINUE
hash:host_peer_a=192.168.0.1,host_peer_b=10.0.0.3,proto=17,port_peer_a=9,port_peer_b=10000,rule_action=DONT_FORWARD_AND_STOP
"""


def pfrules(pair, rules_path, *args):
    t = Tool(pair.a, "pfring-rules", "-i", pair.if_a, "-e", "1", "-f", str(rules_path), *args)
    try:
        t.wait_err("rules from")
    except BaseException:
        t.kill()
        raise
    return t


def write(tmp_path, text):
    path = tmp_path / "test.rules"
    path.write_text(text)
    return path


def test_rules_file_gives_exact_per_rule_stats_json(veth_pair, tmp_path):
    path = write(tmp_path, RULES)
    with pfrules(veth_pair, path, "-d", "30", "--json") as t:
        pfsend(veth_pair, "-n", "1000", "-b", "4", "-c", "1", "-S", "10.0.0.1", "-l", "64")
        time.sleep(1.5)                      # drained, and at least one tick printed
        rc, out, err = t.finish(30, signal.SIGINT)
    assert rc == 0, err
    objs = [json.loads(line) for line in out.splitlines()]
    assert len(objs) >= 2 and [o["final"] for o in objs] == [False] * (len(objs) - 1) + [True]
    final = objs[-1]
    # the hash rule runs first and takes 10.0.0.3 (either direction); the
    # wildcard rules see the other 750: rule 5 drops 10.0.0.2, rule 9 counts 500
    assert (final["recv"], final["bytes"], final["drop"]) == (500, 500 * 64, 0)
    assert final["rules"] == [
        {"rule_id": 5, "line": 2, "action": "DONT_FORWARD_AND_STOP", "match": 250,
         "filtered": 250, "match_forward": 0, "bytes": 250 * 64},
        {"rule_id": 9, "line": 4, "action": "EXECUTE_AND_CONTINUE", "match": 500,
         "filtered": 0, "match_forward": 0, "bytes": 500 * 64}]
    assert final["hash_rules"] == [
        {"line": 5, "flow": "192.168.0.1:9 <-> 10.0.0.3:10000 proto 17",
         "action": "DONT_FORWARD_AND_STOP", "match": 250, "filtered": 250, "match_forward": 0,
         "bytes": 250 * 64}]
    assert "Leaving..." in err and "3 rules from" in err


def test_text_output_and_drop_policy(veth_pair, tmp_path):
    path = write(tmp_path, "rule_id=1,shost=10.0.0.3,rule_action=FORWARD_AND_STOP\n")
    with pfrules(veth_pair, path, "-d", "30", "--policy", "drop") as t:
        pfsend(veth_pair, "-n", "1000", "-b", "4", "-c", "1", "-S", "10.0.0.1", "-l", "60")
        time.sleep(1.5)
        rc, out, err = t.finish(30, signal.SIGINT)
    assert rc == 0, err
    final = out.split("=========================\n")[-2]
    assert final.splitlines()[0].startswith("Ring: [250 pkts rcvd][15'000 bytes rcvd]"
                                            "[0 pkts dropped][")
    assert final.splitlines()[1] == ("Rule 1 [FORWARD_AND_STOP]: [250 pkts matched]"
                                     "[15'000 bytes][0 dropped][250 forwarded]")
    assert out.count("Ring: [") >= 2                          # a tick and the end
    assert "(policy: drop)" in err


def test_quiet_prints_only_the_final_stats(veth_pair, tmp_path):
    path = write(tmp_path, "rule_id=3,proto=17,rule_action=DONT_FORWARD_AND_STOP\n")
    res = veth_pair.a.run([tool("pfring-rules"), "-i", veth_pair.if_a, "-f", str(path), "-d",
                           "1.5", "-q", "--json"], check=False, timeout=30)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 1
    final = json.loads(lines[0])
    assert final["final"] is True and final["rules"][0]["rule_id"] == 3
    assert "Using PF_RING" not in res.stderr


@pytest.mark.parametrize("text, where, message", [
    ("rule_id=1,proto=17\nrule_id=2,port=53\n", 2, "no field 'port'"),
    ("# c\n\nrule_id=1,dport=53-x\n", 3, "dport='53-x' is not a number"),
    ("rule_id=1,rule_action=DROP\n", 1, "rule_action 'DROP' is not one of FORWARD_AND_STOP"),
    ("rule_id=1,sport=2000-1000\n", 1, "inverted port range"),
    ("rule_id=4,proto=17\nrule_id=4,proto=6\n", 2, "rule_id 4 is already a filtering rule"),
    ("hash:host_peer_a=10.0.0.1\n", 1, "a hash rule needs host_peer_b"),
    ("hash:host_peer_a=10.0.0.1,host_peer_b=10.0.0.2,port=1\n", 1, "no hash rule field 'port'"),
    ("hash:host_peer_a=10.0.0.1,host_peer_b=::1\n", 1, "must be of one IP version"),
    ("hash:host_peer_a=10.0.0.1,host_peer_b=10.0.0.2,ip_version=5\n", 1, "ip_version"),
], ids=["field", "number", "action", "range", "duplicate", "hash-peer", "hash-field",
        "hash-version", "hash-ip-version"])
def test_a_bad_line_names_file_and_line_and_installs_nothing(veth_pair, tmp_path, text, where,
                                                              message):
    path = write(tmp_path, text)
    res = veth_pair.a.run([tool("pfring-rules"), "-i", veth_pair.if_a, "-f", str(path),
                           "-d", "1"], check=False, timeout=30)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr                     # before any ring was enabled
    assert lines[0].startswith(f"pfring-rules: {path}:{where}: "), lines[0]
    assert message in lines[0], lines[0]
    assert res.stdout == ""


def test_missing_or_empty_file(veth_pair, tmp_path):
    for path, message in ((tmp_path / "none.rules", "No such file or directory"),
                          (write(tmp_path, "# nothing\n\n"), "no rules in the file")):
        res = veth_pair.a.run([tool("pfring-rules"), "-i", veth_pair.if_a, "-f", str(path)],
                              check=False, timeout=30)
        assert res.returncode == 2
        assert res.stderr.strip() == f"pfring-rules: {path}: {message}"


def test_add_and_delete_rule_actions_count_their_hash_rules(veth_pair, tmp_path):
    # 10.0.0.1's 250 frames: the first adds its flow (rule 1), the next
    # one's hash rule decides, and rule 2 deletes the rule; and so on: 125
    # adds, 125 deletes, every frame forwarded.  The policy drops the rest.
    path = write(tmp_path, "rule_id=1,shost=10.0.0.1,rule_action=FORWARD_ADD_RULE_AND_STOP\n"
                           "rule_id=2,shost=10.0.0.1,rule_action=FORWARD_DEL_RULE_AND_STOP\n")
    with pfrules(veth_pair, path, "-d", "30", "--policy", "drop", "--json") as t:
        pfsend(veth_pair, "-n", "1000", "-b", "4", "-c", "1", "-S", "10.0.0.1", "-l", "60")
        time.sleep(1.5)
        rc, out, err = t.finish(30, signal.SIGINT)
    assert rc == 0, err
    final = json.loads(out.splitlines()[-1])
    assert final["final"] and (final["recv"], final["drop"]) == (250, 0)
    assert final["rules"] == [
        {"rule_id": 1, "line": 1, "action": "FORWARD_ADD_RULE_AND_STOP", "match": 125,
         "filtered": 0, "match_forward": 125, "bytes": 125 * 60, "hash_added": 125,
         "hash_refused": 0},
        {"rule_id": 2, "line": 2, "action": "FORWARD_DEL_RULE_AND_STOP", "match": 125,
         "filtered": 0, "match_forward": 125, "bytes": 125 * 60, "hash_deleted": 125}]
