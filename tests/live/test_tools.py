"""pfsend, pfcount, pfdump and the demo as users run them: real processes in
throwaway namespaces (``ip netns exec``), exact counts, every run bounded in
packets and time, every process killed by pid if it outlives its test.

Every test that captures with pfcount or pfdump runs twice: on an AF_PACKET
ring (``-i veth0``) and on a zc: ring (``-i zc:veth0``, AF_XDP in copy mode
on veth); ``cap_dev(pair)`` is the capture device of the running test."""
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time

import pytest

from pcap_pfring.testing.fixtures import frame, send_from_b
from pcap_pfring.testing.procs import Process

pytestmark = pytest.mark.needs_root

BIN = os.path.dirname(sys.executable)
_BACKEND = {"zc": False}
CAPTURE_TOOLS = ("pfcount", "pfdump")


def pytest_generate_tests(metafunc):
    src = metafunc.function.__code__.co_names + metafunc.function.__code__.co_consts
    captures = any(name in src for name in ("pfcount", "pfdump", "start"))
    if "veth_pair" in metafunc.fixturenames and captures:
        metafunc.fixturenames.append("capture_backend")
        metafunc.parametrize("capture_backend", ["af_packet", "zc"], indirect=True)


@pytest.fixture
def capture_backend(request):
    _BACKEND["zc"] = request.param == "zc"
    yield request.param
    _BACKEND["zc"] = False


def cap_dev(pair):
    """The capture device of the running test: a's veth, or zc: on it."""
    return f"zc:{pair.if_a}" if _BACKEND["zc"] else pair.if_a
READY = {"pfcount": "# Polling threads:", "pfdump": "Capturing from"}


def tool(name):
    return os.path.join(BIN, name)


class Tool(Process):
    """One tool running in a namespace (``wait_err`` for its ready line)."""

    def __init__(self, ns, name, *args):
        super().__init__(ns, [tool(name), *args], name=name)


def start(ns, name, *args):
    t = Tool(ns, name, *args)
    try:
        t.wait_err(READY[name])
    except BaseException:
        t.kill()
        raise
    return t


def pfcount(pair, *args):
    return start(pair.a, "pfcount", "-i", cap_dev(pair), "-e", "1", *args)


def pfsend(pair, *args, timeout=60):
    res = pair.b.run([tool("pfsend"), "-i", pair.if_b, "-M", pair.mac_a.hex(":"), *args],
                     check=False, timeout=timeout)
    assert res.returncode == 0, res.stderr
    return res


def json_result(t, timeout=30, sig=None):
    rc, out, err = t.finish(timeout, sig)
    assert rc == 0, err
    return json.loads(out), err


# -- pfsend -> pfcount -------------------------------------------------------------

def test_pfsend_to_pfcount_counts_exactly(veth_pair):
    with pfcount(veth_pair, "-N", "50000", "-d", "30", "-f", "udp", "--json") as c:
        res = pfsend(veth_pair, "-n", "50000", "-b", "8", "-c", "8", "-l", "64")
        stats, err = json_result(c)
    lines = res.stdout.splitlines()
    assert lines[0] == f"Using PF_RING v.5.6.2 on {veth_pair.if_b}"
    assert lines[1] == f"Sending packets on {veth_pair.if_b}"
    assert lines[-1] == "Sent 50000 packets"
    assert (stats["recv"], stats["drop"], stats["bytes"]) == (50000, 0, 50000 * 64)
    assert stats["duration_s"] > 0 and stats["pps"] > 0
    tail = err[err.index("Leaving..."):]
    assert "[50'000 pkts total][0 pkts dropped][0.0% dropped]" in tail
    assert "[50'000 pkts rcvd][3'200'000 bytes rcvd]" in tail


def test_pfsend_json_and_many_flows(veth_pair):
    """-b x -c x -t distinct flows arrive in round robin: every flow equally often."""
    with pfcount(veth_pair, "-N", "2400", "-d", "30", "-f", "udp", "-v") as c:
        res = pfsend(veth_pair, "-n", "2400", "-b", "4", "-c", "3", "-t", "2", "--json", "-q")
        rc, out, err = c.finish()
    assert rc == 0, err
    sent = json.loads(res.stdout)
    assert sent["sent"] == 2400 and sent["bytes"] == 2400 * 60
    assert "Using PF_RING" not in res.stderr                    # -q
    flows = {}
    for line in out.splitlines():
        m = re.search(r"\[IPv4\]\[([\d.]+):(\d+) -> ([\d.]+):(\d+)\]", line)
        flows[m.groups()] = flows.get(m.groups(), 0) + 1
    assert len(flows) == 4 * 3 * 2
    assert set(flows.values()) == {100}


