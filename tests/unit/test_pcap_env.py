"""PCAP_PF_RING_* parsing (shared by the libpcap drop-in and the Python shim)."""
import pytest

from pcap_pfring import ClusterType, lib
from pcap_pfring.env import parse

VARS = ["PCAP_NO_PF_RING", "PCAP_PF_RING_ACTIVE_POLL", "PCAP_PF_RING_DNA_RSS",
        "PCAP_PF_RING_ZC_RSS", "PCAP_PF_RING_STRIP_HW_TIMESTAMP", "PCAP_PF_RING_HW_TIMESTAMP",
        "PCAP_PF_RING_USERSPACE_BPF", "PCAP_PF_RING_RECV_ONLY", "PCAP_PF_RING_CLUSTER_ID",
        "PCAP_PF_RING_APPNAME", "PCAP_PF_RING_RSS_REHASH", "PCAP_PF_RING_ALWAYS_SYNC_FD"]
CLUSTER_VARS = [
    ("PER_FLOW", ClusterType.PER_FLOW), ("PER_FLOW_2_TUPLE", ClusterType.PER_FLOW_2_TUPLE),
    ("PER_FLOW_4_TUPLE", ClusterType.PER_FLOW_4_TUPLE),
    ("PER_FLOW_TCP_5_TUPLE", ClusterType.PER_FLOW_TCP_5_TUPLE),
    ("PER_FLOW_5_TUPLE", ClusterType.PER_FLOW_5_TUPLE), ("ROUNDROBIN", ClusterType.ROUND_ROBIN),
    ("PER_INNER_FLOW", ClusterType.PER_INNER_FLOW),
    ("PER_INNER_FLOW_2_TUPLE", ClusterType.PER_INNER_FLOW_2_TUPLE),
    ("PER_INNER_FLOW_4_TUPLE", ClusterType.PER_INNER_FLOW_4_TUPLE),
    ("PER_INNER_FLOW_5_TUPLE", ClusterType.PER_INNER_FLOW_5_TUPLE),
    ("PER_INNER_FLOW_TCP_5_TUPLE", ClusterType.PER_INNER_FLOW_TCP_5_TUPLE),
    ("PER_FLOW_IP_5_TUPLE", ClusterType.PER_FLOW_IP_5_TUPLE),
    ("PER_INNER_FLOW_IP_5_TUPLE", ClusterType.PER_INNER_FLOW_IP_5_TUPLE),
    ("PER_FLOW_IP_WITH_DUP_TUPLE", ClusterType.PER_FLOW_IP_WITH_DUP_TUPLE),
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os
    for k in list(os.environ):
        if k.startswith("PCAP_PF_RING_") or k == "PCAP_NO_PF_RING":
            monkeypatch.delenv(k)


def test_nothing_set():
    env = parse()
    assert (env.no_pf_ring, env.active_poll, env.open_flags, env.recv_only, env.cluster_id,
            env.cluster_type, env.appname, env.rss_rehash) == (False, False, 0, False, 0, None,
                                                               None, False)


@pytest.mark.parametrize("value", ["", "0", "yes"])
def test_presence_variables(monkeypatch, value):
    for k in ("PCAP_NO_PF_RING", "PCAP_PF_RING_RECV_ONLY", "PCAP_PF_RING_ZC_RSS",
              "PCAP_PF_RING_STRIP_HW_TIMESTAMP", "PCAP_PF_RING_USERSPACE_BPF"):
        monkeypatch.setenv(k, value)
    env = parse()
    assert env.no_pf_ring and env.recv_only
    assert env.open_flags == (lib.PF_RING_ZC_SYMMETRIC_RSS | lib.PF_RING_STRIP_HW_TIMESTAMP
                              | lib.PF_RING_USERSPACE_BPF)


def test_dna_rss_alias_and_hw_timestamp(monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_DNA_RSS", "")
    monkeypatch.setenv("PCAP_PF_RING_HW_TIMESTAMP", "1")
    assert parse().open_flags == lib.PF_RING_ZC_SYMMETRIC_RSS | lib.PF_RING_HW_TIMESTAMP


@pytest.mark.parametrize("value, on", [("1", True), ("7", True), ("0", False)])
def test_number_variables(monkeypatch, value, on):
    for k in ("PCAP_PF_RING_ACTIVE_POLL", "PCAP_PF_RING_RSS_REHASH", "PCAP_PF_RING_ALWAYS_SYNC_FD"):
        monkeypatch.setenv(k, value)
    env = parse()
    assert (env.active_poll, env.rss_rehash, env.always_sync_fd) == (on, on, on)


def test_cluster_id_alone_is_round_robin(monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "12")
    env = parse()
    assert (env.cluster_id, env.cluster_type) == (12, ClusterType.ROUND_ROBIN)


@pytest.mark.parametrize("i", range(len(CLUSTER_VARS)))
def test_cluster_type_precedence(monkeypatch, i):
    """Each variable wins over every variable after it in PF_RING's order."""
    monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "3")
    for suffix, _ in CLUSTER_VARS[i:]:
        monkeypatch.setenv(f"PCAP_PF_RING_USE_CLUSTER_{suffix}", "")
    assert parse().cluster_type == CLUSTER_VARS[i][1]


def test_cluster_vars_need_a_valid_id(monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_USE_CLUSTER_PER_FLOW", "1")
    assert parse().cluster_id == 0


@pytest.mark.parametrize("value, warning", [
    ("0", "PCAP_PF_RING_CLUSTER_ID=0 is out of range (1..254); not clustering"),
    ("255", "PCAP_PF_RING_CLUSTER_ID=255 is out of range (1..254); not clustering"),
    ("-4", "out of range"), ("abc", "PCAP_PF_RING_CLUSTER_ID='abc' is not a number; not clustering"),
    ("12x", "is not a number"), ("", "is not a number"),
])
def test_bad_cluster_id(monkeypatch, capfd, value, warning):
    monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", value)
    assert parse().cluster_id == 0
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and warning in err


def test_bad_numbers_warn(monkeypatch, capfd):
    monkeypatch.setenv("PCAP_PF_RING_ACTIVE_POLL", "fast")
    monkeypatch.setenv("PCAP_PF_RING_RSS_REHASH", "1.5")
    env = parse()
    assert not env.active_poll and not env.rss_rehash
    err = capfd.readouterr().err.splitlines()
    assert err == ["pfring: warning: PCAP_PF_RING_ACTIVE_POLL='fast' is not a number; active polling stays off",
                   "pfring: warning: PCAP_PF_RING_RSS_REHASH='1.5' is not a number; RSS re-hashing stays off"]


def test_a_bad_value_is_shown_on_one_line_and_cut(monkeypatch, capfd):
    monkeypatch.setenv("PCAP_PF_RING_ACTIVE_POLL", "1\nCluster Id : 66")
    monkeypatch.setenv("PCAP_PF_RING_RSS_REHASH", "9" * 200)
    parse()
    err = capfd.readouterr().err.splitlines()
    assert err == ["pfring: warning: PCAP_PF_RING_ACTIVE_POLL='1?Cluster Id : 66' is not a number; "
                   "active polling stays off",
                   "pfring: warning: PCAP_PF_RING_RSS_REHASH='" + "9" * 80 + "...' is not a number; "
                   "RSS re-hashing stays off"]


@pytest.mark.parametrize("name, kept", [("a", "a"), ("x" * 32, "x" * 32), ("", None),
                                        ("y" * 33, None)])
def test_appname(monkeypatch, capfd, name, kept):
    monkeypatch.setenv("PCAP_PF_RING_APPNAME", name)
    assert parse().appname == kept
    err = capfd.readouterr().err
    assert ("PCAP_PF_RING_APPNAME must be 1..32 characters" in err) == (kept is None)
