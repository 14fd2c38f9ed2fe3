"""The status tree live: PF_RING's /proc/net/pf_ring files for real rings in
throwaway namespaces, counters rewritten by the worker thread, entries of
dead processes swept, and pfring-info.

The tree is the run's private one (tests/conftest.py sets PF_RING_STATUS_DIR).
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from pcap_pfring import Direction, InvalidArgumentError, Ring, SocketMode, lib, status
from pcap_pfring.testing.fixtures import collect, frame, send_from_b
from pcap_pfring.testing.status_labels import INFO_LABELS, RING_LABELS

pytestmark = pytest.mark.needs_root

TOOL = os.path.join(os.path.dirname(sys.executable), "pfring-info")
ETH_TEST = 0x88B5
LIVE_TIMEOUT = 3.5          # the worker rewrites each ring file once a second

DEV_LABELS = [
    "Name", "Index", "Address", "Polling Mode", "Promisc", "Type", "Family",
    "# Bound Sockets", "TX Queues", "RX Queues",
]


def tree():
    return os.environ["PF_RING_STATUS_DIR"]


def param(name):
    return lib.pfring_get_module_param(name.encode())


def file_name(ring, device="veth0", pid=None):
    return f"{pid or os.getpid()}-{device}.{ring.ring_id}"


def fields(ring):
    """The fields of the ring's file, read now."""
    return status.parse_fields(open(os.path.join(tree(), file_name(ring))).read())