def test_pfcount_filter_counts_only_matching(veth_pair):
    with pfcount(veth_pair, "-d", "20", "-f", "udp and src host 10.0.0.2", "--json") as c:
        pfsend(veth_pair, "-n", "1000", "-b", "4", "-c", "1", "-S", "10.0.0.1")
        time.sleep(0.5)                                          # let it drain its ring
        stats, _ = json_result(c, sig=signal.SIGINT)
    assert stats["recv"] == 250                                  # one source of four
    assert stats["bytes"] == 250 * 60


def test_pfcount_verbose_lines(veth_pair):
    with pfcount(veth_pair, "-v", "-N", "3", "-d", "20", "-f", "udp") as c:
        pfsend(veth_pair, "-n", "3", "-c", "3", "-m", "02:00:00:00:00:01")
        rc, out, err = c.finish()
    assert rc == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    mac_a = veth_pair.mac_a.hex(":")
    for i, line in enumerate(lines):
        m = re.fullmatch(r"(\d\d):(\d\d):(\d\d)\.(\d{9}) \[RX\]\[if_index=(\d+)\]\[hash=(\d+)\]"
                         r"\[02:00:00:00:00:01 -> (\S+)\] \[IPv4\]\[10\.0\.0\.1:10000 -> "
                         r"192\.168\.0\.(\d):9\] \[l3_proto=UDP\].*\[caplen=60\]\[len=60\]"
                         r"\[eth_offset=0\]\[l3_offset=14\]\[l4_offset=34\]\[payload_offset=42\]",
                         line)
        assert m, line
        assert m.group(7) == mac_a and m.group(8) == str(1 + i)
        assert int(m.group(6)) != 0


def test_pfcount_active_wait(veth_pair):
    with pfcount(veth_pair, "-a", "-N", "2000", "-d", "30", "-f", "udp", "--json") as c:
        pfsend(veth_pair, "-n", "2000", "-b", "2")
        stats, _ = json_result(c)
    assert stats["recv"] == 2000


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_pfcount_signal_prints_final_stats(veth_pair, sig):
    with pfcount(veth_pair) as c:
        time.sleep(2.3)                                          # two stats blocks
        rc, out, err = c.finish(20, sig=sig)
    assert rc == 0, err
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == "Using PF_RING v.5.6.2"
    assert lines[1].startswith("Dumping statistics on ")
    mac = veth_pair.mac_a.hex(":").upper()
    assert re.fullmatch(rf"Capturing from {cap_dev(veth_pair)} \[mac: {mac}\]\[if_index: \d+\]",
                        lines[2]), lines[2]
    assert lines[3] == "# Device RX channels: 1"
    assert lines[4] == "# Polling threads:    1"
    # periodic blocks, the second one with the average rates
    assert err.count("=========================") == 2 * 3
    blocks = err.split("=========================\n")
    assert re.search(r"\[0 pkts rcvd\]\[0 bytes rcvd\]\n", blocks[1])
    assert "[0.00 pkt/sec][0.00 Mbit/sec]" in blocks[3]
    assert re.search(r"Actual Stats: \[0 pkts rcvd\]\[1'0\d\d\.\d\d ms\]\[0\.00 pps\]\[0\.00 Gbps\]",
                     blocks[1])
    tail = err[err.index("Leaving..."):]
    assert "Absolute Stats: [0 pkts total][0 pkts dropped][0.0% dropped]" in tail
    assert "Actual Stats:" in tail


def test_pfcount_application_stats(veth_pair):
    with pfcount(veth_pair, "-d", "20", "-f", "udp") as c:
        path = next(line.split(" on ", 1)[1].strip() for line in c.err
                    if line.startswith("Dumping statistics on "))
        pfsend(veth_pair, "-n", "100")
        time.sleep(1.5)                                          # one refresh after the traffic
        text = open(path).read()
        c.finish(20, sig=signal.SIGINT)
    assert re.search(r"^Duration: 0:00:00:0\d:\d{3}$", text, re.M), text
    assert re.search(r"^Packets:\s+100$", text, re.M), text
    assert re.search(r"^Dropped:\s+0$", text, re.M), text
    assert re.search(r"^Bytes:\s+6000$", text, re.M), text


def test_pfcount_duration_bounds_the_run(veth_pair):
    t0 = time.monotonic()
    with Tool(veth_pair.a, "pfcount", "-i", cap_dev(veth_pair), "-d", "1.5", "--json", "-q") as c:
        stats, err = json_result(c)
    assert 1.4 <= time.monotonic() - t0 < 10
    assert stats["recv"] == 0 and 1.4 <= stats["duration_s"] < 3
    assert err.startswith("Leaving...\n")                       # -q: no startup lines


