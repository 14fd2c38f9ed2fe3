"""Debian's dumpcap and tshark, unmodified, on PF_RING rings: side by side
with the same programs on the system libpcap, on the same traffic.

dumpcap is the capture engine of Wireshark and tshark (tshark starts it as a
child, which inherits LD_LIBRARY_PATH).  Both routes capture on the same
interface at the same time; the ring capture must hold exactly the packets
of the stock capture, which are exactly the packets sent that the filter
selects.  ``-P`` makes dumpcap write pcap; its default, pcapng, is read back
through stock tcpdump."""
import shutil
import subprocess

import pytest

from pcap_pfring import status
from pcap_pfring.testing.compat import (
    ON_RING,
    TWO_ROUTES,
    Program,
    collect_with_traffic,
    flow_frames,
    read_pcap,
    route_env,
    send,
    stock_filter,
    wait_packet_sockets,
    wait_records,
)

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(shutil.which("dumpcap") is None or shutil.which("tshark") is None,
                                 reason="dumpcap and tshark are installed by make setup")]

DLT_EN10MB = 1


def dumpcap(ns, route, ifname, out, *args):
    """dumpcap -i ifname -w out ARGS in ns on route, started."""
    p = Program(ns, ["dumpcap", "-q", "-i", ifname, "-w", str(out), *args],
                route_env(route, PCAP_PF_RING_DEBUG=1))
    p.wait_for(f"Capturing on '{ifname}'")
    return p


def start_both(pair, tool, tmp_path, args, suffix):
    """tool on both routes on a's interface, each writing <route><suffix>.
    dumpcap says "Capturing on" before it opens the capture, so the start
    is complete when both packet sockets run."""
    progs = {}
    try:
        for r in TWO_ROUTES:
            progs[r] = tool(pair.a, r, pair.if_a, tmp_path / f"{r}{suffix}", *args)
        wait_packet_sockets(pair.a, len(TWO_ROUTES), pair.if_a)
    except BaseException:
        for p in progs.values():
            p.stop()
        raise
    return progs


def frames_of(path):
    link, records = read_pcap(path)
    assert link == DLT_EN10MB
    return [r[3] for r in records]


def run_both(pair, tmp_path, args, rx, tx, tool=dumpcap):
    """``tool`` on both routes on a's interface with the same args; rx sent
    from b to a, tx from a to b; each must exit by itself (-c) with status 0.
    Returns {route: (output path, stderr)}."""
    progs = start_both(pair, tool, tmp_path, args, ".out")
    codes = collect_with_traffic(pair, progs, lambda _, p: p.wait(timeout=15), rx, tx)
    assert codes == {"ring": 0, "stock": 0}, {r: p.stderr for r, p in progs.items()}
    return {r: (tmp_path / f"{r}.out", p.stderr) for r, p in progs.items()}


def test_dumpcap_count_writes_what_stock_writes(veth_pair, tmp_path):
    rx, tx = flow_frames(veth_pair, 30)
    out = run_both(veth_pair, tmp_path, ["-P", "-c", str(len(rx) + len(tx))], rx, tx)
    ring_path, ring_err = out["ring"]
    assert f"pcap-pfring: {veth_pair.if_a}: {ON_RING}" in ring_err
    assert "pcap-pfring" not in out["stock"][1]
    got = frames_of(ring_path)
    assert got == frames_of(out["stock"][0])
    assert sorted(got) == sorted(rx + tx)
    assert f"Packets captured: {len(got)}\n" in ring_err
    assert (f"Packets received/dropped on interface '{veth_pair.if_a}': {len(got)}/0 "
            in ring_err)


@pytest.mark.parametrize("expr", ["udp", "tcp and port 80", "src net 10.2.0.0/16",
                                  "udp and src port 53 and dst portrange 20000-20009"])
def test_dumpcap_capture_filter(veth_pair, tmp_path, expr):
    rx, tx = flow_frames(veth_pair, 30)
    expected = stock_filter(tmp_path, rx + tx, expr)
    assert 0 < len(expected) < len(rx + tx)
    progs = start_both(veth_pair, dumpcap, tmp_path, ["-P", "-f", expr], ".pcap")
    got = collect_with_traffic(
        veth_pair, progs, lambda r, _: wait_records(tmp_path / f"{r}.pcap", len(expected)),
        rx, tx)
    assert ON_RING in progs["ring"].stderr
    assert sorted(got["ring"]) == sorted(expected)
    assert got["ring"] == got["stock"]
    assert frames_of(tmp_path / "ring.pcap") == got["stock"]    # nothing more came


