"""Debian's ngrep, unmodified, on PF_RING rings: side by side with the same
ngrep on the system libpcap, on the same traffic.

Both ngreps match a pattern on a's interface at the same time; each prints
the matching packets and dumps them to a pcap file (-O).  The ring's output
and dump must be exactly stock's, and the dump exactly the packets sent
whose payload matches.  ngrep stops either after a count of matches (-n) or
on SIGINT, when its handler closes the dump and the capture from inside
pcap_loop."""
import re
import shutil
import signal

import pytest

from pcap_pfring.testing.compat import (
    ON_RING,
    TWO_ROUTES,
    Program,
    flow_frames,
    read_pcap,
    route_env,
    send,
    wait_packet_sockets,
)

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(shutil.which("ngrep") is None,
                                 reason="ngrep is installed by make setup")]



def payload(frame):
    """The L4 payload of a flow_frames frame (IPv4 without options)."""
    ihl = (frame[14] & 0x0F) * 4
    total = int.from_bytes(frame[16:18], "big")
    l4 = 14 + ihl
    header = 8 if frame[23] == 17 else (frame[l4 + 12] >> 4) * 4
    return frame[l4 + header:14 + total]


def start(pair, tmp_path, args):
    """ngrep ARGS on both routes on a's interface, dumping to <route>.pcap."""
    progs = {}
    try:
        for route in TWO_ROUTES:
            progs[route] = Program(
                pair.a, ["ngrep", "-q", "-l", "-d", pair.if_a, "-O", str(tmp_path / f"{route}.pcap"),
                         *args], route_env(route, PCAP_PF_RING_DEBUG=1))
        wait_packet_sockets(pair.a, len(TWO_ROUTES), pair.if_a)
    except BaseException:
        for p in progs.values():
            p.stop()
        raise
    return progs


def matches(text):
    """The packet lines of ngrep's output ("U a:p -> b:q #n" and the like)."""
    return [line for line in text.splitlines() if re.match(r"[UT] \S+ -> \S+ ", line)]


def check(progs, tmp_path, expected):
    # The header names each one's dump file; the rest must be the same.
    outs = {r: p.stdout.replace(str(tmp_path / f"{r}.pcap"), "DUMP") for r, p in progs.items()}
    assert len(matches(outs["ring"])) == len(expected)
    assert outs["ring"] == outs["stock"]
    dumps = {}
    for route in TWO_ROUTES:
        link, records = read_pcap(tmp_path / f"{route}.pcap")
        assert link == 1
        dumps[route] = [r[3] for r in records]
    assert dumps["ring"] == dumps["stock"] == expected
    assert ON_RING in progs["ring"].stderr
    assert "pcap-pfring" not in progs["stock"].stderr


@pytest.mark.parametrize("pattern,flags", [("flow 1[0-9] ", []), ("FLOW 2 TX", ["-i"]),
                                           ("^flow [0-9] rx", [])])
def test_count_of_matches(veth_pair, tmp_path, pattern, flags):
    rx, tx = flow_frames(veth_pair, 24)
    expected = [f for f in rx + tx
                if re.search(pattern.encode(), payload(f).rstrip(b"\0"),
                             re.I if flags else 0)]
    assert 0 < len(expected) < len(rx + tx)
    progs = start(veth_pair, tmp_path, [*flags, "-n", str(len(expected)), pattern, "ip"])
    try:
        send(veth_pair.b, veth_pair.if_b, rx)
        send(veth_pair.a, veth_pair.if_a, tx)
        codes = {r: p.wait(timeout=15) for r, p in progs.items()}
    finally:
        for p in progs.values():
            p.stop()
    assert codes == {"ring": 0, "stock": 0}, {r: p.stderr for r, p in progs.items()}
    check(progs, tmp_path, expected)


def test_sigint_closes_dump_and_capture(veth_pair, tmp_path):
    """ngrep's SIGINT handler calls pcap_dump_close and pcap_close while
    pcap_loop waits for packets below it: ngrep exits at once with its dump
    complete, on both routes."""
    rx, tx = flow_frames(veth_pair, 24)
    expected = [f for f in rx + tx if b" tx " in payload(f)]
    progs = start(veth_pair, tmp_path, [" tx ", "udp or tcp"])
    try:
        send(veth_pair.b, veth_pair.if_b, rx)
        send(veth_pair.a, veth_pair.if_a, tx)
        for p in progs.values():
            p.wait_for(f"#{len(rx + tx)}\n", stream="out")
        codes = {r: p.stop(signal.SIGINT, timeout=5) for r, p in progs.items()}
    finally:
        for p in progs.values():
            p.stop(signal.SIGKILL)
    assert codes == {"ring": 0, "stock": 0}
    check(progs, tmp_path, expected)