# -- pfsend -------------------------------------------------------------------------

def test_pfsend_ipv6(veth_pair):
    with pfcount(veth_pair, "-d", "20", "-f", "ip6 and udp", "--json") as c:
        pfsend(veth_pair, "-V", "6", "-n", "600", "-b", "3", "-c", "2", "-l", "100")
        time.sleep(0.5)
        stats, _ = json_result(c, sig=signal.SIGINT)
    assert (stats["recv"], stats["bytes"]) == (600, 600 * 100)


def test_pfsend_rate_and_duration(veth_pair):
    res = pfsend(veth_pair, "-n", "1000", "-p", "2000", "--json")
    stats = json.loads(res.stdout)
    assert stats["sent"] == 1000
    assert 0.45 <= stats["duration_s"] < 5                      # 1000 packets at 2000 pps
    # no count: -d ends it; the per-second TX rate lines are there
    res = pfsend(veth_pair, "-p", "1000", "-d", "2.2")
    lines = res.stdout.splitlines()
    rate = [line for line in lines if line.startswith("TX rate: ")]
    assert len(rate) == 2
    assert re.fullmatch(r"TX rate: \[current [\d'.]+ pps/[\d.]+ Gbps\]\[average [\d'.]+ pps/"
                        r"[\d.]+ Gbps\]\[total [\d']+ pkts\]", rate[0])
    sent = int(lines[-1].split()[1])
    assert 2000 <= sent <= 2300


def test_pfsend_sigint(veth_pair):
    with Tool(veth_pair.b, "pfsend", "-i", veth_pair.if_b, "-p", "1000", "-d", "30") as s:
        time.sleep(1.2)
        rc, out, err = s.finish(20, sig=signal.SIGINT)
    assert rc == 0, err
    assert re.search(r"^Sent \d+ packets$", out, re.M)


def test_pfsend_rate_gbps(veth_pair):
    # 0.001 Gbit/s of 100-byte frames: 1e6 / (124 * 8) = 1008 pps
    res = pfsend(veth_pair, "-n", "500", "-l", "100", "-r", "0.001", "--json")
    stats = json.loads(res.stdout)
    assert stats["sent"] == 500 and 0.45 <= stats["duration_s"] < 5


# -- pfdump and replay -------------------------------------------------------------

def test_pfdump_writes_the_sent_frames(veth_pair, tmp_path):
    out = tmp_path / "dump.pcap"
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, 0x88B5, bytes([i]) * 100) for i in range(20)]
    before = time.time()
    with start(veth_pair.a, "pfdump", "-i", cap_dev(veth_pair), "-w", str(out), "-e", "1",
               "-s", "256", "-n", "20", "-d", "20", "-f", "ether proto 0x88b5") as p:
        send_from_b(veth_pair, frames)
        rc, stdout, stderr = p.finish()
    assert rc == 0, stderr
    assert stdout.splitlines()[-1] == f"Saved 20 packets on {out}"
    link, snaplen, records = read_pcap(out)
    assert (link, snaplen) == (1, 256)
    assert [r[3] for r in records] == frames
    assert all(r[1] == r[2] == 114 for r in records)                # caplen, len
    ts = [r[0] for r in records]
    assert ts == sorted(ts) and before - 1 <= ts[0] <= time.time() + 1


def test_pfdump_snaplen_and_stats_lines(veth_pair, tmp_path):
    out = tmp_path / "cut.pcap"
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, 0x88B5, bytes([i]) * 200) for i in range(5)]
    with start(veth_pair.a, "pfdump", "-i", cap_dev(veth_pair), "-w", str(out), "-e", "1",
               "-s", "64", "-d", "2.4", "-t", "1", "-f", "ether proto 0x88b5") as p:
        send_from_b(veth_pair, frames)
        rc, stdout, stderr = p.finish()
    assert rc == 0, stderr
    lines = stdout.splitlines()
    assert lines[0] == "1 sec pkts 5 drop 0 bytes 1070 | pkts 5 bytes 1070 drop 0"
    assert lines[1] == "2 sec pkts 0 drop 0 bytes 0 | pkts 5 bytes 1070 drop 0"
    assert lines[2] == f"Saved 5 packets on {out}"
    _, snaplen, records = read_pcap(out)
    assert snaplen == 64
    assert [(r[1], r[2], r[3]) for r in records] == [(64, 214, f[:64]) for f in frames]


