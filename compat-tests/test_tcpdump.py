"""Debian's tcpdump, unmodified, on PF_RING rings: side by side with the same
tcpdump on the system libpcap, on the same traffic.

Both tcpdumps capture on the same interface at the same time, so they see
the same packets; the test asserts that the ring capture holds exactly the
packets the stock capture holds (bytes and order), and exactly the packets
the test sent that the filter selects."""
import glob
import os
import shutil
import subprocess
import time

import pytest

from pcap_pfring import status
from pcap_pfring.testing.compat import (
    flow_frames,
    flow_of,
    ipv4_frame,
    read_pcap,
    route_env,
    send,
    tcpdump,
    wait_records,
    write_pcap,
)

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(shutil.which("tcpdump") is None,
                                 reason="tcpdump is installed by make setup")]

DLT_EN10MB = 1
DLT_LINUX_SLL2 = 276


def stop_all(progs):
    for p in progs:
        p.stop()
    return [p.stderr for p in progs]


def frames_of(path, link=DLT_EN10MB):
    got_link, records = read_pcap(path)
    assert got_link == link
    return [r[3] for r in records]


def side_by_side(pair, tmp_path, args, rx, tx, ifname=None, ns=None):
    """Ring and stock tcpdump on the same interface with the same args;
    rx frames sent from b to a, tx from a to b.  Returns the two captures."""
    ns = ns or pair.a
    ifname = ifname or pair.if_a
    progs = [tcpdump(ns, route, ifname, tmp_path / f"{route}.pcap", *args)
             for route in ("ring", "stock")]
    try:
        send(pair.b, pair.if_b, rx)
        send(pair.a, pair.if_a, tx)
        # -U writes each packet at once; give the last ones time to land.
        for p in progs:
            p.wait(timeout=10) if "-c" in args else None
    finally:
        errs = stop_all(progs)
    assert "pcap-pfring" not in errs[0]       # no warning, no fallback
    return tmp_path / "ring.pcap", tmp_path / "stock.pcap"


def test_lib_version_names_the_ring_route():

    out = subprocess.run(["tcpdump", "--version"], env=route_env("ring"), capture_output=True,
                         text=True, check=True).stdout
    assert "pcap-pfring: live captures on PF_RING rings" in out
    out = subprocess.run(["tcpdump", "--version"], env=route_env("fallback"),
                         capture_output=True, text=True, check=True).stdout
    assert "PCAP_NO_PF_RING is set" in out
    out = subprocess.run(["tcpdump", "--version"], env=route_env("stock"), capture_output=True,
                         text=True, check=True).stdout
    assert "pcap-pfring" not in out


def test_write_capture_matches_stock_and_what_was_sent(veth_pair, tmp_path):
    rx, tx = flow_frames(veth_pair, 40)
    ring, stock = side_by_side(veth_pair, tmp_path, ["-c", str(len(rx) + len(tx)), "ip"], rx, tx)
    got = frames_of(ring)
    assert got == frames_of(stock)
    assert sorted(got) == sorted(rx + tx)


def offline_filter(tmp_path, frames, expr):
    """What stock libpcap's filter selects from frames, by tcpdump -r."""

    write_pcap(tmp_path / "sent.pcap", frames)
    subprocess.run(["tcpdump", "-r", str(tmp_path / "sent.pcap"), "-w",
                    str(tmp_path / "expected.pcap"), expr], env=route_env("stock"),
                   capture_output=True, check=True)
    return frames_of(tmp_path / "expected.pcap")


def filtered_side_by_side(pair, tmp_path, expr, rx, tx=()):
    """Ring and stock tcpdump with expr on the same frames: both must hold
    exactly what stock libpcap's filter selects from them, offline."""
    expected = offline_filter(tmp_path, list(rx) + list(tx), expr)
    assert 0 < len(expected) < len(rx) + len(tx)
    progs = [tcpdump(pair.a, route, pair.if_a, tmp_path / f"{route}.pcap", expr)
             for route in ("ring", "stock")]
    try:
        send(pair.b, pair.if_b, rx)
        send(pair.a, pair.if_a, tx)
        ring = wait_records(tmp_path / "ring.pcap", len(expected))
        stock = wait_records(tmp_path / "stock.pcap", len(expected))
    finally:
        stop_all(progs)
    assert ring == expected
    assert stock == expected
    assert frames_of(tmp_path / "ring.pcap") == expected     # nothing more came


@pytest.mark.parametrize("expr", ["udp", "tcp and port 80", "src net 10.2.0.0/16",
                                  "udp and src port 53 and dst portrange 20000-20009",
                                  "ip[9] == 6 or udp[0:2] == 20004"])
