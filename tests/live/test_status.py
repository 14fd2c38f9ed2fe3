"""The status tree: PF_RING's /proc/net/pf_ring files, live counters, dead
processes swept, pfring-info."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from pcap_pfring import Direction, Ring, status
from pcap_pfring.testing.fixtures import collect, frame

pytestmark = pytest.mark.needs_root

INFO = os.path.join(os.path.dirname(sys.executable), "pfring-info")


def ring_status(ring):
    for r in status.list_rings():
        if r.ring_id == ring.ring_id:
            return r
    return None


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    return pred()


def test_ring_file_follows_the_ring(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a)
    r = ring_status(ring)
    assert r is not None
    assert re.fullmatch(rf"{os.getpid()}-veth0\.{ring.ring_id}", r.name)
    assert r.fields["Bound Device(s)"] == "veth0"
    assert r.fields["Active"] == "0"
    assert r.fields["Appl. Name"] == "<unknown>"
    assert r.fields["BPF Filtering"] == "Disabled"
    assert r.fields["Capture Direction"] == "RX+TX"
    assert r.fields["Breed"] == "Standard"
    ring.set_application_name("status-test")
    ring.set_bpf_filter("ether proto 0x88b5")
    ring.set_direction(Direction.RX_ONLY)
    ring.enable()
    r = ring_status(ring)
    assert r.fields["Appl. Name"] == "status-test"
    assert r.fields["Active"] == "1"
    assert r.fields["BPF Filtering"] == "Enabled"
    assert r.fields["Capture Direction"] == "RX only"
    path = r.path
    ring.close()
    assert not os.path.exists(path)


def test_counters_are_live(veth_pair):
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, 0x88B5, bytes([i]) * 30) for i in range(37)]
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, enable=True)
    with ring:
        s = veth_pair.b.raw_socket(veth_pair.if_b)
        for f in frames:
            s.send(f)
        s.close()
        assert len(collect(ring, 37)) == 37
        r = wait_for(lambda: (x := ring_status(ring)) and x.fields["Tot Read"] == "37" and
                     x.fields["Tot Packets"] == "37" and x)
        assert r.fields["Tot Read"] == "37"
        assert r.fields["Tot Packets"] == "37"
        assert r.fields["Tot Pkt Lost"] == "0"


def test_application_stats_file(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a)
    with ring:
        ring.set_application_stats("Packets: 5\nBytes: 300")
        path = ring.appl_stats_file_name
        assert path == os.path.join(status.status_dir(), "stats", ring_status(ring).name)
        with open(path) as f:
            assert f.read() == "Packets: 5\nBytes: 300\n"
        assert ring_status(ring).stats_text == "Packets: 5\nBytes: 300\n"
        from pcap_pfring import InvalidArgumentError
        with pytest.raises(InvalidArgumentError, match="max 1023"):
            ring.set_application_stats("x" * 2000)
    assert not os.path.exists(path)


def test_info_and_dev_files(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a)
        status.refresh()
    with ring:
        info = status.parse_fields(status.read_info())
        assert info["PF_RING Version"].startswith("5.6.2 (pcap-pfring")
        assert int(info["Total rings"]) >= 1
        assert info["Capture TX"] == "Yes [RX+TX]"
        assert info["Ring slots"] == "4096"
        with open(os.path.join(status.status_dir(), "dev", "veth0", "info")) as f:
            dev = status.parse_fields(f.read())
        assert dev["Name"] == "veth0"
        assert dev["Address"].lower() == veth_pair.mac_a.hex(":")
        assert dev["# Bound Sockets"] == "1"


def test_dead_process_entries_vanish(veth_pair):
    code = ("import os, time, pcap_pfring\n"
            f"r = pcap_pfring.Ring({veth_pair.if_a!r}, appname='doomed')\n"
            "print(os.getpid(), r.ring_id, flush=True)\n"
            "time.sleep(60)\n")
    child = veth_pair.a.popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        pid, ring_id = map(int, child.stdout.readline().split())
        assert any(r.ring_id == ring_id and r.fields["Appl. Name"] == "doomed"
                   for r in status.list_rings())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    assert pid == child.pid
    res = subprocess.run([INFO, "--json"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert all(r["ring_id"] != ring_id for r in json.loads(res.stdout)["rings"])
    assert all(r.pid != pid for r in status.list_rings())


def test_pfring_info_output(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, appname="info-test")
    with ring:
        res = subprocess.run([INFO, str(ring.ring_id)], capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        assert f"-veth0.{ring.ring_id}" in res.stdout
        assert re.search(r"^Appl\. Name\s+: info-test$", res.stdout, re.M)
        res = subprocess.run([INFO, "--json"], capture_output=True, text=True, timeout=30)
        doc = json.loads(res.stdout)
        mine = [r for r in doc["rings"] if r["ring_id"] == ring.ring_id]
        assert mine and mine[0]["fields"]["Appl. Name"] == "info-test"
        res = subprocess.run([INFO, "999999999"], capture_output=True, text=True, timeout=30)
        assert res.returncode == 1
        assert res.stderr.strip().splitlines() == [f"pfring-info: no ring '999999999' in {status.status_dir()}"]
