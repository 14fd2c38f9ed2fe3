"""The DNA Cluster (libzero): a master distributing to slave processes
through shared memory.

The master is ``tests/unit/c/dna_master.c`` (built from libpfring's sources)
on a's veth; the slaves are ``python -m pcap_pfring.testing.dna_slave``
(a ``Ring("dnacluster:ID@APP")`` writing every packet it gets to a file) and
pfcount, all processes in namespace a.  Flows go both ways: ``fwd`` received
on veth0, ``rev`` transmitted on it; the master's ring sees both.

The default distribution puts a packet in app ``hash % num_apps``: PF_RING's
symmetric pkt_hash of the frame as the master's ring hands it out (a VLAN
tag back in the data), mixed as the kernel clusters mix theirs; checked
here against ``default_hash`` (``cluster_ref`` for IPv4).

Every wait is bounded; processes are killed by pid when a test ends, and the
namespaces are deleted by the fixture.  Each test uses cluster ids of its
own, and the master removes the shared memory when it ends.
"""
import json
import mmap
import os
import pathlib
import shutil
import signal
import struct
import subprocess
import sys
import time

import pytest

from pcap_pfring import Ring
from pcap_pfring.errors import (
    BadInterfaceNameError,
    InvalidArgumentError,
    PFRingError,
    WrongConfigurationError,
)
from pcap_pfring.pcapfile import read_packets
from pcap_pfring.testing import cprog
from pcap_pfring.testing.cluster_ref import cluster_hash, fmix32
from pcap_pfring.testing.fixtures import drain
from pcap_pfring.testing.flows import make_flows, send_flows
from pcap_pfring.testing.procs import Process

pytestmark = pytest.mark.needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
SLAVE = [sys.executable, "-m", "pcap_pfring.testing.dna_slave"]
PFCOUNT = os.path.join(os.path.dirname(sys.executable), "pfcount")
PER_FLOW = 0                    # cluster_per_flow: VLAN id, protocol, addresses, ports
KINDS = ("ipv4", "ipv6", "vlan")
SHM = pathlib.Path("/dev/shm")