def test_filter_expressions(veth_pair, tmp_path, expr):
    rx, tx = flow_frames(veth_pair, 30)
    filtered_side_by_side(veth_pair, tmp_path, expr, rx, tx)


@pytest.mark.parametrize("expr", ["vlan 50", "vlan and udp", "not vlan", "vlan 51 or tcp"])
def test_vlan_filters_see_the_tag(veth_pair, tmp_path, expr):
    a, b = veth_pair.mac_a, veth_pair.mac_b
    rx = [ipv4_frame(a, b, f"10.3.0.{i}", "10.4.0.1", 17 if i % 2 else 6, 3000 + i, 53,
                     f"flow {i} rx".encode(), vlan=(None, 50, 51)[i % 3], ident=i)
          for i in range(1, 31)]
    filtered_side_by_side(veth_pair, tmp_path, expr, rx)


@pytest.mark.parametrize("direction", ["in", "out", "inout"])
def test_direction(veth_pair, tmp_path, direction):
    rx, tx = flow_frames(veth_pair, 10)
    n = {"in": len(rx), "out": len(tx), "inout": len(rx) + len(tx)}[direction]
    ring, stock = side_by_side(veth_pair, tmp_path, ["-Q", direction, "-c", str(n), "ip"],
                               rx, tx)
    got = frames_of(ring)
    expect = {"in": rx, "out": tx, "inout": rx + tx}[direction]
    assert sorted(got) == sorted(expect)
    assert sorted(frames_of(stock)) == sorted(expect)


def test_count_stops_after_n(veth_pair, tmp_path):
    rx, _ = flow_frames(veth_pair, 20)
    p = tcpdump(veth_pair.a, "ring", veth_pair.if_a, tmp_path / "c.pcap", "-c", "7", "udp or tcp")
    try:
        send(veth_pair.b, veth_pair.if_b, rx)
        assert p.wait(timeout=10) == 0
    finally:
        p.stop()
    assert "7 packets captured" in p.stderr
    assert frames_of(tmp_path / "c.pcap") == rx[:7]


def test_any_device_gives_tcpdump_the_cooked_headers_it_asks_for(veth_pair, tmp_path):
    """tcpdump asks for LINUX_SLL2 on `any` itself (pcap_set_datalink): the
    ring gives it stock's cooked headers, the same packets byte for byte
    (PF_RING's Ethernet stays the default for programs that do not ask)."""
    rx, tx = flow_frames(veth_pair, 10)
    n = len(rx) + len(tx)
    progs = [tcpdump(veth_pair.a, route, "any", tmp_path / f"{route}.pcap", "-c", str(n), "ip")
             for route in ("ring", "stock")]
    try:
        send(veth_pair.b, veth_pair.if_b, rx)
        send(veth_pair.a, veth_pair.if_a, tx)
        for p in progs:
            p.wait(timeout=10)
    finally:
        stop_all(progs)
    ring = frames_of(tmp_path / "ring.pcap", DLT_LINUX_SLL2)
    stock = frames_of(tmp_path / "stock.pcap", DLT_LINUX_SLL2)
    assert sorted(f[20:] for f in stock) == sorted(f[14:] for f in rx + tx)
    assert ring == stock


