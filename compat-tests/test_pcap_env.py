"""PF_RING's libpcap environment variables, seen through an unmodified
tcpdump: every variable keeps the capture on a ring (or says why not), the
captured packets stay exact, and malformed values get one warning line that
names the variable."""
import os
import shutil
import subprocess

import pytest

import pcap_pfring
from pcap_pfring import ClusterType, Ring, status
from pcap_pfring import env as penv_mod
from pcap_pfring.cli import pfring_run
from pcap_pfring.errors import PFRingError
from pcap_pfring.testing.compat import flow_frames, read_pcap, route_env, send, tcpdump

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


# -- the drop-in and the Python shim: one set of rules (pfring_open_pcap_env) ----

def test_a_cluster_that_cannot_be_joined_is_the_same_error_for_tcpdump_and_python(
        veth_pair, tmp_path, monkeypatch):
    with veth_pair.a.enter():
        holder = Ring(veth_pair.if_a)
    with holder:
        holder.set_cluster(41, ClusterType.ROUND_ROBIN)
        holder.enable()
        variables = {"PCAP_PF_RING_CLUSTER_ID": "41", "PCAP_PF_RING_USE_CLUSTER_PER_FLOW": ""}
        res = subprocess.run(
            veth_pair.a.cmd(["tcpdump", "-n", "-i", veth_pair.if_a, "-c", "1", "-w",
                             str(tmp_path / "x.pcap")]),
            env=route_env("ring", **variables), capture_output=True, text=True, timeout=20)
        for k, v in variables.items():
            monkeypatch.setenv(k, v)
        with veth_pair.a.enter(), pytest.raises(PFRingError) as exc:
            penv_mod.open_ring(veth_pair.if_a, 256)
    assert res.returncode != 0
    assert str(exc.value).startswith("PCAP_PF_RING_CLUSTER_ID=41: ")
    assert res.stderr == f"tcpdump: {exc.value}\n"


@pytest.mark.parametrize("appname", ["sameapp", None])
def test_tcpdump_and_python_name_their_rings_by_the_same_rule(veth_pair, tmp_path,
                                                              monkeypatch, appname):
    """PCAP_PF_RING_APPNAME when set, else the program's name (for Python:
    the script's, env.default_appname).  Both in this process's status tree."""
    p = tcpdump(veth_pair.a, "ring", veth_pair.if_a, tmp_path / "n.pcap", "udp",
                env={"PCAP_PF_RING_APPNAME": appname})
    try:
        [dropin] = [r.fields["Appl. Name"] for r in status.list_rings()
                    if r.pid == p.proc.pid]
    finally:
        p.stop()
    if appname:
        monkeypatch.setenv("PCAP_PF_RING_APPNAME", appname)
    else:
        monkeypatch.delenv("PCAP_PF_RING_APPNAME", raising=False)
    with veth_pair.a.enter():
        ring = penv_mod.open_ring(veth_pair.if_a, 256)
    with ring:
        [python] = [r.fields["Appl. Name"] for r in status.list_rings()
                    if r.ring_id == ring.ring_id]
    assert (dropin, python) == ((appname, appname) if appname else
                                ("tcpdump", penv_mod.default_appname()))


CALLBACK_PROGRAM = r"""
#include <pcap/pcap.h>
#include <stdio.h>

typedef void (*pfring_print_fn)(int level, const char *msg, void *user);
void pfring_set_print(pfring_print_fn fn, void *user, int max_level);

static void cb(int level, const char *msg, void *user)
{
  printf("%d %s\n", level, msg);
}

int main(int argc, char **argv)
{
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *p;

  pfring_set_print(cb, NULL, 2);
  p = pcap_open_live(argv[1], 256, 1, 100, err);
  if (!p) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  pcap_close(p);
  return 0;
}
"""


def test_the_drop_ins_messages_reach_a_programs_print_callback(veth_pair, tmp_path):
    """A program that installs its own libpfring print callback gets the
    drop-in's messages (tagged "pcap-pfring: ") and libpfring's warnings
    there, at their levels; nothing is printed on stderr."""
    pkg = os.path.dirname(pcap_pfring.__file__)
    src = tmp_path / "cb.c"
    src.write_text(CALLBACK_PROGRAM)
    exe = tmp_path / "cb"
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-o", str(exe), str(src),
                    "-L" + pfring_run.libdir(), "-lpcap", "-L" + os.path.join(pkg, "lib"),
                    "-l:libpfring.so.1", "-Wl,-rpath," + os.path.join(pkg, "lib")], check=True)
    res = subprocess.run(veth_pair.a.cmd([str(exe), veth_pair.if_a]),
                         env=route_env("ring", PCAP_PF_RING_HW_TIMESTAMP="",
                                       PCAP_PF_RING_DEBUG=None),
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        f"1 pcap-pfring: PCAP_PF_RING_HW_TIMESTAMP: hardware timestamps are not supported on "
        f"'{veth_pair.if_a}'; using software time stamps",
        f"2 pcap-pfring: {veth_pair.if_a}: capturing on a PF_RING ring",
    ]
    assert res.stderr == ""