@pytest.fixture(scope="module")
def master_exe(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    exe = tmp_path_factory.mktemp("dna_master") / "dna_master"
    res = cprog.build(ROOT, ROOT / "tests/unit/c/dna_master.c", exe)
    assert res.returncode == 0, f"{' '.join(res.args)}\n{res.stdout}{res.stderr}"
    return exe


class Master(Process):
    def __init__(self, exe, pair, cid, n, mode="hash", *extra):
        super().__init__(pair.a, [str(exe), pair.if_a, str(cid), str(n), mode, *extra],
                         name=f"master {cid}", stdin=True)
        self.cid, self.n = cid, n

    def start(self):
        self.wait_out("ready")
        return self

    def stats(self):
        """(rx, processed, [(delivered, dropped) per app]) from a "stats" line."""
        before = len(self.out)
        self.send("stats")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = [s for s in self.out[before:] if s.startswith("stats ")]
            if lines:
                return parse_stats(lines[0])
            time.sleep(0.02)
        raise AssertionError(f"no stats from {self.name}: {''.join(self.err)}")

    def quit(self):
        """Destroys the cluster; the final stats."""
        self.send("quit")
        rc, out, err = self.finish(timeout=20)
        assert rc == 0 and "done" in out, (rc, out, err)
        return parse_stats([s for s in out.splitlines() if s.startswith("stats ")][-1])


def parse_stats(line):
    fields = dict(f.split("=") for f in line.split()[1:])
    apps = []
    i = 0
    while f"app{i}" in fields:
        d, x = fields[f"app{i}"].split("/")
        apps.append((int(d), int(x)))
        i += 1
    return int(fields["rx"]), int(fields["processed"]), apps


class Slave(Process):
    def __init__(self, pair, cid, app, tmp_path, tag=""):
        self.path = tmp_path / f"slave{cid}-{app}{tag}.hex"
        super().__init__(pair.a, [*SLAVE, f"dnacluster:{cid}@{app}", str(self.path)],
                         name=f"slave {cid}@{app}{tag}", stdin=True)

    def start(self):
        self.wait_out("ready")
        return self

    def frames(self):
        return [bytes.fromhex(line) for line in self.path.read_text().split()]

    def wait_frames(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.path.exists() and len(self.path.read_text().split()) >= n:
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: fewer than {n} frames")

    def stop(self):
        """(frames, recv, drop) once the slave drained its queue and left."""
        self.send("stop")
        rc, out, err = self.finish(timeout=20)
        assert rc == 0, (self.name, rc, out, err)
        line = [s for s in out.splitlines() if s.startswith("done ")][-1].split()
        n, recv, drop = int(line[1]), int(line[2][5:]), int(line[3][5:])
        frames = self.frames()
        assert n == len(frames) == recv
        return frames, recv, drop


class Procs(list):
    """Processes killed by pid at the end, whatever happens."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self:
            p.kill()

    def add(self, p):
        self.append(p)
        return p


def default_hash(data):
    """The default distribution's hash of a frame of these tests (IPv4 or
    IPv6 TCP/UDP, maybe one VLAN tag in the data): PF_RING's pkt_hash
    (pfring_parse_pkt), mixed by MurmurHash3's finalizer.  For IPv4 that is
    the kernel cluster_per_flow hash (cluster_ref); pkt_hash sums IPv6
    address words as they lie in memory (little endian here), so IPv6 is
    summed here."""
    frame, vid = data, 0
    if data[12:14] == b"\x81\x00":
        vid, data = int.from_bytes(data[14:16], "big") & 0xFFF, data[:12] + data[16:]
    if data[12:14] == b"\x08\x00":
        return cluster_hash(PER_FLOW, frame)
    proto, l4 = data[20], data[54:58]
    words = struct.unpack("<8I", data[22:54])
    total = sum(words) + proto + int.from_bytes(l4[:2], "big") + int.from_bytes(l4[2:], "big")
    return fmix32((total + vid) & 0xFFFFFFFF)


def app_of(data, n):
    return default_hash(data) % n


def frames_of(flows):
    return [d for f in flows for d in (f.fwd, f.rev)]


def assert_split(got, flows, slots):
    """Disjoint, complete, every flow whole in app slots[hash % len(slots)]."""
    everything = [d for frames in got for d in frames]
    assert len(everything) == len(set(everything)), "a frame reached two slaves"
    assert sorted(everything) == sorted(frames_of(flows))
    where = {d: i for i, frames in enumerate(got) for d in frames}
    for f in flows:
        assert where[f.fwd] == where[f.rev] == slots[app_of(f.fwd, len(slots))], f


# -- distribution -----------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("wait", ["passive", "active"])
def test_slaves_get_exactly_their_flows(veth_pair, tmp_path, master_exe, n, wait):
    cid = 1000 + n * 10 + (wait == "active")
    flows = make_flows(veth_pair, 600, seed=n, kinds=KINDS)
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, n, "hash",
                             *(["active"] if wait == "active" else []))).start()
        slaves = [procs.add(Slave(veth_pair, cid, a, tmp_path)).start() for a in range(n)]
        send_flows(veth_pair, flows)
        got = []
        for s in slaves:
            frames, recv, drop = s.stop()
            got.append(frames)
            assert drop == 0
        rx, processed, apps = m.quit()
    assert_split(got, flows, list(range(n)))
    assert rx == processed == 1200
    assert apps == [(len(frames), 0) for frames in got]
    assert all(len(frames) > 1200 / n * 0.7 for frames in got), [len(g) for g in got]
    assert not (SHM / f"pfring-dnacluster-{cid}").exists()


def test_pfcount_is_a_slave(veth_pair, tmp_path, master_exe):
    """Unmodified pfcount on app 1 counts exactly app 1's packets; a Ring
    slave has app 0's."""
    cid = 1100
    flows = make_flows(veth_pair, 400, seed=7, kinds=KINDS)
    want = sum(1 for d in frames_of(flows) if app_of(d, 2) == 1)
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2)).start()
        s0 = procs.add(Slave(veth_pair, cid, 0, tmp_path)).start()
        pc = procs.add(Process(veth_pair.a, [PFCOUNT, "-i", f"dnacluster:{cid}@1", "-N",
                                             str(want), "-d", "30", "--json"], name="pfcount"))
        pc.wait_err("# Polling threads:")
        send_flows(veth_pair, flows)
        rc, out, err = pc.finish(timeout=30)
        assert rc == 0, err
        stats = json.loads(out)
        frames, _, _ = s0.stop()
        _, _, apps = m.quit()
    assert (stats["recv"], stats["drop"]) == (want, 0)
    assert sorted(frames) == sorted(d for d in frames_of(flows) if app_of(d, 2) == 0)
    assert apps == [(len(frames), 0), (want, 0)]