@pytest.mark.parametrize("members", [2, 3])
def test_clustered_tcpdumps_split_per_flow(veth_pair, tmp_path, members, status_dir):
    rx, tx = flow_frames(veth_pair, 60)
    env = {"PCAP_PF_RING_CLUSTER_ID": 17, "PCAP_PF_RING_USE_CLUSTER_PER_FLOW": 1,
           "PF_RING_STATUS_DIR": status_dir}
    progs = []
    try:
        for m in range(members):
            progs.append(tcpdump(veth_pair.a, "ring", veth_pair.if_a, tmp_path / f"m{m}.pcap",
                                 "ip", env={**env, "PCAP_PF_RING_APPNAME": f"tcpdump-m{m}"}))
        names = set()
        for path in glob.glob(os.path.join(status_dir, "*-*.*")):
            text = open(path).read()
            names.update(line.split(":", 1)[1].strip() for line in text.splitlines()
                         if line.startswith("Appl. Name"))
            assert "Cluster Id" in text and ": 17" in text
        assert names == {f"tcpdump-m{m}" for m in range(members)}
        send(veth_pair.b, veth_pair.if_b, rx)
        send(veth_pair.a, veth_pair.if_a, tx)
        wait_records(tmp_path / "m0.pcap", 1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and \
                sum(len(wait_records(tmp_path / f"m{m}.pcap", 0, 0)) for m in range(members)) \
                < len(rx + tx):
            time.sleep(0.05)
    finally:
        stop_all(progs)
    parts = [frames_of(tmp_path / f"m{m}.pcap") for m in range(members)]
    union = [f for part in parts for f in part]
    assert sorted(union) == sorted(rx + tx)              # complete, and disjoint
    assert all(parts)                                     # every member got a share
    owner = {}
    for m, part in enumerate(parts):
        for f in part:
            assert owner.setdefault(flow_of(f), m) == m   # each flow whole, both ways


@pytest.mark.parametrize("case", ["no_such_device", "down", "no_privilege", "bad_filter"])
def test_bad_input_gets_the_stock_message(veth_pair, tmp_path, case):
    """Whatever a ring cannot do, the user sees stock libpcap's own message
    (after a visible fallback), and tcpdump exits cleanly, on both routes."""
    ns, dev, pre, args = veth_pair.a, veth_pair.if_a, [], ["-c", "1"]
    if case == "no_such_device":
        dev = "nosuchdev0"
    elif case == "down":
        ns.run(["ip", "link", "set", dev, "down"])
    elif case == "no_privilege":
        pre = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    else:
        args.append("udp and (")
    out = {}
    for route in ("ring", "stock"):
        res = subprocess.run(ns.cmd([*pre, "tcpdump", "-n", "-i", dev, *args]), timeout=20,
                             env=route_env(route, PCAP_PF_RING_DEBUG=1),
                             capture_output=True, text=True)
        assert res.returncode == 1
        out[route] = [line for line in res.stderr.splitlines()
                      if not line.startswith("pcap-pfring:")]
    assert out["ring"] == out["stock"]
    message = {"no_such_device": "No such device exists",
               "down": "That device is not up",
               "no_privilege": "You don't have permission",
               "bad_filter": "can't parse filter expression: syntax error"}[case]
    assert message in "\n".join(out["ring"])


def test_status_counters_stay_live_after_tcpdump_drops_privileges(veth_pair, tmp_path,
                                                                  status_dir):
    """tcpdump runs as user tcpdump once its capture is open; its ring entry
    keeps being rewritten (in place) with live counters."""
    rx, tx = flow_frames(veth_pair, 12)
    p = tcpdump(veth_pair.a, "ring", veth_pair.if_a, tmp_path / "z.pcap", "-Q", "in",
                env={"PF_RING_STATUS_DIR": status_dir})
    try:
        send(veth_pair.b, veth_pair.if_b, rx)
        deadline = time.monotonic() + 10
        fields = {}
        while time.monotonic() < deadline:
            rings = status.list_rings(str(status_dir))
            fields = rings[0].fields if rings else {}
            if fields.get("Tot Read") == str(len(rx)):
                break
            time.sleep(0.2)
        owner = subprocess.run(["ps", "-o", "user=", "-p", str(p.proc.pid)],
                               capture_output=True, text=True).stdout.strip()
    finally:
        p.stop()
    assert owner == "tcpdump"
    assert fields.get("Tot Packets") == fields.get("Tot Read") == str(len(rx))


def test_snaplen_and_promisc(veth_pair, tmp_path):
    """-s 60 cuts every frame as stock does; without -p the device is put in
    promiscuous mode, with -p it is not."""
    rx, _ = flow_frames(veth_pair, 4)
    big = [f[:14] + f[14:] + b"\xab" * 200 for f in rx]
    ring, stock = side_by_side(veth_pair, tmp_path, ["-s", "60", "-c", str(len(big)), "ip"],
                               big, [])
    _, records = read_pcap(ring)
    assert [(r[1], r[2]) for r in records] == [(60, len(f)) for f in big]
    assert frames_of(ring) == frames_of(stock) == [f[:60] for f in big]

    # veth hands every frame to packet sockets, so promiscuous mode shows in
    # the device's promiscuity count, on both routes alike.
    seen = {}
    for route in ("ring", "stock"):
        for flag in ([], ["-p"]):
            p = tcpdump(veth_pair.a, route, veth_pair.if_a, tmp_path / "p.pcap", *flag, "ip")
            try:
                link = veth_pair.a.run(["ip", "-details", "link", "show", veth_pair.if_a]).stdout
                seen[route, bool(flag)] = int(link.split("promiscuity ")[1].split()[0])
            finally:
                p.stop()
    assert seen == {("ring", False): 1, ("ring", True): 0,
                    ("stock", False): 1, ("stock", True): 0}