def test_pfdump_file_error_is_one_line(veth_pair, tmp_path):
    with Tool(veth_pair.a, "pfdump", "-i", cap_dev(veth_pair), "-w",
              str(tmp_path / "no" / "such" / "dir.pcap"), "-d", "10") as p:
        rc, out, err = p.finish()
    assert rc == 1
    assert err.splitlines()[-1].startswith("pfdump: ")
    assert "dir.pcap" in err.splitlines()[-1]


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
@pytest.mark.parametrize("timing", [False, True])
def test_pfsend_replays_a_pcap(veth_pair, tmp_path, timing, fmt):
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, 0x88B6, bytes([i]) * (50 + i))
              for i in range(10)]
    src = tmp_path / f"in.{fmt}"
    write = write_pcap if fmt == "pcap" else write_pcapng
    write(src, frames, gap_us=100_000)               # 0.9 s from the first to the last
    dump = tmp_path / "out.pcap"
    with start(veth_pair.a, "pfdump", "-i", cap_dev(veth_pair), "-w", str(dump), "-e", "1",
               "-s", "256", "-n", "20", "-d", "20", "-f", "ether proto 0x88b6") as p:
        res = veth_pair.b.run([tool("pfsend"), "-i", veth_pair.if_b, "-f", str(src), "-n", "20",
                               "--json"] + (["-r", "-1"] if timing else []),
                              check=False, timeout=30)
        assert res.returncode == 0, res.stderr
        rc, _, err = p.finish()
    assert rc == 0, err
    stats = json.loads(res.stdout)
    assert stats["sent"] == 20 and stats["bytes"] == 2 * sum(map(len, frames))
    assert [r[3] for r in read_pcap(dump)[2]] == frames + frames      # two passes, in order
    if timing:
        assert 1.7 <= stats["duration_s"] < 6        # two passes of 0.9 s
    else:
        assert stats["duration_s"] < 1


# -- errors and the demo ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["pfcount", "pfsend", "pfdump"])
def test_missing_interface(name, tmp_path):
    argv = [tool(name), "-i", "nosuchif7"] + (["-w", str(tmp_path / "x.pcap")] if name == "pfdump" else [])
    res = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert res.returncode == 1
    assert res.stdout == ""
    assert res.stderr.strip().splitlines() == [f"{name}: no such interface 'nosuchif7'"]


def test_pfcount_unsupported_cluster_is_one_line(veth_pair):
    """Whatever set_cluster says (supported or not), it is never a traceback."""
    with Tool(veth_pair.a, "pfcount", "-i", cap_dev(veth_pair), "-c", "7", "-H", "13", "-d", "1",
              "--json", "-q") as c:
        rc, out, err = c.finish()
    if rc == 0:
        assert json.loads(out)["recv"] >= 0
    else:
        assert rc == 1 and len(err.strip().splitlines()) == 1 and err.startswith("pfcount: ")


def test_demo_runs(tmp_path):
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "pcap_pfring.demo"], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert time.monotonic() - t0 < 60
    out = res.stdout
    assert "needs root" in out.splitlines()[1]
    assert "Sent 100000 packets" in out
    assert "pfsend sent 100,000 packets; pfcount counted 100,000" in out
    assert "Leaving..." in out and "TX rate:" in out and "Absolute Stats:" in out
    names = re.search(r"namespaces deleted: (\S+) (\S+)", out).groups()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(n in listed for n in names)


# -- pcap files ------------------------------------------------------------------------

def read_pcap(path):
    """(link type, snaplen, [(ts, caplen, len, bytes)]) of a little-endian µs pcap."""
    data = path.read_bytes()
    magic, _, _, _, _, snaplen, link = struct.unpack("<IHHiIII", data[:24])
    assert magic == 0xA1B2C3D4
    records, off = [], 24
    while off < len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        records.append((sec + usec / 1e6, incl, orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return link, snaplen, records


def write_pcapng(path, frames, gap_us=0):
    """A big-endian pcapng file: one Ethernet interface in ns, one EPB per frame."""
    def block(btype, body):
        body += bytes(-len(body) % 4)
        n = len(body) + 12
        return struct.pack(">II", btype, n) + body + struct.pack(">I", n)
    tsresol = struct.pack(">HH", 9, 1) + b"\x09\0\0\0" + struct.pack(">HH", 0, 0)
    out = [block(0x0A0D0D0A, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1)),
           block(1, struct.pack(">HHI", 1, 0, 0) + tsresol)]
    for i, f in enumerate(frames):
        t = 1_700_000_000_000_000_000 + i * gap_us * 1000
        out.append(block(6, struct.pack(">IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(f), len(f)) + f))
    path.write_bytes(b"".join(out))


def write_pcap(path, frames, gap_us=0):
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, f in enumerate(frames):
        t = 1_700_000_000_000_000 + i * gap_us
        out.append(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(f), len(f)) + f)
    path.write_bytes(b"".join(out))