def test_dumpcap_pcapng_by_default(veth_pair, tmp_path):
    rx, _ = flow_frames(veth_pair, 10)
    out = run_both(veth_pair, tmp_path, ["-c", str(len(rx)), "-f", "ip"], rx, [])
    frames = {}
    for route, (path, _) in out.items():
        with open(path, "rb") as f:
            assert f.read(4) == b"\x0a\x0d\x0d\x0a"               # a pcapng section
        subprocess.run(["tcpdump", "-r", str(path), "-w", str(tmp_path / f"{route}.pcap")],
                       env=route_env("stock"), capture_output=True, check=True, timeout=30)
        frames[route] = frames_of(tmp_path / f"{route}.pcap")
    assert frames["ring"] == frames["stock"]
    assert sorted(frames["ring"]) == sorted(rx)


def tshark(ns, route, ifname, out, *args):
    """tshark -i ifname -w out ARGS (its dumpcap captures) on route."""
    p = Program(ns, ["tshark", "-i", ifname, "-w", str(out), "-F", "pcap", *args],
                route_env(route, PCAP_PF_RING_DEBUG=1))
    p.wait_for(f"Capturing on '{ifname}'")
    return p


def test_tshark_count_writes_what_stock_writes(veth_pair, tmp_path, status_dir):
    rx, tx = flow_frames(veth_pair, 12)
    progs = start_both(veth_pair, tshark, tmp_path, ["-c", str(len(rx) + len(tx)), "-f", "ip"],
                       ".pcap")
    try:
        # tshark shows nothing of its dumpcap's stderr: the ring is seen in
        # the status tree, under dumpcap's name.
        rings = status.list_rings(str(status_dir))
        assert [r.fields.get("Appl. Name") for r in rings] == ["dumpcap"]
        send(veth_pair.b, veth_pair.if_b, rx)
        send(veth_pair.a, veth_pair.if_a, tx)
        codes = {r: p.wait(timeout=15) for r, p in progs.items()}
    finally:
        for p in progs.values():
            p.stop()
    assert codes == {"ring": 0, "stock": 0}
    got = frames_of(tmp_path / "ring.pcap")
    assert got == frames_of(tmp_path / "stock.pcap")
    assert sorted(got) == sorted(rx + tx)


def listing(ns, route, argv):
    res = ns.run(argv, env=route_env(route), check=False, timeout=30)
    assert res.returncode == 0, res.stderr
    return res.stdout.splitlines()


@pytest.mark.parametrize("argv", [["dumpcap", "-D"], ["tshark", "-D"], ["dumpcap", "-D", "-M"]])
def test_interface_listing_is_the_stock_listing(veth_pair, argv):
    ring = listing(veth_pair.a, "ring", argv)
    assert ring == listing(veth_pair.a, "stock", argv)
    names = [line.split(". ", 1)[1].split("\t")[0].split(" ")[0] for line in ring]
    assert veth_pair.if_a in names and "any" in names and "lo" in names
    if "-M" in argv:
        # dumpcap on Linux leaves libpcap's descriptions out of its listing
        # (stock's 'any' description is not there either), so PF_RING's
        # "PF_RING" description shows in neither listing.
        veth = [line for line in ring if line.split(". ", 1)[1].startswith(veth_pair.if_a + "\t")]
        assert veth[0].split("\t")[1] == ""


def test_data_links_of_an_interface(veth_pair):
    """A ring offers Ethernet only (as PF_RING's libpcap); stock libpcap
    also offers DOCSIS on an Ethernet device."""
    argv = ["dumpcap", "-i", veth_pair.if_a, "-L"]
    ring = listing(veth_pair.a, "ring", argv)
    stock = listing(veth_pair.a, "stock", argv)
    assert ring[0] == stock[0] == (f"Data link types of interface {veth_pair.if_a} "
                                   "(use option -y to set):")
    assert ring[1:] == ["  EN10MB (Ethernet)"]
    assert stock[1:] == ["  EN10MB (Ethernet)", "  DOCSIS (DOCSIS)"]


def test_any_device_is_ethernet_on_a_ring(veth_pair):
    """PF_RING's `any` is Ethernet first, with stock's cooked links offered
    too; stock libpcap's is Linux cooked."""
    argv = ["dumpcap", "-i", "any", "-L"]
    assert listing(veth_pair.a, "ring", argv)[1:] == ["  EN10MB (Ethernet)",
                                                       "  LINUX_SLL (Linux cooked v1)",
                                                       "  LINUX_SLL2 (Linux cooked v2)"]
    assert listing(veth_pair.a, "stock", argv)[1:] == ["  LINUX_SLL (Linux cooked v1)",
                                                        "  LINUX_SLL2 (Linux cooked v2)"]


def test_version_names_the_library(veth_pair):
    ring = subprocess.run(["dumpcap", "-v"], env=route_env("ring"), capture_output=True,
                          text=True, timeout=30).stdout
    stock = subprocess.run(["dumpcap", "-v"], env=route_env("stock"), capture_output=True,
                           text=True, timeout=30).stdout
    assert "pcap-pfring: live captures on PF_RING rings" in " ".join(ring.split())
    assert "pcap-pfring" not in stock