def test_fan_out_one_app_gets_everything(veth_pair, tmp_path, master_exe):
    """Apps 0 and 1 split the flows by the hash; app 2 receives every packet."""
    cid = 1200
    flows = make_flows(veth_pair, 500, seed=3, kinds=KINDS)
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 3, "fanout")).start()
        slaves = [procs.add(Slave(veth_pair, cid, a, tmp_path)).start() for a in range(3)]
        send_flows(veth_pair, flows)
        got = [s.stop()[0] for s in slaves]
        rx, processed, apps = m.quit()
    assert_split(got[:2], flows, [0, 1])
    assert sorted(got[2]) == sorted(frames_of(flows))
    assert rx == processed == 1000
    assert apps == [(len(got[0]), 0), (len(got[1]), 0), (1000, 0)]


def test_custom_distribution_function(veth_pair, tmp_path, master_exe):
    """dna_master's C function: IPv4 UDP to app (src[3] + dst[3]) % 2, the
    rest dropped by the function."""
    cid = 1300
    flows = make_flows(veth_pair, 400, seed=5, kinds=("ipv4", "ipv6"))
    every = frames_of(flows)

    def want(d):
        if d[12:14] != b"\x08\x00" or d[23] != 17:
            return None
        return (d[29] + d[33]) % 2

    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2, "custom")).start()
        slaves = [procs.add(Slave(veth_pair, cid, a, tmp_path)).start() for a in range(2)]
        send_flows(veth_pair, flows)
        got = [s.stop()[0] for s in slaves]
        rx, processed, apps = m.quit()
    for a in range(2):
        assert sorted(got[a]) == sorted(d for d in every if want(d) == a)
    kept = sum(1 for d in every if want(d) is not None)
    assert 0 < kept < len(every)
    assert (rx, processed) == (len(every), kept)
    assert apps == [(len(got[0]), 0), (len(got[1]), 0)]


def test_full_queue_drops_for_that_app_only(veth_pair, tmp_path, master_exe):
    """App 1's slave never reads: its queue holds DNA_CLUSTER_QUEUE_SLOTS
    (4096) packets and the rest is dropped for it alone, counted by the
    master and by the slave's pfring_stats; app 0 (fan-out: both apps get
    every packet) receives all of them."""
    cid = 1400
    flows = make_flows(veth_pair, 2500, seed=9, kinds=("ipv4",))
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2, "fanout")).start()
        s0 = procs.add(Slave(veth_pair, cid, 0, tmp_path)).start()
        with Ring(f"dnacluster:{cid}@1") as idle:
            idle.enable()
            send_flows(veth_pair, flows, settle=0.5)
            frames, recv, drop = s0.stop()
            assert idle.num_queued == 4096
            st = idle.stats()
            assert (st.recv, st.drop) == (0, 5000 - 4096)
            _, _, apps = m.stats()
            assert apps == [(5000, 0), (4096, 5000 - 4096)]
        time.sleep(0.3)                # the master empties the closed slave's queue
        rx, processed, apps = m.quit()
    assert (recv, drop) == (5000, 0)
    # the 4096 packets never read count as dropped for app 1 too
    assert apps == [(5000, 0), (4096, 5000)]
    assert rx == processed == 5000