def wait_until(pred, timeout=LIVE_TIMEOUT):
    """pred()'s first true value within timeout seconds, else its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    return pred()


def open_in_a(pair, **kw):
    with pair.a.enter():
        return Ring(pair.if_a, **kw)


def run_tool(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=30)


def test_ring_file_appears_at_open_with_pf_rings_labels(veth_pair):
    with open_in_a(veth_pair) as ring:
        path = os.path.join(tree(), file_name(ring))
        assert re.fullmatch(r"\d+-veth0\.\d+", os.path.basename(path))
        assert [r.path for r in status.list_rings() if r.ring_id == ring.ring_id] == [path]
        f = fields(ring)
        assert list(f) == RING_LABELS
        assert re.search(r"^Bound Device\(s\)        : veth0$", open(path).read(), re.M)
        slots = str(param("min_num_slots"))
        assert f == dict(f, **{
            "Bound Device(s)": "veth0", "Active": "0", "Breed": "Standard",
            "Appl. Name": "<unknown>", "Socket Mode": "RX+TX", "Capture Direction": "RX+TX",
            "Sampling Rate": "1", "Filtering Sampling Rate": "1", "BPF Filtering": "Disabled",
            "Channel Id Mask": "0xFFFFFFFFFFFFFFFF", "VLAN Id": "65535",
            "Slot Version": "21 [5.6.2]", "Min Num Slots": slots, "Bucket Len": str(ring.caplen),
            "Tot Packets": "0", "Tot Read": "0", "Num Free Slots": slots})
    assert not os.path.exists(path)


def test_configuration_changes_show_at_once(veth_pair):
    with open_in_a(veth_pair) as ring:
        assert fields(ring)["Appl. Name"] == "<unknown>"
        ring.set_application_name("status-test")
        assert fields(ring)["Appl. Name"] == "status-test"
        ring.enable()
        assert fields(ring)["Active"] == "1"
        ring.set_bpf_filter(f"ether proto {ETH_TEST:#x}")
        assert fields(ring)["BPF Filtering"] == "Enabled"
        ring.remove_bpf_filter()
        assert fields(ring)["BPF Filtering"] == "Disabled"
        ring.set_direction(Direction.RX_ONLY)
        assert fields(ring)["Capture Direction"] == "RX only"
        ring.set_direction(Direction.TX_ONLY)
        assert fields(ring)["Capture Direction"] == "TX only"
        ring.set_sampling_rate(3)
        ring.set_vlan_id(7)
        ring.set_channel_id(0)
        ring.set_poll_watermark(16)
        f = fields(ring)
        assert (f["Sampling Rate"], f["VLAN Id"], f["Channel Id Mask"], f["Poll Pkt Watermark"]) \
            == ("3", "7", "0x0000000000000001", "16")
        ring.disable()
        assert fields(ring)["Active"] == "0"


@pytest.mark.parametrize("mode, shown", [(SocketMode.RECV_ONLY, "RX only"),
                                         (SocketMode.SEND_ONLY, "TX only")])
def test_socket_mode(veth_pair, mode, shown):
    with open_in_a(veth_pair) as ring:
        ring.set_socket_mode(mode)
        f = fields(ring)
        assert f["Socket Mode"] == shown
        # PF_RING shows no capture direction for a send-only socket.
        assert ("Capture Direction" in f) == (mode != SocketMode.SEND_ONLY)


def test_counters_are_rewritten_by_the_worker(veth_pair):
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, ETH_TEST, bytes([i]) * 30)
              for i in range(37)]
    with open_in_a(veth_pair) as ring:
        ring.set_bpf_filter(f"ether proto {ETH_TEST:#x}")
        ring.enable()
        send_from_b(veth_pair, frames)
        assert len(collect(ring, 37)) == 37
        # No configuration call from here on: only the worker rewrites the file.
        f = wait_until(lambda: (x := fields(ring))["Tot Read"] == "37" and
                       x["Tot Packets"] == "37" and x)
        assert f and f["Tot Packets"] == "37" and f["Tot Read"] == "37"
        assert (f["Tot Pkt Lost"], f["Tot Insert"]) == ("0", "37")
        assert f["Num Free Slots"] == str(param("min_num_slots"))
        assert f["BPF Filtering"] == "Enabled"


def test_refreshes_rewrite_the_same_file_and_a_deleted_one_comes_back(veth_pair):
    """A ring's files are rewritten in place (same inode, no rename: a rename
    on ext4 writes the file out to the disk every second), shorter texts
    leave no tail, and a file someone deleted is made again at the next
    refresh."""
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, ETH_TEST, bytes([i]) * 30)
              for i in range(12)]
    with open_in_a(veth_pair) as ring:
        ring.enable()
        path = os.path.join(tree(), file_name(ring))
        stats = ring.appl_stats_file_name
        ring.set_application_stats("x" * 500)
        ino, sino = os.stat(path).st_ino, os.stat(stats).st_ino
        ring.set_application_stats("short")
        assert (open(stats).read(), os.stat(stats).st_ino) == ("short\n", sino)
        send_from_b(veth_pair, frames)
        assert len(collect(ring, 12)) == 12
        assert wait_until(lambda: fields(ring)["Tot Read"] == "12")
        assert os.stat(path).st_ino == ino
        assert open(path).read().endswith("\n") and "Tot Read" in open(path).read()
        os.unlink(path)
        os.unlink(stats)
        assert wait_until(lambda: os.path.exists(path))
        assert fields(ring)["Tot Read"] == "12" and os.stat(path).st_ino != ino
        ring.set_application_stats("again")
        assert open(stats).read() == "again\n"
        assert [r.name for r in status.list_rings()].count(file_name(ring)) == 1


def test_worker_thread_runs_only_while_there_are_rings(veth_pair):
    # In a fresh process, so that no ring of another test keeps a worker alive.
    code = ("import os, pcap_pfring\n"
            "def workers():\n"
            "    tasks = '/proc/self/task'\n"
            "    return sum(open(f'{tasks}/{t}/comm').read() == 'pfring-status\\n'\n"
            "               for t in os.listdir(tasks))\n"
            "counts = [workers()]\n"
            f"first = pcap_pfring.Ring({veth_pair.if_a!r})\n"
            f"second = pcap_pfring.Ring({veth_pair.if_a!r})\n"
            "counts.append(workers())\n"
            "first.close()\n"
            "counts.append(workers())\n"
            "second.close()\n"
            "counts.append(workers())\n"
            f"third = pcap_pfring.Ring({veth_pair.if_a!r})\n"
            "counts.append(workers())\n"
            "print(counts)\n")
    res = veth_pair.a.run([sys.executable, "-c", code], timeout=30)
    assert res.stdout.strip() == "[0, 1, 1, 0, 1]"


def test_inline_mode_refreshes_from_the_read_path_without_a_thread(veth_pair):
    """pfring_status_inline(1), as the libpcap drop-in uses it: no worker
    thread, and pfring_dispatch/pfring_poll rewrite the counters."""
    code = ("import os, sys, time, pcap_pfring\n"
            "from pcap_pfring import ffi, lib, status\n"
            "lib.pfring_status_inline(1)\n"
            f"r = pcap_pfring.Ring({veth_pair.if_a!r}, enable=True)\n"
            "cb = ffi.callback('pfringProcesssPacket', lambda h, p, u: None)\n"
            "print(len(os.listdir('/proc/self/task')), flush=True)\n"
            "sys.stdin.readline()\n"
            "end = time.monotonic() + 2.5\n"
            "while time.monotonic() < end:\n"
            "    lib.pfring_dispatch(r._h(), 0, cb, ffi.NULL)\n"
            "    lib.pfring_poll(r._h(), 100)\n"
            "f = [x for x in status.list_rings() if x.pid == os.getpid()][0].fields\n"
            "print(f['Tot Packets'], len(os.listdir('/proc/self/task')), flush=True)\n")
    p = veth_pair.a.popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "1"          # no worker thread
        frames = [frame(veth_pair.mac_a, veth_pair.mac_b, ETH_TEST, bytes([i]) * 30)
                  for i in range(23)]
        send_from_b(veth_pair, frames)
        p.stdin.write("go\n")
        p.stdin.flush()
        out, _ = p.communicate(timeout=30)
    finally:
        p.kill()
    assert out.split() == ["23", "1"]


def test_application_stats_file(veth_pair):
    with open_in_a(veth_pair) as ring:
        name = file_name(ring)
        path = ring.appl_stats_file_name
        assert path == os.path.join(tree(), "stats", name)
        assert not os.path.exists(path)
        ring.set_application_stats("Packets: 5\nBytes: 300")
        assert open(path).read() == "Packets: 5\nBytes: 300\n"
        ring.set_application_stats("x" * 1023)
        assert open(path).read() == "x" * 1023 + "\n"
        with pytest.raises(InvalidArgumentError, match=r"1024 bytes long \(max 1023\)"):
            ring.set_application_stats("y" * 1024)
        assert open(path).read() == "x" * 1023 + "\n"
        mine = [r for r in status.list_rings() if r.name == name]
        assert mine[0].stats_text == "x" * 1023 + "\n"
    assert not os.path.exists(path)
    assert not os.path.exists(os.path.join(tree(), name))


def test_info_file(veth_pair):
    with open_in_a(veth_pair):
        with veth_pair.a.enter():
            live = status.refresh()
        info = status.read_info()
        assert list(info.fields) == INFO_LABELS
        assert info.text.startswith("PF_RING Version          : 5.6.2 (pcap-pfring 0.1.0)\n"
                                    f"Total rings              : {live}\n"
                                    "\nStandard (non ZC) Options\n")
        assert live == len(status.list_rings()) >= 1
        capture_tx = "Yes [RX+TX]" if param("enable_tx_capture") else "No [RX only]"
        assert info.fields == dict(info.fields, **{
            "Ring slots": str(param("min_num_slots")), "Slot version": "21",
            "Capture TX": capture_tx, "IP Defragment": "No", "Socket Mode": "Standard"})


def test_dev_files_describe_the_callers_namespace(veth_pair):
    with open_in_a(veth_pair):
        with veth_pair.a.enter():
            index = socket.if_nametoindex(veth_pair.if_a)
            status.refresh()
        devices = {d.name: d for d in status.list_devices()}
        assert set(devices) == {"lo", veth_pair.if_a}
        dev = devices[veth_pair.if_a]
        assert list(dev.fields) == DEV_LABELS
        assert dev.text.startswith(f"Name:         {veth_pair.if_a}\n")
        assert dev.fields == {
            "Name": veth_pair.if_a, "Index": str(index), "Address": veth_pair.mac_a.hex(":").upper(),
            "Polling Mode": "NAPI", "Promisc": "Disabled", "Type": "Ethernet",
            "Family": "Standard NIC", "# Bound Sockets": "1", "TX Queues": "1", "RX Queues": "1"}
        assert devices["lo"].fields["Type"] == "Loopback"
        assert devices["lo"].fields["# Bound Sockets"] == "0"
        veth_pair.a.run(["ip", "link", "set", veth_pair.if_a, "promisc", "on"])
        with veth_pair.a.enter():
            status.refresh()
        promisc = {d.name: d.fields["Promisc"] for d in status.list_devices()}
        assert promisc == {"lo": "Disabled", veth_pair.if_a: "Enabled"}


def test_killed_process_leaves_no_entry(veth_pair):
    code = ("import os, time, pcap_pfring\n"
            f"r = pcap_pfring.Ring({veth_pair.if_a!r}, appname='doomed')\n"
            "r.set_application_stats('Packets: 1')\n"
            "print(os.getpid(), r.ring_id, flush=True)\n"
            "time.sleep(60)\n")
    child = veth_pair.a.popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        pid, ring_id = map(int, child.stdout.readline().split())
        name = f"{pid}-{veth_pair.if_a}.{ring_id}"
        assert [r.fields["Appl. Name"] for r in status.list_rings() if r.name == name] == ["doomed"]
        assert os.path.exists(os.path.join(tree(), "stats", name))
    finally:
        if child.poll() is None:
            os.kill(pid, signal.SIGKILL)
        child.wait(10)
    res = run_tool("--json")
    assert res.returncode == 0, res.stderr
    assert all(r["pid"] != pid for r in json.loads(res.stdout)["rings"])
    assert all(r.pid != pid for r in status.list_rings())
    leftovers = [n for d in (tree(), os.path.join(tree(), "stats"))
                 for n in os.listdir(d) if n.startswith(f"{pid}-") or f".{pid}." in n]
    assert leftovers == []


def test_forked_child_adopts_only_the_rings_it_uses(veth_pair):
    ring = open_in_a(veth_pair, appname="parent")
    with ring:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:                       # the child: report, never return into pytest
            try:
                before = sorted(r.name for r in status.list_rings())
                ring.set_application_name("child")
                after = {r.name: r.fields["Appl. Name"] for r in status.list_rings()}
                os.write(write_end, json.dumps([before, after]).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as f:
            before, after = json.loads(f.read())
        os.waitpid(pid, 0)
        mine, childs = file_name(ring), file_name(ring, pid=pid)
        assert mine in before and childs not in before
        assert after[mine] == "parent" and after[childs] == "child"
        status.refresh()
        assert not os.path.exists(os.path.join(tree(), childs))
        assert fields(ring)["Appl. Name"] == "parent"


def test_pfring_info_one_ring_and_json(veth_pair):
    with open_in_a(veth_pair, appname="info-test") as ring:
        name = file_name(ring)
        text = open(os.path.join(tree(), name)).read()
        for key in (str(ring.ring_id), name):
            res = run_tool(key)
            assert res.returncode == 0, res.stderr
            assert res.stdout == f"{name}\n{text}"
        res = run_tool()
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("PF_RING Version          : 5.6.2")
        assert f"\n{name}\nBound Device(s)        : veth0\n" in res.stdout
        res = subprocess.run([sys.executable, "-m", "pcap_pfring.cli.pfring_info", "--json",
                              str(ring.ring_id)], capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        doc = json.loads(res.stdout)
        assert doc["dir"] == tree()
        assert int(doc["info"]["Total rings"]) >= 1
        assert doc["rings"] == [{"file": name, "pid": os.getpid(), "device": "veth0",
                                 "ring_id": ring.ring_id, "fields": status.parse_fields(text),
                                 "stats": None}]


def test_pfring_info_errors():
    res = run_tool("999999999")
    assert res.returncode == 1
    assert res.stdout == ""
    assert res.stderr.splitlines() == [f"pfring-info: no ring '999999999' in {tree()}"]
    res = run_tool("--bogus")
    assert res.returncode == 2
