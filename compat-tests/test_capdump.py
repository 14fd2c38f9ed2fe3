"""A C program linked with -lpcap against libpcap-pfring (c/capdump.c), run on
rings side by side with the same binary on the system libpcap: capture,
filter, dump file, stats and version; the API behaviours capture tools rely
on (pcap_breakloop from a signal handler, non-blocking reads, a pollable
selectable fd, pcap_inject/pcap_sendpacket); the fallback, PF_RING's
variables, and errors."""
import os
import signal
import subprocess

import pytest

from pcap_pfring import status
from pcap_pfring.cli.pfring_run import libdir
from pcap_pfring.testing.compat import (
    TWO_ROUTES,
    Program,
    collect_with_traffic,
    flow_frames,
    read_pcap,
    route_env,
    send,
    stock_filter,
)

pytestmark = pytest.mark.needs_root

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "c", "capdump.c")
RING_VERSION = "pcap-pfring: live captures on PF_RING rings"


@pytest.fixture(scope="module")
def capdump(tmp_path_factory):
    """capdump built with gcc -lpcap against the drop-in's directory."""
    exe = tmp_path_factory.mktemp("capdump") / "capdump"
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", SOURCE, "-o", str(exe),
                    "-L" + libdir(), "-lpcap"], check=True, capture_output=True, timeout=60)
    return str(exe)


def start(ns, capdump, route, *args, env=None):
    p = Program(ns, [capdump, *args], route_env(route, PCAP_PF_RING_DEBUG=1, **(env or {})))
    p.wait_for("ready", stream="out")
    return p


def finish(p, timeout=15):
    code = p.wait(timeout=timeout)
    assert code == 0, p.stderr
    return p.stdout.splitlines()


def run_with_traffic(pair, capdump, route, frames, *args):
    """capdump ARGS on a's end, the frames sent from b once it is ready; the
    lines it printed."""
    progs = {route: start(pair.a, capdump, route, *args, pair.if_a)}
    return collect_with_traffic(pair, progs, lambda _, p: finish(p), frames)[route]