# -- faults -----------------------------------------------------------------------

@pytest.mark.parametrize("name, exc, text", [
    ("dnacluster:abc@0", InvalidArgumentError, "the cluster id is not a number"),
    ("dnacluster:0@0", InvalidArgumentError, "cluster id 0 is out of range (1..65535)"),
    ("dnacluster:70000@0", InvalidArgumentError, "cluster id 70000 is out of range"),
    ("dnacluster:5", InvalidArgumentError, "the app id (@APP) is missing"),
    ("dnacl:5@32", InvalidArgumentError, "app id 32 is out of range (0..31)"),
    ("dnacluster:5@1x", InvalidArgumentError, "unexpected 'x' after the app id"),
])
def test_bad_slave_names(name, exc, text):
    with pytest.raises(exc) as e:
        Ring(name)
    assert text in str(e.value)


def test_slave_before_its_master(veth_pair):
    assert not (SHM / "pfring-dnacluster-1501").exists()
    with pytest.raises(BadInterfaceNameError) as e:
        Ring("dnacluster:1501@0")
    assert "there is no DNA cluster 1501 (its master is not running" in str(e.value)


def test_app_out_of_range_and_taken(veth_pair, tmp_path, master_exe):
    cid = 1502
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2)).start()
        with pytest.raises(InvalidArgumentError) as e:
            Ring(f"dnacluster:{cid}@2")
        assert (f"app id 2 is out of range: DNA cluster {cid} has 2 apps (0..1)"
                in str(e.value))
        with Ring(f"dnacluster:{cid}@1"):
            with pytest.raises(WrongConfigurationError) as e:
                Ring(f"dnacluster:{cid}@1")
            assert f"app 1 of DNA cluster {cid} has a slave already (pid {os.getpid()})" \
                in str(e.value)
        with Ring(f"dnacluster:{cid}@1"):       # free again once closed
            pass
        m.quit()


def test_master_api_bad_input(master_exe):
    res = subprocess.run([str(master_exe), "--bad-input", "1503"],
                                       capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for line in [
        "create id 0: dna_cluster_create: cluster_id 0 is out of range (1..65535)\n",
        "create id max+1: dna_cluster_create: cluster_id 65536 is out of range (1..65535)\n",
        "create apps 0: dna_cluster_create: num_apps 0 is out of range (1..32)\n",
        "create apps max+1: dna_cluster_create: num_apps 33 is out of range (1..32)\n",
        "create flags 1: dna_cluster_create: flags 0x1 are not supported (only 0)\n",
        "create twice: dna_cluster_create: DNA cluster 1503 already has a master (pid ",
        "dna_cluster_register_ring(c, NULL): -2 dna_cluster_register_ring: ring is NULL\n",
        "dna_cluster_set_mode(c, send_and_recv_mode): -7 dna_cluster_set_mode: mode 0 needs "
        "transmission from slaves, which is not implemented; use recv_only_mode\n",
        "dna_cluster_set_mode(c, (socket_mode)77): -2 dna_cluster_set_mode: mode 77 is not",
        "dna_cluster_set_mode(c, recv_only_mode): 0 \n",
        "dna_cluster_set_wait_mode(c, 2): -2 dna_cluster_set_wait_mode: active_wait 2 is not "
        "0 (passive) or 1 (active)\n",
        "dna_cluster_set_app_groups(c, NULL, 0): -2 dna_cluster_set_app_groups: instances "
        "must name at least one group\n",
        "dna_cluster_set_app_groups(c, zero, 2): -2 dna_cluster_set_app_groups: group 1 has "
        "0 instances\n",
        "dna_cluster_set_app_groups(c, three, 2): -2 dna_cluster_set_app_groups: the groups "
        "have 3 instances, cluster 1503 has 2 apps\n",
        "dna_cluster_set_app_groups(c, one, 1): -2 dna_cluster_set_app_groups: the groups "
        "have 1 instances, cluster 1503 has 2 apps\n",
        "dna_cluster_set_app_groups(c, ok, 2): 0 \n",
        "dna_cluster_enable(c): -5 dna_cluster_enable: cluster 1503 has no ring "
        "(dna_cluster_register_ring)\n",
        "dna_cluster_app_stats(c, 2, NULL, NULL): -2 dna_cluster_app_stats: app 2 is out of "
        "range (0..1)\n",
        "dna_cluster_stats(NULL, NULL, NULL, NULL, NULL): -2 dna_cluster_stats: cluster is NULL\n",
        "memory left after destroy: no\n",
    ]:
        assert line in out, (line, out)


def test_two_masters_for_one_id(veth_pair, master_exe):
    cid = 1504
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2)).start()
        second = procs.add(Master(master_exe, veth_pair, cid, 3))
        rc, out, _ = second.finish(timeout=10)
        assert rc == 1
        assert out == (f"error: dna_cluster_create: DNA cluster {cid} already has a master "
                       f"(pid {m.pid})\n")
        m.quit()


