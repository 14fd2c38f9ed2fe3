"""Unmodified scapy scripts (compat-tests/scapy/: they only import scapy.all)
on PF_RING rings, with no wrapper: PCAP_PF_RING_* variables in their
environment activate pcap_pfring's sockets at interpreter start
(pcap-pfring-autoload.pth).

A *route* says how a script gets its capture sockets:

- ``"env"``: the auto-activation route, PCAP_PF_RING_* variables set (at
  least PCAP_PF_RING_SCAPY=1);
- ``"pfring-run"``: ``pfring-run python3 script.py``, no variable of the
  test's own: pcap_pfring's sockets, activated through the wrapper;
- ``"use_pcap"``: the same under ``SCAPY_USE_LIBPCAP=yes``: scapy's own
  libpcap sockets, on the project's libpcap drop-in, so still on rings;
- ``"stock"``: no PCAP_* variable, scapy's own Linux sockets.

Scripts run in namespace a under ``python -X importtime`` so that their
stderr says whether pcap_pfring's scapy module was loaded; while they
capture, the status tree must show their ring.  Every script is bounded by
a count or a timeout, and is killed by pid if it outlives the test.
"""
import os
import signal
import sys
import time

import pytest

from pcap_pfring import status
from pcap_pfring.testing.compat import Program, flow_frames, flow_of, read_pcap, send

pytest.importorskip("scapy", reason="scapy is installed by make setup (requirements-dev.txt)")

pytestmark = pytest.mark.needs_root

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scapy")
ROUTES = ("env", "pfring-run", "use_pcap", "stock")
ON_RINGS = ("env", "pfring-run", "use_pcap")
OUR_SOCKETS = ("env", "pfring-run")
PFRING_RUN = os.path.join(os.path.dirname(sys.executable), "pfring-run")


def script_env(route, **variables):
    """The environment of a script on ``route``, plus ``variables``."""
    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PCAP_", "SCAPY_"))}
    if route == "env" and not any(k.startswith("PCAP_PF_RING_") for k in variables):
        env["PCAP_PF_RING_SCAPY"] = "1"
    if route == "use_pcap":
        env["SCAPY_USE_LIBPCAP"] = "yes"
    env.update({k: str(v) for k, v in variables.items()})
    return env


def run_script(ns, script, args, route="env", **variables):
    """``compat-tests/scapy/<script>`` with ``args`` in namespace ``ns``."""
    argv = [sys.executable, "-X", "importtime", os.path.join(SCRIPTS, script), *map(str, args)]
    if route in ("pfring-run", "use_pcap"):
        argv = [PFRING_RUN, *argv]
    return Program(ns, argv, script_env(route, **variables))


def loaded_ours(prog):
    return "pcap_pfring.scapy" in prog.stderr


def rings_of(prog):
    return [r for r in status.list_rings() if r.pid == prog.proc.pid]


def finish(prog, timeout=20):
    """Wait for the script's exit (0) and return its stdout."""
    try:
        status_ = prog.wait(timeout)
        assert status_ == 0, "\n".join(line for line in prog.stderr.splitlines()
                                       if not line.startswith("import time:"))
    finally:
        prog.stop(signal.SIGKILL)
    return prog.stdout


def frames_of(path):
    link, records = read_pcap(path)
    assert link == 1
    return [r[3] for r in records]


def times_of(path):
    return [r[0] for r in read_pcap(path)[1]]


# -- one script at a time ------------------------------------------------------------

@pytest.mark.parametrize("route", ROUTES)
def test_sniffer_counts_and_writes_the_exact_packets(veth_pair, tmp_path, route):
    rx, tx = flow_frames(veth_pair, 10)
    out = tmp_path / "out.pcap"
    prog = run_script(veth_pair.a, "sniff_write.py",
                      [veth_pair.if_a, len(rx + tx), 20, out, "udp or tcp"], route,
                      **({"PCAP_PF_RING_APPNAME": "scapy-sniffer"} if route in ON_RINGS else {}))
    try:
        prog.wait_for("sniffing", stream="out", timeout=30)
        mine = rings_of(prog)
        if route in ON_RINGS:
            assert [(r.device, r.fields["Appl. Name"], r.fields["BPF Filtering"]) for r in mine] \
                == [(veth_pair.if_a, "scapy-sniffer", "Enabled")]
        else:
            assert mine == []
        before = time.time()
        send(veth_pair.b, veth_pair.if_b, rx)
        send(veth_pair.a, veth_pair.if_a, tx)
        stdout = finish(prog)
    finally:
        prog.stop(signal.SIGKILL)
    after = time.time()
    if route != "use_pcap":
        assert loaded_ours(prog) == (route in OUR_SOCKETS)
    got = frames_of(out)
    assert sorted(got) == sorted(rx + tx)
    assert [f for f in got if f in rx] == rx and [f for f in got if f in tx] == tx
    assert stdout.splitlines()[-1] == f"captured {len(rx + tx)}"
    assert [line.split()[1] for line in stdout.splitlines() if line.startswith("packet")] \
        == [f.hex() for f in got]
    stamps = times_of(out)
    assert stamps == sorted(stamps) and before - 1 <= stamps[0] <= stamps[-1] <= after + 1


def test_default_application_name_is_the_scripts_name(veth_pair, tmp_path):
    prog = run_script(veth_pair.a, "sniff_write.py",
                      [veth_pair.if_a, 1, 20, tmp_path / "out.pcap"], "env",
                      PCAP_PF_RING_CLUSTER_ID=9)
    try:
        prog.wait_for("sniffing", stream="out", timeout=30)
        assert [(r.fields["Appl. Name"], r.fields["Cluster Id"]) for r in rings_of(prog)] \
            == [("sniff_write.py", "9")]
        send(veth_pair.b, veth_pair.if_b, flow_frames(veth_pair, 1)[0][:1])
        assert finish(prog).splitlines()[-1] == "captured 1"
    finally:
        prog.stop(signal.SIGKILL)