def test_links_the_system_soname(capdump):
    dyn = subprocess.run(["readelf", "-d", capdump], capture_output=True, text=True,
                         check=True).stdout
    needed = [line.split("[")[1].rstrip("]") for line in dyn.splitlines() if "(NEEDED)" in line]
    assert needed == ["libpcap.so.0.8", "libc.so.6"]
    for route, text in (("ring", RING_VERSION), ("fallback", "PCAP_NO_PF_RING is set")):
        out = subprocess.run([capdump, "-m", "version", "x"], env=route_env(route),
                             capture_output=True, text=True, timeout=30, check=True).stdout
        assert text in out
    out = subprocess.run([capdump, "-m", "version", "x"], env=route_env("stock"),
                         capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.startswith("version libpcap version 1.10") and "pcap-pfring" not in out


@pytest.mark.parametrize("create", [False, True], ids=["open_live", "create_activate"])
@pytest.mark.parametrize("expr", ["udp", "tcp and port 80", "src net 10.2.0.0/16 and udp[0:2] = 53"])
def test_filtered_capture_to_a_file(veth_pair, tmp_path, capdump, create, expr):
    rx, tx = flow_frames(veth_pair, 24)
    expected = stock_filter(tmp_path, rx + tx, expr)
    assert 0 < len(expected) < len(rx + tx)
    args = ["-C"] if create else []
    progs = {r: start(veth_pair.a, capdump, r, *args, "-n", str(len(expected)), "-f", expr,
                      "-w", str(tmp_path / f"{r}.pcap"), veth_pair.if_a) for r in TWO_ROUTES}
    out = collect_with_traffic(veth_pair, progs, lambda _, p: finish(p), rx, tx)
    assert progs["ring"].stderr == f"pcap-pfring: {veth_pair.if_a}: capturing on a PF_RING ring\n"
    got = {}
    for r in TWO_ROUTES:
        link, records = read_pcap(tmp_path / f"{r}.pcap")
        assert link == 1
        got[r] = [rec[3] for rec in records]
    assert got["ring"] == got["stock"]
    assert sorted(got["ring"]) == sorted(expected)
    stats = f"stats recv={len(expected)} drop=0 ifdrop=0"
    assert out["ring"][1:] == [stats, f"version {out['ring'][2][8:]}"]
    assert out["stock"][1] == stats
    assert RING_VERSION in out["ring"][2]


@pytest.mark.parametrize("route", ["ring", "fallback", "stock"])
def test_breakloop_from_a_signal_handler_wakes_pcap_loop(veth_pair, capdump, route):
    p = start(veth_pair.a, capdump, route, "-m", "breakloop", "-t", "0", veth_pair.if_a)
    out = finish(p)
    assert out[1] == "loop -2 after 1.0 s, 0 packets"


@pytest.mark.parametrize("route", ["ring", "stock"])
def test_reads_in_pieces_lose_and_repeat_nothing(veth_pair, capdump, route):
    """A backlog read by pcap_dispatch(3), two pcap_next_ex, a pcap_loop
    broken from its callback after 4 and a pcap_loop for the rest: every
    frame once, in order (the ring reads a burst at a time and keeps what a
    count or a break left for the next call)."""
    rx, _ = flow_frames(veth_pair, 40)
    out = run_with_traffic(veth_pair, capdump, route, rx, "-m", "pieces", "-n", str(len(rx)),
                           "-t", "10", "-f", "ip")
    pkts = [line[4:] for line in out if line.startswith("pkt ")]
    calls = [line for line in out[1:] if not line.startswith("pkt ")]
    assert calls == ["dispatch 3", "next_ex 1", "next_ex 1", "loop -2", "loop 0"]
    assert pkts == [f.hex() for f in rx]


@pytest.mark.parametrize("route", ["ring", "fallback", "stock"])
def test_nonblocking_dispatch_returns_at_once(veth_pair, capdump, route):
    rx, _ = flow_frames(veth_pair, 5)
    out = run_with_traffic(veth_pair, capdump, route, rx, "-m", "nonblock", "-N", "-n",
                           str(len(rx)), "-t", "1000", "-f", "ip")
    assert out == ["getnonblock 1", "empty dispatch 0 in no time", "ready",
                   f"got {len(rx)} packets"]


@pytest.mark.parametrize("route", ["ring", "fallback", "stock"])
def test_selectable_fd_polls_readable_when_packets_wait(veth_pair, capdump, route):
    rx, _ = flow_frames(veth_pair, 6)
    out = run_with_traffic(veth_pair, capdump, route, rx, "-m", "poll", "-n", str(len(rx)),
                           "-t", "10", "-f", "ip")
    assert out == ["quiet poll 0", "ready", "poll 1 revents POLLIN", f"got {len(rx)} packets"]


@pytest.mark.parametrize("mode", ["send", "inject"])
@pytest.mark.parametrize("route", ["ring", "fallback", "stock"])
def test_sent_frames_reach_the_peer_byte_for_byte(veth_pair, capdump, route, mode):
    _, tx = flow_frames(veth_pair, 6)
    tx.append(tx[0][:14] + bytes(range(256)) * 5)            # a long one, odd bytes
    catcher = start(veth_pair.b, capdump, "stock", "-n", str(len(tx)), "-f", "ether proto 0x800",
                    veth_pair.if_b)
    try:
        sender = Program(veth_pair.a, ["sh", "-c", f"{capdump} -m {mode} {veth_pair.if_a} "
                                       f"<<'EOF'\n" + "\n".join(f.hex() for f in tx) + "\nEOF\n"],
                         route_env(route, PCAP_PF_RING_DEBUG=1))
        assert finish(sender) == ["ready", f"sent {len(tx)}"]
        out = finish(catcher)
    finally:
        catcher.stop()
    got = [bytes.fromhex(line[4:]) for line in out if line.startswith("pkt ")]
    assert got == tx
    if route == "ring":
        assert "capturing on a PF_RING ring" in sender.stderr


def test_fallback_is_visible_and_captures_the_same(veth_pair, tmp_path, capdump):
    rx, _ = flow_frames(veth_pair, 6)
    udp = [f for f in rx if f[23] == 17]
    p = start(veth_pair.a, capdump, "fallback", "-n", str(len(udp)), "-f", "udp",
              "-w", str(tmp_path / "f.pcap"), veth_pair.if_a)
    try:
        send(veth_pair.b, veth_pair.if_b, rx)
        out = finish(p)
    finally:
        p.stop()
    assert p.stderr == (f"pcap-pfring: {veth_pair.if_a}: falling back to the system libpcap: "
                        "PCAP_NO_PF_RING is set\n")
    assert "PCAP_NO_PF_RING is set" in out[2]
    assert out[1] == f"stats recv={len(udp)} drop=0 ifdrop=0"
    assert [r[3] for r in read_pcap(tmp_path / "f.pcap")[1]] == udp


@pytest.mark.parametrize("value, warning", [
    ("abc", "PCAP_PF_RING_CLUSTER_ID='abc' is not a number; not clustering"),
    ("300", "PCAP_PF_RING_CLUSTER_ID=300 is out of range (1..254); not clustering"),
    ("-1", "PCAP_PF_RING_CLUSTER_ID=-1 is out of range (1..254); not clustering"),
])
def test_bad_cluster_id_warns_once_and_captures(veth_pair, tmp_path, capdump, status_dir,
                                                 value, warning):
    rx, _ = flow_frames(veth_pair, 4)
    p = start(veth_pair.a, capdump, "ring", "-n", str(len(rx)), "-f", "ip",
              "-w", str(tmp_path / "c.pcap"), veth_pair.if_a,
              env={"PCAP_PF_RING_CLUSTER_ID": value, "PCAP_PF_RING_APPNAME": "capdump-env",
                   "PF_RING_STATUS_DIR": status_dir})
    try:
        rings = status.list_rings(str(status_dir))
        assert [r.fields.get("Appl. Name") for r in rings] == ["capdump-env"]
        assert "Cluster Id" not in rings[0].fields             # not clustered
        send(veth_pair.b, veth_pair.if_b, rx)
        finish(p)
    finally:
        p.stop()
    lines = p.stderr.splitlines()
    assert [line for line in lines if "PCAP_PF_RING_CLUSTER_ID" in line] == \
        [line for line in lines if warning in line]
    assert len([line for line in lines if warning in line]) == 1
    assert [r[3] for r in read_pcap(tmp_path / "c.pcap")[1]] == rx


def errors_on_both_routes(ns, capdump, *args):
    out = {}
    for route in ("ring", "stock"):
        res = ns.run([capdump, *args], env=route_env(route), check=False, timeout=30)
        out[route] = (res.returncode, res.stdout, res.stderr)
    return out


@pytest.mark.parametrize("create", [False, True], ids=["open_live", "create_activate"])
def test_missing_device_is_a_clear_error(veth_pair, capdump, create):
    args = ["-C"] if create else []
    out = errors_on_both_routes(veth_pair.a, capdump, *args, "-n", "1", "nosuchif0")
    assert out["ring"] == out["stock"]
    code, stdout, stderr = out["ring"]
    assert code == 1 and stdout == ""
    if create:
        assert stderr == "capdump: pcap_activate: No such device exists\n"
    else:
        assert stderr == ("capdump: pcap_open_live: nosuchif0: No such device exists "
                          "(No such device exists)\n")


def test_filter_syntax_error_comes_from_the_compiler(veth_pair, capdump):
    out = errors_on_both_routes(veth_pair.a, capdump, "-n", "1", "-f", "udp and and port 1",
                                veth_pair.if_a)
    assert out["ring"] == out["stock"]
    assert out["ring"] == (1, "", "capdump: pcap_compile: can't parse filter expression: "
                                  "syntax error\n")


@pytest.mark.parametrize("route", TWO_ROUTES)
def test_sigint_without_a_handler_ends_the_capture(veth_pair, capdump, route):
    p = start(veth_pair.a, capdump, route, "-n", "1000", "-f", "ip", veth_pair.if_a)
    assert p.stop(signal.SIGINT) == -signal.SIGINT