def test_slave_killed_loses_only_its_queue(veth_pair, tmp_path, master_exe):
    """App 0's slave is killed (SIGKILL): app 1's slave and the master go on
    exactly; app 0's packets are dropped (counted) until a new slave joins
    app 0, which then gets exactly app 0's flows."""
    cid = 1505
    batches = [make_flows(veth_pair, 300, seed=s, kinds=KINDS) for s in (11, 12, 13)]
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2)).start()
        s0 = procs.add(Slave(veth_pair, cid, 0, tmp_path)).start()
        s1 = procs.add(Slave(veth_pair, cid, 1, tmp_path)).start()
        send_flows(veth_pair, batches[0])
        first0 = [d for d in frames_of(batches[0]) if app_of(d, 2) == 0]
        s0.wait_frames(len(first0))
        time.sleep(0.3)                        # its last batch released
        rc, _, _ = s0.finish(timeout=10, sig=signal.SIGKILL)
        assert rc == -signal.SIGKILL
        assert sorted(s0.frames()) == sorted(first0)
        time.sleep(0.3)                        # the master's check (every 100 ms)
        send_flows(veth_pair, batches[1])
        lost = sum(1 for d in frames_of(batches[1]) if app_of(d, 2) == 0)
        _, _, apps = m.stats()
        assert apps[0] == (len(first0), lost)
        s0b = procs.add(Slave(veth_pair, cid, 0, tmp_path, tag="b")).start()
        send_flows(veth_pair, batches[2])
        again, recv, drop = s0b.stop()
        frames1, _, drop1 = s1.stop()
        rx, processed, apps = m.quit()
    assert sorted(again) == sorted(d for d in frames_of(batches[2]) if app_of(d, 2) == 0)
    assert (recv, drop) == (len(again), 0)
    every = [d for b in batches for d in frames_of(b)]
    assert sorted(frames1) == sorted(d for d in every if app_of(d, 2) == 1) and drop1 == 0
    assert rx == processed == len(every)
    assert apps == [(len(first0) + len(again), lost), (len(frames1), 0)]


@pytest.mark.parametrize("how", ["sigkill", "destroy"])
def test_master_gone_gives_slaves_an_error(veth_pair, tmp_path, master_exe, how):
    cid = 1506 + (how == "destroy")
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2)).start()
        slaves = [procs.add(Slave(veth_pair, cid, a, tmp_path)).start() for a in range(2)]
        t0 = time.monotonic()
        if how == "sigkill":
            m.finish(timeout=10, sig=signal.SIGKILL)
            why = "died"
        else:
            m.quit()
            why = "destroyed the cluster"
        for a, s in enumerate(slaves):
            rc, out, err = s.finish(timeout=10)
            assert rc == 1, (out, err)
            assert out.splitlines()[-1].startswith(
                f"error: dnacluster:{cid}@{a}: the master of DNA cluster {cid} (pid {m.pid}) "
                f"{why}"), out
        assert time.monotonic() - t0 < 5
        if how == "sigkill":
            # the dead master's memory is taken over by a new master
            assert (SHM / f"pfring-dnacluster-{cid}").exists()
            m2 = procs.add(Master(master_exe, veth_pair, cid, 2)).start()
            with Ring(f"dnacluster:{cid}@0"):
                pass
            m2.quit()
    assert not (SHM / f"pfring-dnacluster-{cid}").exists()


