"""PF_RING's libpcap environment variables, seen through an unmodified
tcpdump: every variable keeps the capture on a ring (or says why not), the
captured packets stay exact, and malformed values get one warning line that
names the variable."""
import shutil

import pytest

from pcap_pfring import status
from pcap_pfring.testing.compat import flow_frames, read_pcap, send, tcpdump

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(shutil.which("tcpdump") is None,
                                 reason="tcpdump is installed by make setup")]


def capture(pair, tmp_path, env, expr="udp", flows=6):
    """tcpdump on a ring with env; the UDP frames b sends.  Returns
    (captured frames, expected frames, stderr)."""
    rx, _ = flow_frames(pair, flows)
    expected = [f for f in rx if f[23] == 17]
    p = tcpdump(pair.a, "ring", pair.if_a, tmp_path / "e.pcap", "-c", str(len(expected)), expr,
                env={"PCAP_PF_RING_DEBUG": 1, **env})
    try:
        send(pair.b, pair.if_b, rx)
        assert p.wait(timeout=15) == 0, p.stderr
    finally:
        p.stop()
    return [r[3] for r in read_pcap(tmp_path / "e.pcap")[1]], expected, p.stderr


RING = "capturing on a PF_RING ring"


@pytest.mark.parametrize("var", [
    "PCAP_PF_RING_ACTIVE_POLL", "PCAP_PF_RING_DNA_RSS", "PCAP_PF_RING_ZC_RSS",
    "PCAP_PF_RING_STRIP_HW_TIMESTAMP", "PCAP_PF_RING_USERSPACE_BPF",
    "PCAP_PF_RING_RECV_ONLY", "PCAP_PF_RING_ALWAYS_SYNC_FD", "PCAP_PF_RING_RSS_REHASH",
])
def test_each_flag_variable_keeps_the_ring_and_the_packets(veth_pair, tmp_path, var):
    got, expected, err = capture(veth_pair, tmp_path, {var: 1})
    assert f"pcap-pfring: {veth_pair.if_a}: {RING}" in err
    assert got == expected


def test_hw_timestamp_without_nic_support_warns_and_stays_on_a_ring(veth_pair, tmp_path):
    got, expected, err = capture(veth_pair, tmp_path, {"PCAP_PF_RING_HW_TIMESTAMP": 1})
    assert (f"pcap-pfring: PCAP_PF_RING_HW_TIMESTAMP: hardware timestamps are not supported "
            f"on '{veth_pair.if_a}'; using software time stamps") in err
    assert RING in err
    assert got == expected


@pytest.mark.parametrize("var", ["PCAP_PF_RING_ZC_RSS", "PCAP_PF_RING_DNA_RSS"])
def test_symmetric_rss_on_veth_warns_and_stays_on_a_ring(veth_pair, tmp_path, var):
    got, expected, err = capture(veth_pair, tmp_path, {var: 1})
    warning = (f"pfring: warning: {veth_pair.if_a}: the NIC does not support a symmetric RSS "
               "key (Operation not supported); RSS is left as it is")
    assert [line for line in err.splitlines() if "RSS" in line] == [warning]
    assert RING in err
    assert got == expected


def test_no_pf_ring_falls_back_visibly(veth_pair, tmp_path):
    got, expected, err = capture(veth_pair, tmp_path, {"PCAP_NO_PF_RING": ""})
    assert (f"pcap-pfring: {veth_pair.if_a}: falling back to the system libpcap: "
            "PCAP_NO_PF_RING is set") in err
    assert got == expected


@pytest.mark.parametrize("env, warning", [
    ({"PCAP_PF_RING_CLUSTER_ID": "abc"},
     "PCAP_PF_RING_CLUSTER_ID='abc' is not a number; not clustering"),
    ({"PCAP_PF_RING_CLUSTER_ID": "255"},
     "PCAP_PF_RING_CLUSTER_ID=255 is out of range (1..254); not clustering"),
    ({"PCAP_PF_RING_CLUSTER_ID": "0"},
     "PCAP_PF_RING_CLUSTER_ID=0 is out of range (1..254); not clustering"),
    ({"PCAP_PF_RING_APPNAME": "n" * 33},
     "PCAP_PF_RING_APPNAME must be 1..32 characters (got 33); not set"),
    ({"PCAP_PF_RING_RSS_REHASH": "yes"},
     "PCAP_PF_RING_RSS_REHASH='yes' is not a number"),
])
def test_malformed_values_warn_once_and_capture_goes_on(veth_pair, tmp_path, env, warning):
    got, expected, err = capture(veth_pair, tmp_path, env)
    lines = [line for line in err.splitlines() if warning in line]
    assert len(lines) == 1, err
    assert RING in err
    assert got == expected


@pytest.mark.parametrize("cluster_var, members", [
    ("PCAP_PF_RING_USE_CLUSTER_PER_FLOW", 1),
    ("PCAP_PF_RING_USE_CLUSTER_PER_FLOW_5_TUPLE", 1),
    ("PCAP_PF_RING_USE_CLUSTER_ROUNDROBIN", 1),
    (None, 1),
])
def test_cluster_and_appname_show_in_the_status_view(veth_pair, tmp_path, status_dir,
                                                     cluster_var, members):
    env = {"PCAP_PF_RING_CLUSTER_ID": 33, "PCAP_PF_RING_APPNAME": "envprobe",
           "PF_RING_STATUS_DIR": status_dir}
    if cluster_var:
        env[cluster_var] = 1
    p = tcpdump(veth_pair.a, "ring", veth_pair.if_a, tmp_path / "s.pcap", "udp", env=env)
    try:
        rings = [r for r in status.list_rings(str(status_dir))
                 if r.fields.get("Appl. Name") == "envprobe"]
        assert len(rings) == members
        assert rings[0].fields["Cluster Id"] == "33"
    finally:
        p.stop()


def test_default_appname_is_the_program_name(veth_pair, tmp_path, status_dir):
    p = tcpdump(veth_pair.a, "ring", veth_pair.if_a, tmp_path / "s.pcap", "udp",
                env={"PF_RING_STATUS_DIR": status_dir})
    try:
        names = [r.fields.get("Appl. Name") for r in status.list_rings(str(status_dir))]
        assert names == ["tcpdump"]
    finally:
        p.stop()
