"""pfsend, pfcount, pfdump and the demo as users run them: real processes in
throwaway namespaces, exact counts."""
import json
import os
import signal
import struct
import subprocess
import sys
import time

import pytest

from pcap_pfring.testing.fixtures import frame

pytestmark = pytest.mark.needs_root

BIN = os.path.dirname(sys.executable)


def tool(name):
    return os.path.join(BIN, name)


def start_pfcount(pair, *args):
    p = pair.a.popen([tool("pfcount"), "-i", pair.if_a, "-e", "1", "--json", *args],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.7)      # let it enable its ring
    return p


def pfsend(pair, *args):
    res = pair.b.run([tool("pfsend"), "-i", pair.if_b, "-M", pair.mac_a.hex(":"), *args],
                     check=False, timeout=60)
    assert res.returncode == 0, res.stderr
    return res


def finish(p, timeout=30):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"pfcount did not stop: {err}") from None
    assert p.returncode == 0, err
    return json.loads(out), err


def test_pfsend_to_pfcount_counts_exactly(veth_pair):
    counter = start_pfcount(veth_pair, "-N", "50000", "-d", "30", "-f", "udp")
    res = pfsend(veth_pair, "-n", "50000", "-b", "8", "-c", "8", "-l", "64")
    assert res.stdout.strip().splitlines()[-1] == "Sent 50000 packets"
    stats, _ = finish(counter)
    assert stats["recv"] == 50000
    assert stats["drop"] == 0
    assert stats["bytes"] == 50000 * 64


def test_pfcount_filter_counts_only_matching(veth_pair):
    counter = start_pfcount(veth_pair, "-d", "3", "-f", "udp and src host 10.0.0.2")
    pfsend(veth_pair, "-n", "1000", "-b", "4", "-c", "1", "-S", "10.0.0.1")
    stats, _ = finish(counter)
    assert stats["recv"] == 250          # one source of four


def test_pfcount_sigint_prints_final_stats(veth_pair):
    p = veth_pair.a.popen([tool("pfcount"), "-i", veth_pair.if_a, "-e", "1"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    os.kill(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0
    assert "Using PF_RING v.5.6.2" in err
    assert "Capturing from veth0" in err
    assert "Leaving..." in err
    tail = err[err.index("Leaving..."):]
    assert "Absolute Stats: [0 pkts total][0 pkts dropped][0.0% dropped]" in tail
    assert "Actual Stats:" in tail


def test_pfdump_writes_the_sent_frames(veth_pair, tmp_path):
    out = tmp_path / "dump.pcap"
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, 0x88B5, bytes([i]) * 100) for i in range(20)]
    p = veth_pair.a.popen([tool("pfdump"), "-i", veth_pair.if_a, "-w", str(out), "-e", "1",
                           "-s", "256", "-n", "20", "-d", "20", "-f", "ether proto 0x88b5"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.7)
    s = veth_pair.b.raw_socket(veth_pair.if_b)
    for f in frames:
        s.send(f)
    s.close()
    stdout, stderr = p.communicate(timeout=30)
    assert p.returncode == 0, stderr
    assert "Saved 20 packets" in stdout
    assert read_pcap(out) == frames


def test_pfsend_replays_a_pcap(veth_pair, tmp_path):
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, 0x88B6, bytes([i]) * (50 + i)) for i in range(10)]
    src = tmp_path / "in.pcap"
    write_pcap(src, frames)
    dump = tmp_path / "out.pcap"
    p = veth_pair.a.popen([tool("pfdump"), "-i", veth_pair.if_a, "-w", str(dump), "-e", "1",
                           "-s", "256", "-n", "10", "-d", "20", "-q"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.7)
    res = veth_pair.b.run([tool("pfsend"), "-i", veth_pair.if_b, "-f", str(src), "-n", "10"],
                          check=False, timeout=30)
    assert res.returncode == 0, res.stderr
    assert "Sent 10 packets" in res.stdout
    p.communicate(timeout=30)
    assert read_pcap(dump) == frames


@pytest.mark.parametrize("name", ["pfcount", "pfsend", "pfdump"])
def test_missing_interface(name, tmp_path):
    argv = [tool(name), "-i", "nosuchif7"] + (["-w", str(tmp_path / "x.pcap")] if name == "pfdump" else [])
    res = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [f"{name}: no such interface 'nosuchif7'"]


def test_demo_runs(tmp_path):
    res = subprocess.run([sys.executable, "-m", "pcap_pfring.demo"], capture_output=True,
                         text=True, timeout=170, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "pfcount counted 200,000" in res.stdout
    assert "namespaces deleted" in res.stdout


def read_pcap(path):
    data = path.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1"
    frames, off = [], 24
    while off < len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def write_pcap(path, frames):
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, f in enumerate(frames):
        out.append(struct.pack("<IIII", 1_700_000_000 + i, 0, len(f), len(f)) + f)
    path.write_bytes(b"".join(out))