def test_slave_bpf_filter_and_sampling(veth_pair, master_exe):
    """A slave's BPF filter runs in user space on its queue's packets, and
    pfring's sampling applies: the core's receive path, as on any ring."""
    cid = 1600
    flows = make_flows(veth_pair, 300, seed=21, kinds=("ipv4",))
    every = frames_of(flows)
    udp = [d for d in every if d[23] == 17]
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2, "fanout")).start()
        with Ring(f"dnacluster:{cid}@0") as filtered, Ring(f"dnacluster:{cid}@1") as sampled:
            filtered.set_bpf_filter("udp")
            sampled.set_sampling_rate(3)
            filtered.enable()
            sampled.enable()
            send_flows(veth_pair, flows)
            got = [bytes(d) for _, d in drain(filtered)]
            some = [bytes(d) for _, d in drain(sampled)]
        m.quit()
    assert 0 < len(udp) < len(every)
    assert sorted(got) == sorted(udp)
    assert len(every) == 600 and len(some) == 200     # one packet in 3
    assert set(some) <= set(every)


# -- pfbalance --------------------------------------------------------------------

PFBALANCE = os.path.join(os.path.dirname(sys.executable), "pfbalance")


def test_pfbalance_groups_and_stats(veth_pair, tmp_path):
    """pfbalance -n 2,1: apps 0 and 1 split the flows by the hash, app 2 gets
    every packet; a JSON line of stats every second, the final one exact."""
    cid = 1700
    flows = make_flows(veth_pair, 400, seed=31, kinds=KINDS)
    with Procs() as procs:
        pb = procs.add(Process(veth_pair.a, [PFBALANCE, "-i", veth_pair.if_a, "-c", str(cid),
                                             "-n", "2,1", "-d", "30", "--json"],
                               name="pfbalance"))
        pb.wait_err(f"Distributing {veth_pair.if_a} to DNA cluster {cid} (3 apps)")
        slaves = [procs.add(Slave(veth_pair, cid, a, tmp_path)).start() for a in range(3)]
        send_flows(veth_pair, flows)
        got = [s.stop()[0] for s in slaves]
        pb.wait_out('"time"', timeout=5)
        rc, out, err = pb.finish(timeout=20, sig=signal.SIGTERM)
    assert rc == 0, err
    lines = [json.loads(s) for s in out.splitlines()]
    final = lines[-1]
    assert final["final"] and all(x["cluster"] == cid for x in lines)
    assert_split(got[:2], flows, [0, 1])
    assert sorted(got[2]) == sorted(frames_of(flows))
    assert (final["rx"], final["processed"]) == (800, 800)
    assert [(a["app"], a["group"], a["delivered"], a["dropped"]) for a in final["apps"]] == [
        (0, 0, len(got[0]), 0), (1, 0, len(got[1]), 0), (2, 1, 800, 0)]
    assert "# group 0: dnacluster:1700@0-1 share the packets per flow" in err
    assert "# group 1: dnacluster:1700@2 gets every packet" in err
    assert not (SHM / f"pfring-dnacluster-{cid}").exists()