def test_no_pf_ring_means_scapys_own_sockets(veth_pair, tmp_path):
    rx, _ = flow_frames(veth_pair, 3)
    udp = [f for f in rx if f[23] == 17]
    out = tmp_path / "out.pcap"
    prog = run_script(veth_pair.a, "sniff_write.py", [veth_pair.if_a, len(udp), 20, out, "udp"],
                      "env", PCAP_PF_RING_APPNAME="x", PCAP_NO_PF_RING=1)
    try:
        prog.wait_for("sniffing", stream="out", timeout=30)
        assert rings_of(prog) == []
        send(veth_pair.b, veth_pair.if_b, rx)
        finish(prog)
    finally:
        prog.stop(signal.SIGKILL)
    assert not loaded_ours(prog)
    assert len(udp) == 4
    assert frames_of(out) == udp


def test_async_sniffer_script(veth_pair, tmp_path):
    rx, tx = flow_frames(veth_pair, 6)
    out = tmp_path / "out.pcap"
    prog = run_script(veth_pair.a, "async_sniffer.py",
                      [veth_pair.if_a, "tcp", 1000, 2, out], "env", PCAP_PF_RING_APPNAME="async")
    try:
        prog.wait_for("sniffing", stream="out", timeout=30)
        assert [r.fields["Appl. Name"] for r in rings_of(prog)] == ["async"]
        send(veth_pair.b, veth_pair.if_b, rx)
        send(veth_pair.a, veth_pair.if_a, tx)
        stdout = finish(prog)            # stopped by stop() after 2 s
    finally:
        prog.stop(signal.SIGKILL)
    assert loaded_ours(prog)
    tcp = [f for f in rx + tx if f[23] == 6]
    assert len(tcp) == 8
    assert sorted(frames_of(out)) == sorted(tcp)
    assert stdout.splitlines()[-1] == "captured 8"


def test_stop_filter_script(veth_pair, tmp_path):
    rx, _ = flow_frames(veth_pair, 6, per_direction=1)
    marker = [f for f in rx if b"flow 3 rx 0" in f]
    out = tmp_path / "out.pcap"
    prog = run_script(veth_pair.a, "stop_filter.py", [veth_pair.if_a, "flow 3 rx", 20, out],
                      "env", PCAP_PF_RING_APPNAME="stopper")
    try:
        prog.wait_for("sniffing", stream="out", timeout=30)
        send(veth_pair.b, veth_pair.if_b, rx)
        stdout = finish(prog)
    finally:
        prog.stop(signal.SIGKILL)
    assert loaded_ours(prog)
    assert len(marker) == 1
    assert frames_of(out) == rx[:4]
    assert stdout.splitlines()[-1] == "captured 4"


@pytest.mark.parametrize("route", ROUTES)
def test_ping_script_srp_and_sr1(veth_pair, route):
    prog = run_script(veth_pair.a, "ping.py", [veth_pair.if_a, veth_pair.ip_b, 5], route,
                      **({"PCAP_PF_RING_APPNAME": "ping"} if route in ON_RINGS else {}))
    try:
        stdout = finish(prog, timeout=60)
    finally:
        prog.stop(signal.SIGKILL)
    if route != "use_pcap":
        assert loaded_ours(prog) == (route in OUR_SOCKETS)
    assert stdout.splitlines() == [f"reply {veth_pair.ip_b} {seq}" for seq in range(1, 6)] + \
        ["lost 0", f"sr1 {veth_pair.ip_b} 99"]


# -- clusters of script copies ----------------------------------------------------

@pytest.mark.parametrize("members", [2, 3])
def test_copies_of_one_script_split_the_flows(veth_pair, tmp_path, members):
    rx, tx = flow_frames(veth_pair, 36)
    total = len(rx + tx)
    env = {"PCAP_PF_RING_CLUSTER_ID": 21, "PCAP_PF_RING_USE_CLUSTER_PER_FLOW": 1}
    progs = []
    try:
        for m in range(members):
            progs.append(run_script(veth_pair.a, "sniff_write.py",
                                    [veth_pair.if_a, total, 30, tmp_path / f"m{m}.pcap", "ip"],
                                    "env", **env))
        for p in progs:
            p.wait_for("sniffing", stream="out", timeout=30)
        mine = [r for p in progs for r in rings_of(p)]
        assert sorted((r.fields["Appl. Name"], r.fields["Cluster Id"]) for r in mine) == \
            [("sniff_write.py", "21")] * members
        send(veth_pair.b, veth_pair.if_b, rx)
        send(veth_pair.a, veth_pair.if_a, tx)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and \
                sum(p.stdout.count("packet ") for p in progs) < total:
            time.sleep(0.05)
        for p in progs:                   # Ctrl-C: sniff() returns, the script writes
            p.proc.send_signal(signal.SIGINT)
        for p in progs:
            finish(p)
    finally:
        for p in progs:
            p.stop(signal.SIGKILL)
    parts = [frames_of(tmp_path / f"m{m}.pcap") for m in range(members)]
    assert sorted(f for part in parts for f in part) == sorted(rx + tx)   # complete, disjoint
    assert all(parts)                                                     # all got a share
    owner = {}
    for m, part in enumerate(parts):
        for f in part:
            assert owner.setdefault(flow_of(f), m) == m       # each flow whole, both ways
    assert len(owner) == 36