@pytest.mark.parametrize("args, text", [
    (["-c", "0"], "cluster id 0 is out of range (1..65535)"),
    (["-c", "5", "-n", "2,0"], "every group in '2,0' needs >= 1 instance"),
    (["-c", "5", "-n", "2,x"], "invalid group list '2,x'"),
    (["-c", "5", "-n", "20,20"], "'20,20' makes 40 apps; a cluster has at most 32"),
    ([], "the following arguments are required: -c"),
])
def test_pfbalance_bad_arguments(args, text):
    res = subprocess.run([PFBALANCE, "-i", "lo", *args], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 2 and text in res.stderr, res.stderr


def test_pfbalance_second_master_refused(veth_pair):
    cid = 1701
    with Procs() as procs:
        pb = procs.add(Process(veth_pair.a, [PFBALANCE, "-i", veth_pair.if_a, "-c", str(cid),
                                             "-d", "30", "-q"], name="pfbalance"))
        time.sleep(0.5)
        deadline = time.monotonic() + 10
        while not (SHM / f"pfring-dnacluster-{cid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        res = veth_pair.a.run([PFBALANCE, "-i", veth_pair.if_a, "-c", str(cid), "-q"],
                              check=False, timeout=30)
        rc, _, err = pb.finish(timeout=20, sig=signal.SIGINT)
    assert res.returncode == 1
    assert res.stderr == (f"pfbalance: dna_cluster_create: DNA cluster {cid} already has a "
                          f"master (pid {pb.pid})\n")
    assert rc == 0, err


def test_corrupt_descriptor_is_an_error(veth_pair, master_exe):
    """A descriptor pointing outside the pool (memory written by something
    else than the master) fails the receive with a message, not a fault."""
    cid = 1800
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 1)).start()
        with Ring(f"dnacluster:{cid}@0") as ring:
            ring.enable()
            with open(SHM / f"pfring-dnacluster-{cid}", "r+b") as f, \
                    mmap.mmap(f.fileno(), 0) as mem:
                apps_off, queues_off = struct.unpack_from("<QQ", mem, 48)
                struct.pack_into("<I", mem, queues_off, 0xFFFFFFFF)    # desc 0: buf
                struct.pack_into("<Q", mem, apps_off, 1)               # app 0: head
                with pytest.raises(PFRingError) as e:
                    ring.recv(timeout=1)
                struct.pack_into("<Q", mem, apps_off, 0)
        m.quit()
    assert (f"dnacluster:{cid}@0: a descriptor of the queue points outside the packet pool"
            in str(e.value))


DROP_IN = ROOT / "build" / "libpcap-pfring"


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_tcpdump_is_a_slave_through_the_drop_in(veth_pair, tmp_path, master_exe):
    """Unmodified tcpdump (libpcap-pfring) on app 0 writes exactly app 0's
    frames; a Ring slave has app 1's."""
    if not (DROP_IN / "libpcap.so.0.8").exists():
        pytest.skip("the drop-in is not built (make lib)")
    cid = 1900
    flows = make_flows(veth_pair, 300, seed=41, kinds=KINDS)
    mine = [d for d in frames_of(flows) if app_of(d, 2) == 0]
    out = tmp_path / "slave0.pcap"
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2)).start()
        s1 = procs.add(Slave(veth_pair, cid, 1, tmp_path)).start()
        td = procs.add(Process(veth_pair.a, ["env", f"LD_LIBRARY_PATH={DROP_IN}", "tcpdump",
                                             "-n", "-U", "-i", f"dnacluster:{cid}@0", "-w",
                                             str(out), "-c", str(len(mine))], name="tcpdump"))
        td.wait_err(f"listening on dnacluster:{cid}@0, link-type EN10MB")
        send_flows(veth_pair, flows)
        rc, _, err = td.finish(timeout=20)
        frames1, _, _ = s1.stop()
        _, _, apps = m.quit()
    assert rc == 0, err
    _, records = read_packets(out)
    assert sorted(body for _, _, _, body in records) == sorted(mine)
    assert sorted(frames1) == sorted(d for d in frames_of(flows) if app_of(d, 2) == 1)
    assert apps == [(len(mine), 0), (len(frames1), 0)]
