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
here against ``default_hash`` (``cluster_ref`` for IPv4).  The master,
slave and hash helpers are ``pcap_pfring.testing.dna``'s.

Every wait is bounded; processes are killed by pid when a test ends, and the
namespaces are deleted by the fixture.  Each test uses cluster ids of its
own, and the master removes the shared memory when it ends.
"""
import json
import mmap
import os
import pathlib
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

import pytest

from pcap_pfring import Ring, status
from pcap_pfring._ffi import ffi, lib
from pcap_pfring.dna_cluster import (
    BUFFER_SIZE as DNA_BUFFER,
)
from pcap_pfring.dna_cluster import (
    MAX_APPS,
    MAX_ID,
    AppStats,
    AppTxStats,
    ClusterFlags,
    ClusterStats,
    DnaCluster,
)
from pcap_pfring.errors import (
    BadInterfaceNameError,
    InvalidArgumentError,
    InvalidStatusError,
    NotSupportedError,
    PFRingError,
    WrongConfigurationError,
)
from pcap_pfring.netns import frame, send_frames
from pcap_pfring.pcapfile import read_packets
from pcap_pfring.ring import SocketMode
from pcap_pfring.testing.dna import (
    PFCOUNT,
    Master,
    Procs,
    Slave,
    app_of,
    assert_split,
    build_master,
    default_hash,
    drop_in,
    frames_of,
)
from pcap_pfring.testing.fixtures import drain, send_from_b
from pcap_pfring.testing.flows import make_flows, send_flows
from pcap_pfring.testing.procs import Process

pytestmark = pytest.mark.needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
KINDS = ("ipv4", "ipv6", "vlan")
SHM = pathlib.Path("/dev/shm")


@pytest.fixture(scope="module")
def master_exe(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    exe = tmp_path_factory.mktemp("dna_master") / "dna_master"
    res = build_master(ROOT, exe)
    assert res.returncode == 0, f"{' '.join(res.args)}\n{res.stdout}{res.stderr}"
    return exe


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
        "create flags 0x20: dna_cluster_create: flags 0x20 has unknown bits 0x20\n",
        "create twice: dna_cluster_create: DNA cluster 1503 already has a master (pid ",
        "dna_cluster_register_ring(c, NULL): -2 dna_cluster_register_ring: ring is NULL\n",
        "dna_cluster_set_mode(c, send_and_recv_mode): 0 \n",
        "dna_cluster_low_level_settings(c, 4096, 100, 0): -2 dna_cluster_low_level_settings: "
        "slave_tx_queue_len 100 is not 0 (the default, 4096) or a power of two in 64..65536\n",
        "dna_cluster_low_level_settings(c, 4096, 32, 0): -2 dna_cluster_low_level_settings: "
        "slave_tx_queue_len 32 is not 0 (the default, 4096) or a power of two in 64..65536\n",
        "dna_cluster_set_mode(c, send_only_mode): 0 \n",
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
        "dna_cluster_app_tx_stats(c, 2, NULL, NULL): -2 dna_cluster_app_tx_stats: app 2 is out "
        "of range (0..1)\n",
        "dna_cluster_app_tx_stats(NULL, 0, NULL, NULL): -2 dna_cluster_app_tx_stats: cluster "
        "is NULL\n",
        "dna_cluster_stats(NULL, NULL): -2 dna_cluster_stats: cluster is NULL\n",
        "dna_cluster_stats(c, NULL): -2 dna_cluster_stats: stats is NULL\n",
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


DROP_IN = drop_in(ROOT)


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


PCAPY_SLAVE = """
import sys, pcapy
p = pcapy.open_live(sys.argv[1], 2048, 0, 100)
print("ready", p.datalink(), flush=True)
want, got = int(sys.argv[2]), 0
while got < want:
    hdr, data = p.next()
    if hdr is not None:
        print(data.hex(), flush=True)
        got += 1
ps_recv, ps_drop, _ = p.stats()
print("done", ps_recv, ps_drop, flush=True)
"""


def test_pcapy_ng_is_a_slave_through_the_drop_in(veth_pair, tmp_path, master_exe):
    """Unmodified pcapy-ng (linked with the system's libpcap soname) on app 1
    through the drop-in gets exactly app 1's frames, pcap_stats as many."""
    if not (DROP_IN / "libpcap.so.0.8").exists():
        pytest.skip("the drop-in is not built (make lib)")
    cid = 1960
    flows = make_flows(veth_pair, 200, seed=43, kinds=KINDS)
    mine = [d for d in frames_of(flows) if app_of(d, 2) == 1]
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2)).start()
        s0 = procs.add(Slave(veth_pair, cid, 0, tmp_path)).start()
        py = procs.add(Process(veth_pair.a, ["env", f"LD_LIBRARY_PATH={DROP_IN}", sys.executable,
                                             "-c", PCAPY_SLAVE, f"dnacluster:{cid}@1",
                                             str(len(mine))], name="pcapy-ng"))
        py.wait_out("ready 1")                   # DLT_EN10MB
        send_flows(veth_pair, flows)
        rc, out, err = py.finish(timeout=20)
        frames0, _, _ = s0.stop()
        _, _, apps = m.quit()
    assert rc == 0, err
    lines = out.split()
    assert lines[-3:] == ["done", str(len(mine)), "0"]
    assert sorted(bytes.fromhex(x) for x in lines[2:-3]) == sorted(mine)
    assert sorted(frames0) == sorted(d for d in frames_of(flows) if app_of(d, 2) == 0)
    assert apps == [(len(frames0), 0), (len(mine), 0)]


# -- the master in Python (pcap_pfring.dna_cluster) ----------------------------------

def test_python_master_groups(veth_pair, tmp_path):
    """DnaCluster with Ring: groups 2,1 as pfbalance -n 2,1, in this process;
    the slaves are processes, the stats exact."""
    cid = 1950
    flows = make_flows(veth_pair, 300, seed=41, kinds=KINDS)
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER, promisc=True)
    with ring, DnaCluster(cid, 3) as cluster, Procs() as procs:
        ring_id = ring.ring_id
        cluster.register_ring(ring)
        cluster.set_mode(SocketMode.RECV_ONLY)
        cluster.set_app_groups([2, 1])
        cluster.enable()
        slaves = [procs.add(Slave(veth_pair, cid, a, tmp_path)).start() for a in range(3)]
        send_flows(veth_pair, flows)
        slave_file = wait_status(slaves[1].pid, f"dnacluster:{cid}@1",
                                 lambda f: f.get("DNA Cluster Master") == f"pid {os.getpid()}")
        assert slave_file["Breed"] == "DNA Cluster"
        assert re.fullmatch(r"\d+/4096", slave_file["DNA Queue Fill"]), slave_file
        running = wait_status(os.getpid(), veth_pair.if_a, lambda f: all(
            f.get(f"DNA App {a}", "").startswith(f"slave pid {slaves[a].pid}, ")
            for a in range(3)), ring_id=ring.ring_id)
        assert (running["DNA Cluster Id"], running["DNA Cluster State"],
                running["DNA Cluster Apps"]) == (str(cid), "running", "3")
        got = [s.stop()[0] for s in slaves]
        want = {f"DNA App {a}": f"no slave, {n} delivered, 0 dropped, 0/4096 queued"
                for a, n in enumerate([len(got[0]), len(got[1]), 600])}
        final = wait_status(os.getpid(), veth_pair.if_a, lambda f: all(
            f.get(k) == v for k, v in want.items()) and f["DNA Cluster Rx"] == "600",
            ring_id=ring.ring_id)
        assert final["DNA Cluster Processed"] == "600"
        cluster.disable()
        total, apps = cluster.stats(), [cluster.app_stats(a) for a in range(3)]
    assert_split(got[:2], flows, [0, 1])
    assert sorted(got[2]) == sorted(frames_of(flows))
    assert total == ClusterStats(rx=600, tx=0, rx_processed=600)
    assert apps == [AppStats(len(got[0]), 0), AppStats(len(got[1]), 0), AppStats(600, 0)]
    assert cluster.destroyed and ring.closed
    assert not any(r.pid == os.getpid() and r.ring_id == ring_id for r in status.list_rings())
    assert not (SHM / f"pfring-dnacluster-{cid}").exists()


def test_python_master_on_a_zc_ring(veth_pair, tmp_path):
    """A master reads a zc: (AF_XDP) ring as it reads a standard one: two
    slaves split the flows, whole and disjoint, with exact stats.  XDP sees
    received frames only, so both directions of each flow arrive from b."""
    cid = 1957
    flows = make_flows(veth_pair, 200, seed=43, kinds=KINDS)
    with veth_pair.a.enter():
        ring = Ring(f"zc:{veth_pair.if_a}", DNA_BUFFER)
    with ring, DnaCluster(cid, 2) as cluster, Procs() as procs:
        cluster.register_ring(ring)
        cluster.set_mode(SocketMode.RECV_ONLY)
        cluster.enable()
        slaves = [procs.add(Slave(veth_pair, cid, a, tmp_path)).start() for a in range(2)]
        send_from_b(veth_pair, frames_of(flows))
        want = len(frames_of(flows))
        deadline = time.monotonic() + 10
        while cluster.stats().rx_processed < want and time.monotonic() < deadline:
            time.sleep(0.05)
        got = [s.stop()[0] for s in slaves]
        cluster.disable()
        total, apps = cluster.stats(), [cluster.app_stats(a) for a in range(2)]
    assert_split(got, flows, [0, 1])
    assert total == ClusterStats(rx=want, tx=0, rx_processed=want)
    assert apps == [AppStats(len(got[0]), 0), AppStats(len(got[1]), 0)]
    assert cluster.destroyed and ring.closed


def wait_status(pid, device, ok, ring_id=None, timeout=5):
    """The fields of the status file of pid's ring on device once ok(fields)
    holds (the files are rewritten once a second)."""
    deadline = time.monotonic() + timeout
    while True:
        files = [r for r in status.list_rings() if r.pid == pid and r.device == device and
                 (ring_id is None or r.ring_id == ring_id)]
        if files and ok(files[0].fields):
            return files[0].fields
        if time.monotonic() > deadline:
            raise AssertionError(f"status of {pid}-{device}: "
                                 f"{files[0].fields if files else 'no file'}")
        time.sleep(0.1)


def test_python_master_guards_and_bad_input(veth_pair):
    cid = 1951
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
    cluster = DnaCluster(cid, 2)
    try:
        with pytest.raises(PFRingError) as e:
            DnaCluster(cid, 2)
        assert str(e.value) == (f"dna_cluster_create: DNA cluster {cid} already has a master "
                                f"(pid {os.getpid()})")
        with pytest.raises(WrongConfigurationError) as e:
            cluster.enable()
        assert str(e.value) == (f"dna_cluster_enable: cluster {cid} has no ring "
                                "(dna_cluster_register_ring)")
        with pytest.raises(InvalidArgumentError) as e:
            cluster.register_ring(veth_pair.if_a)
        assert str(e.value) == "register_ring takes a Ring, not str"
        with pytest.raises(InvalidArgumentError) as e:
            cluster.app_stats(2)
        assert str(e.value) == "dna_cluster_app_stats: app 2 is out of range (0..1)"
        with pytest.raises(InvalidArgumentError) as e:
            cluster.app_stats(-1)
        assert str(e.value) == "app must be an integer in 0..4294967295, not -1"
        with pytest.raises(InvalidArgumentError) as e:
            cluster.set_app_groups([1, 0])
        assert str(e.value) == "dna_cluster_set_app_groups: group 1 has 0 instances"
        with pytest.raises(InvalidArgumentError):
            cluster.set_app_groups(["2"])
        cluster.set_mode(SocketMode.SEND_AND_RECV)     # TX queues made, then gone again
        cluster.set_mode(SocketMode.RECV_ONLY)
        cluster.register_ring(ring)
        with pytest.raises(InvalidStatusError) as e:
            ring.close()                       # the master's thread may read it
        assert str(e.value) == (f"the ring is registered with DNA cluster {cid}; "
                                "destroy it first")
        assert not ring.closed
        cluster.enable()
        assert cluster.stats() == ClusterStats(0, 0, 0)
    finally:
        cluster.destroy()
    assert ring.closed                         # destroy closed it, as PF_RING's does
    cluster.destroy()                          # twice is harmless
    ring.close()
    with pytest.raises(InvalidStatusError) as e:
        cluster.stats()
    assert str(e.value) == "DNA cluster used after destroy()"
    for args in [(0, 2), (MAX_ID + 1, 2), (5, 0), (5, MAX_APPS + 1), (5, 2, 1 << 5)]:
        with pytest.raises(PFRingError) as e:
            DnaCluster(*args)
        assert str(e.value).startswith("dna_cluster_create: ")
    with pytest.raises(InvalidArgumentError) as e:
        DnaCluster("7", 2)
    assert str(e.value) == "cluster_id must be an integer in 0..4294967295, not '7'"
    assert not (SHM / f"pfring-dnacluster-{cid}").exists()


def test_python_master_settings_flags_and_affinity(veth_pair, capfd):
    """low_level_settings makes queues of 64 slots (200 packets for a slave
    that does not read: 64 queued, 136 dropped), HUGEPAGES gives huge pages
    or a warning,
    set_cpu_affinity binds the distributing thread; the bad values fail."""
    cid = 1952
    flows = make_flows(veth_pair, 100, seed=45, kinds=("ipv4",))
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
    flags = ClusterFlags.HUGEPAGES | ClusterFlags.NO_ADDITIONAL_BUFFERS | ClusterFlags.DCA
    with ring, DnaCluster(cid, 1, flags) as cluster:
        for bad, text in [((100,), "slave_rx_queue_len 100 is not a power of two in 64..65536"),
                          ((32,), "slave_rx_queue_len 32 is not a power of two in 64..65536"),
                          ((1 << 17,), "slave_rx_queue_len 131072 is not a power of two"),
                          ((64, 1 << 17), "slave_tx_queue_len 131072 is above 65536"),
                          ((64, 0, 1 << 17), "slave_additional_buffers 131072 is above 65536")]:
            with pytest.raises(InvalidArgumentError) as e:
                cluster.low_level_settings(*bad)
            assert str(e.value).startswith(f"dna_cluster_low_level_settings: {text}"), e.value
        cluster.low_level_settings(64, 64, 0)
        ncpu = os.cpu_count()
        with pytest.raises(InvalidArgumentError) as e:
            cluster.set_cpu_affinity(ncpu)
        assert str(e.value) == (f"dna_cluster_set_cpu_affinity: rx_core_id {ncpu} is not a core "
                                f"of this machine (0..{ncpu - 1})")
        cluster.set_cpu_affinity(ncpu - 1)
        cluster.register_ring(ring)
        cluster.enable()
        threads = [t for t in os.listdir("/proc/self/task")
                   if open(f"/proc/self/task/{t}/comm").read().strip() == "pfring-dnacl"]
        assert len(threads) == 1
        allowed = [line.split(":", 1)[1].strip()
                   for line in open(f"/proc/self/task/{threads[0]}/status")
                   if line.startswith("Cpus_allowed_list:")]
        assert allowed == [str(ncpu - 1)]
        with pytest.raises(InvalidStatusError) as e:
            cluster.low_level_settings(128)
        assert "is enabled; disable it first" in str(e.value)
        fields = wait_status(os.getpid(), veth_pair.if_a,
                             lambda f: "DNA Cluster Memory" in f, ring_id=ring.ring_id)
        huge = pathlib.Path("/sys/kernel/mm/transparent_hugepage/shmem_enabled").read_text()
        pages = "normal" if "[never]" in huge or "[deny]" in huge else "huge"
        assert fields["DNA Cluster Memory"].endswith(f", {pages} pages, 64 slots per queue")
        assert fields["DNA Cluster Core"] == str(ncpu - 1)
        with Ring(f"dnacluster:{cid}@0") as slave:     # joined, not reading yet
            slave.enable()
            send_flows(veth_pair, flows)
            deadline = time.monotonic() + 10
            while sum(cluster.app_stats(0)) < 200 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert cluster.app_stats(0) == AppStats(64, 136)
            got = []                           # recv(): each header has the hash
            while (pkt := slave.recv(timeout=0.3)) is not None:
                got.append(pkt)
        cluster.disable()
        with pytest.raises(InvalidStatusError) as e:
            cluster.low_level_settings(128)
        assert "was enabled already" in str(e.value)
    assert len(got) == 64 and {bytes(d) for _, d in got} <= set(frames_of(flows))
    assert [h.hash for h, _ in got] == [default_hash(bytes(d)) for _, d in got]
    err = capfd.readouterr().err
    if pages == "normal":
        assert (f"DNA cluster {cid}: DNA_CLUSTER_HUGEPAGES: the machine gives shared memory no "
                "huge pages (transparent_hugepage/shmem_enabled is [") in err


def master_thread_cores():
    """Cpus_allowed_list of this process's one DNA cluster master thread."""
    threads = [t for t in os.listdir("/proc/self/task")
               if open(f"/proc/self/task/{t}/comm").read().strip() == "pfring-dnacl"]
    assert len(threads) == 1, threads
    return [line.split(":", 1)[1].strip() for line in open(f"/proc/self/task/{threads[0]}/status")
            if line.startswith("Cpus_allowed_list:")][0]


def cpu_list(cores):
    """The kernel's list text of a set of cores ("0", "0-1", "0,2")."""
    cores, out = sorted(set(cores)), []
    for c in cores:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)


@pytest.mark.parametrize("mode", [SocketMode.RECV_ONLY, SocketMode.SEND_ONLY,
                                  SocketMode.SEND_AND_RECV])
def test_cpu_affinity_rx_and_tx_core(veth_pair, mode):
    """The master's one thread does the receiving and the transmitting work:
    set_cpu_affinity(rx, tx) binds it to rx when the cluster receives and to
    tx when it transmits the slaves' frames (both in SEND_AND_RECV), the
    status file names the cores that count, and NO_CORE for both unbinds
    it while it runs."""
    cid = 1954 + int(mode)
    ncpu = os.cpu_count()
    rx_core, tx_core = 0, ncpu - 1
    unbound = [line.split(":", 1)[1].strip() for line in open("/proc/thread-self/status")
               if line.startswith("Cpus_allowed_list:")][0]
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
    with ring, DnaCluster(cid, 1) as cluster:
        cluster.set_mode(mode)
        cluster.register_ring(ring)
        cluster.set_cpu_affinity(rx_core, tx_core)
        cluster.enable()
        want = {SocketMode.RECV_ONLY: [rx_core], SocketMode.SEND_ONLY: [tx_core],
                SocketMode.SEND_AND_RECV: [rx_core, tx_core]}[mode]
        assert master_thread_cores() == cpu_list(want)
        fields = wait_status(os.getpid(), veth_pair.if_a, lambda f: "DNA Cluster Memory" in f,
                             ring_id=ring.ring_id)
        assert fields.get("DNA Cluster Core") == (
            None if mode == SocketMode.SEND_ONLY else str(rx_core))
        assert fields.get("DNA Cluster Tx Core") == (
            None if mode == SocketMode.RECV_ONLY else str(tx_core))
        cluster.set_cpu_affinity(DnaCluster.NO_CORE, DnaCluster.NO_CORE)
        assert master_thread_cores() == unbound
        with pytest.raises(InvalidArgumentError) as e:
            cluster.set_cpu_affinity(DnaCluster.NO_CORE, ncpu)
        assert str(e.value) == (f"dna_cluster_set_cpu_affinity: tx_core_id {ncpu} is not a "
                                f"core of this machine (0..{ncpu - 1})")
        assert master_thread_cores() == unbound


THP_SHMEM = pathlib.Path("/sys/kernel/mm/transparent_hugepage/shmem_enabled")


def test_hugepages_where_the_machine_allows_them(veth_pair, tmp_path):
    """With shmem_enabled at [advise] (set here, put back after), the
    cluster's memory is madvised for huge pages and a slave still gets
    every frame."""
    if not THP_SHMEM.exists():
        pytest.skip("this kernel has no transparent huge pages for shared memory")
    before = THP_SHMEM.read_text()
    old = before[before.index("[") + 1:before.index("]")]
    cid = 1953
    flows = make_flows(veth_pair, 50, seed=47, kinds=("ipv4",))
    THP_SHMEM.write_text("advise")
    try:
        with veth_pair.a.enter():
            ring = Ring(veth_pair.if_a, DNA_BUFFER)
        with ring, DnaCluster(cid, 1, ClusterFlags.HUGEPAGES) as cluster, Procs() as procs:
            cluster.register_ring(ring)
            cluster.enable()
            fields = wait_status(os.getpid(), veth_pair.if_a,
                                 lambda f: "DNA Cluster Memory" in f, ring_id=ring.ring_id)
            slave = procs.add(Slave(veth_pair, cid, 0, tmp_path)).start()
            send_flows(veth_pair, flows)
            frames, _, drop = slave.stop()
    finally:
        THP_SHMEM.write_text(old)
    assert fields["DNA Cluster Memory"].endswith(", huge pages, 4096 slots per queue")
    assert sorted(frames) == sorted(frames_of(flows)) and drop == 0
    assert THP_SHMEM.read_text() == before


# -- slave transmission (send_only_mode, send_and_recv_mode) --------------------------

SENDER = r"""
import sys
import time
from pcap_pfring import Ring
from pcap_pfring._ffi import ffi, lib
from pcap_pfring.errors import PFRingError

dev, path, how = sys.argv[1:4]
lines = open(path).read().split()
ring = Ring(dev)
sent = 0
try:
    for line in lines:
        ifx, data = line.split(":")
        frame = bytes.fromhex(data)
        if how == "noflush":
            rc = lib.pfring_send(ring._h(), frame, len(frame), 0)
            if rc < 0:
                raise PFRingError(str(rc), code=rc)
        elif how == "retry":               # a full queue: again, up to 5 s
            for _ in range(5000):
                rc = lib.pfring_send(ring._h(), frame, len(frame), 1)
                if rc != lib.PF_RING_ERROR_NO_TX_SLOT_AVAILABLE:
                    break
                time.sleep(0.001)
            if rc < 0:
                raise PFRingError(str(rc), code=rc)
        elif int(ifx):
            ring.send(frame, if_index=int(ifx))
        else:
            ring.send(frame)
        sent += 1
    ring.flush_tx_packets()
    print("sent", sent, flush=True)
except PFRingError as e:
    text = lib.pfring_last_error(ring._h())
    from pcap_pfring._ffi import ffi
    print("error", sent, e.code, ffi.string(text).decode(), flush=True)
st = ring.stats()
print("stats", st.recv, st.drop, flush=True)
sys.stdin.readline()
ring.close()
print("closed", flush=True)
"""


class Sender(Process):
    """A slave of app ``app`` sending ``frames`` ((if_index, bytes) pairs)."""

    def __init__(self, pair, cid, app, tmp_path, frames, how="flush"):
        path = tmp_path / f"tx{cid}-{app}.txt"
        path.write_text("".join(f"{i}:{f.hex()}\n" for i, f in frames))
        script = tmp_path / "sender.py"
        script.write_text(SENDER)
        super().__init__(pair.a, [sys.executable, str(script), f"dnacluster:{cid}@{app}",
                                  str(path), how], name=f"sender {cid}@{app}", stdin=True)

    def result(self):
        line = self.wait_out("stats ")
        first = [s for s in self.out if s.startswith(("sent ", "error "))][0].split(" ", 3)
        return first, tuple(int(x) for x in line.split()[1:])

    def close(self):
        self.send("close")
        rc, out, err = self.finish(timeout=20)
        assert rc == 0 and "closed" in out, (rc, out, err)


def tx_frames(pair, n, tag, start=0):
    return [frame(pair.mac_b, pair.mac_a, payload=bytes([tag]) + i.to_bytes(2, "big") * 20)
            for i in range(start, start + n)]


def b_ring(pair, ifname=None):
    with pair.b.enter():
        ring = Ring(ifname or pair.if_b, DNA_BUFFER)
    ring.enable()
    return ring


def got_tx(ring):
    return [bytes(d) for _, d in drain(ring) if bytes(d)[12:14] == b"\x88\xb5"]


def ifindex(ns, name):
    return int(ns.run(["cat", f"/sys/class/net/{name}/ifindex"]).stdout)


def test_slave_sends_through_the_master(veth_pair, tmp_path, master_exe):
    """send_only_mode: 50 frames of app 0's slave leave on veth0, exactly and in
    order; the counters say so, the slave's own pfring_stats stay 0."""
    cid = 1701
    frames = tx_frames(veth_pair, 50, 1)
    rx = b_ring(veth_pair)
    with rx, Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2, "hash", "send")).start()
        s = procs.add(Sender(veth_pair, cid, 0, tmp_path, [(0, f) for f in frames]))
        first, stats = s.result()
        assert first == ["sent", "50\n"] and stats == (0, 0)
        assert got_tx(rx) == frames
        assert m.tx_stats() == (50, [(50, 0), (0, 0)])
        s.close()
        rxn, processed, apps = m.quit()
    assert (rxn, processed) == (0, 0)


def test_two_slaves_send(veth_pair, tmp_path, master_exe):
    cid = 1702
    f0, f1 = tx_frames(veth_pair, 40, 2), tx_frames(veth_pair, 40, 3)
    rx = b_ring(veth_pair)
    with rx, Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 2, "hash", "send")).start()
        s0 = procs.add(Sender(veth_pair, cid, 0, tmp_path, [(0, f) for f in f0]))
        s1 = procs.add(Sender(veth_pair, cid, 1, tmp_path, [(0, f) for f in f1]))
        assert s0.result()[0] == ["sent", "40\n"] and s1.result()[0] == ["sent", "40\n"]
        got = got_tx(rx)
        assert [g for g in got if g[14] == 2] == f0 and [g for g in got if g[14] == 3] == f1
        assert len(got) == 80
        assert m.tx_stats() == (80, [(40, 0), (40, 0)])
        s0.close()
        s1.close()
        m.quit()


def test_egress_ring_by_if_index(veth_pair, tmp_path, master_exe):
    """Two registered rings (veth0, veth2): a frame goes out on the ring of its
    if_index, if_index 0 on the first ring, an unknown if_index is dropped
    and counted."""
    cid = 1703
    veth_pair.add_link("veth2", "veth3")
    i0, i2 = ifindex(veth_pair.a, "veth0"), ifindex(veth_pair.a, "veth2")
    on2, on0, dflt, lost = (tx_frames(veth_pair, 20, 4), tx_frames(veth_pair, 20, 5),
                            tx_frames(veth_pair, 10, 6), tx_frames(veth_pair, 5, 7))
    plan = ([(i2, f) for f in on2] + [(i0, f) for f in on0] + [(0, f) for f in dflt] +
            [(9999, f) for f in lost])
    rx1, rx3 = b_ring(veth_pair), b_ring(veth_pair, "veth3")
    with rx1, rx3, Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 1, "hash", "sendrecv",
                             dev="veth0,veth2")).start()
        s = procs.add(Sender(veth_pair, cid, 0, tmp_path, plan))
        assert s.result()[0] == ["sent", "55\n"]
        assert got_tx(rx3) == on2
        assert got_tx(rx1) == on0 + dflt
        assert m.tx_stats() == (50, [(50, 5)])
        s.close()
        m.quit()


def test_full_tx_queue(veth_pair, tmp_path, master_exe):
    """A TX queue of 64 slots filled without a flush: the 65th pfring_send
    answers NO_TX_SLOT_AVAILABLE, and the 64 queued frames are sent."""
    cid = 1704
    frames = tx_frames(veth_pair, 100, 8)
    rx = b_ring(veth_pair)
    with rx, Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 1, "hash", "send", "txlen=64")).start()
        s = procs.add(Sender(veth_pair, cid, 0, tmp_path, [(0, f) for f in frames], "noflush"))
        first, _ = s.result()
        assert first[:3] == ["error", "64", str(lib.PF_RING_ERROR_NO_TX_SLOT_AVAILABLE)]
        assert first[3] == (f"dnacluster:{cid}@0: the TX queue of app 0 is full (64 frames)\n")
        assert got_tx(rx) == frames[:64]
        assert m.tx_stats() == (64, [(64, 0)])
        s.close()
        m.quit()


def test_recv_only_cluster_refuses_send(veth_pair, master_exe):
    cid = 1705
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 1)).start()
        with veth_pair.a.enter():
            slave = Ring(f"dnacluster:{cid}@0")
        with slave:
            with pytest.raises(NotSupportedError) as e:
                slave.send(tx_frames(veth_pair, 1, 9)[0])
            assert str(e.value) == (
                f"dnacluster:{cid}@0: DNA cluster {cid} is in recv_only_mode: its slaves "
                "cannot send (the master chooses send_only_mode or send_and_recv_mode with "
                "dna_cluster_set_mode)")
        m.quit()
    assert not (SHM / f"pfring-dnacluster-{cid}").exists()


def test_send_and_recv_mode_still_distributes(veth_pair, tmp_path, master_exe):
    """send_and_recv_mode: two receiving slaves get exactly their flows while
    a third app's slave sends."""
    cid = 1706
    flows = make_flows(veth_pair, 300, seed=77, kinds=KINDS)
    frames = tx_frames(veth_pair, 30, 10)
    rx = b_ring(veth_pair)
    with rx, Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 3, "fanout", "sendrecv")).start()
        slaves = [procs.add(Slave(veth_pair, cid, a, tmp_path)).start() for a in range(2)]
        s = procs.add(Sender(veth_pair, cid, 2, tmp_path, [(0, f) for f in frames]))
        send_flows(veth_pair, flows)
        assert s.result()[0] == ["sent", "30\n"]
        assert got_tx(rx) == frames
        got = []
        for sl in slaves:
            fr, recv, drop = sl.stop()
            got.append(fr)
            assert drop == 0
        s.close()
        tx, txapps = m.tx_stats()
        rxn, processed, apps = m.quit()
    assert_split(got, flows, [0, 1])
    assert rxn == processed == 600
    assert (tx, txapps) == (30, [(0, 0), (0, 0), (30, 0)])
    assert apps[:2] == [(len(g), 0) for g in got]


def test_python_master_send_only(veth_pair):
    """The Python master in SEND_ONLY mode: a Ring slave's frames leave on the
    registered ring; stats().tx and app_tx_stats count them; the slave's
    own stats stay 0."""
    cid = 1707
    frames = tx_frames(veth_pair, 25, 11)
    rx = b_ring(veth_pair)
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
    with rx, ring, DnaCluster(cid, 2) as cluster:
        cluster.set_mode(SocketMode.SEND_ONLY)
        cluster.register_ring(ring)
        cluster.enable()
        with Ring(f"dnacluster:{cid}@1") as slave:
            for f in frames:
                assert slave.send(f) == len(f)
            slave.flush_tx_packets()
            assert got_tx(rx) == frames
            st = slave.stats()
            assert (st.recv, st.drop) == (0, 0)
        assert cluster.stats() == ClusterStats(0, 25, 0)
        assert cluster.app_tx_stats(1) == AppTxStats(25, 0)
        fields = wait_status(os.getpid(), veth_pair.if_a,
                             lambda f: f.get("DNA Cluster Tx", "").startswith("25 "),
                             ring_id=ring.ring_id)
        assert fields["DNA Cluster Tx"] == ("25 (send_only_mode, 4096 TX slots and 4352 "
                                            "buffers per app)")
        assert cluster.app_tx_stats(0) == AppTxStats(0, 0)
        with pytest.raises(InvalidArgumentError) as e:
            cluster.app_tx_stats(2)
        assert str(e.value) == "dna_cluster_app_tx_stats: app 2 is out of range (0..1)"


# -- the pkt_buff API (§9.3) ---------------------------------------------------------

def last_error(ring):
    return ffi.string(lib.pfring_last_error(ring._h())).decode()


def recv_pkt_buff(ring, h, hdr, timeout=5):
    """pfring_recv_pkt_buff without waiting, again until a packet comes or
    ``timeout`` seconds pass: its return code."""
    deadline = time.monotonic() + timeout
    while (rc := lib.pfring_recv_pkt_buff(ring._h(), h, hdr, 0)) == 0 and \
            time.monotonic() < deadline:
        time.sleep(0.001)
    return rc


def fill(ring, h, data):
    ffi.memmove(lib.pfring_get_pkt_buff_data(ring._h(), h), data, len(data))
    assert lib.pfring_set_pkt_buff_len(ring._h(), h, len(data)) == 0


def test_pkt_buff_zero_copy_tx(veth_pair):
    """Frames written in place into pkt_buff handles leave exactly; each send
    gives the handle a fresh buffer; the limit of handles, bad handles and
    other rings are clear errors."""
    cid = 1708
    frames = tx_frames(veth_pair, 20, 12)
    rx = b_ring(veth_pair)
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
        other = Ring(veth_pair.if_a, DNA_BUFFER)
    with rx, other, ring, DnaCluster(cid, 2) as cluster:
        cluster.set_mode(SocketMode.SEND_ONLY)
        cluster.low_level_settings(4096, 64, 4)
        cluster.register_ring(ring)
        cluster.enable()
        with Ring(f"dnacluster:{cid}@0") as s0, Ring(f"dnacluster:{cid}@1") as s1:
            hs = [lib.pfring_alloc_pkt_buff(s0._h()) for _ in range(4)]
            assert ffi.NULL not in hs
            assert lib.pfring_alloc_pkt_buff(s0._h()) == ffi.NULL
            assert last_error(s0) == (
                f"pfring_alloc_pkt_buff: ring 'dnacluster:{cid}@0' holds all its 4 pkt_buff "
                "handles (the cluster's slave_additional_buffers); release or send one first")
            seen = set()
            for i, f in enumerate(frames):
                h = hs[i % 4]
                seen.add(int(ffi.cast("uintptr_t", lib.pfring_get_pkt_buff_data(s0._h(), h))))
                fill(s0, h, f)
                assert lib.pfring_send_pkt_buff(s0._h(), h, i == len(frames) - 1) == len(f)
            assert len(seen) > 4                   # every send gave the handle a fresh buffer
            assert lib.pfring_send_pkt_buff(s0._h(), hs[0], 1) == lib.PF_RING_ERROR_INVALID_ARGUMENT
            assert last_error(s0) == ("pfring_send_pkt_buff: the frame is empty "
                                      "(pfring_set_pkt_buff_len first)")
            assert got_tx(rx) == frames
            assert cluster.app_tx_stats(0) == AppTxStats(20, 0)
            # bad input
            bad = lib.PF_RING_ERROR_INVALID_ARGUMENT
            assert lib.pfring_set_pkt_buff_len(s0._h(), ffi.NULL, 60) == bad
            assert last_error(s0) == "pfring_set_pkt_buff_len: pkt_handle is NULL"
            h1 = lib.pfring_alloc_pkt_buff(s1._h())
            assert h1 != ffi.NULL
            assert lib.pfring_send_pkt_buff(s0._h(), h1, 1) == bad
            assert last_error(s0) == (f"pfring_send_pkt_buff: pkt_handle is not a handle of ring "
                                      f"'dnacluster:{cid}@0' (pfring_alloc_pkt_buff of this ring)")
            assert lib.pfring_get_pkt_buff_data(s0._h(), h1) == ffi.NULL
            for n in (0, DNA_BUFFER + 1):
                assert lib.pfring_set_pkt_buff_len(s0._h(), hs[1], n) == bad
                assert last_error(s0) == (f"pfring_set_pkt_buff_len: len {n} is not in 1..2048 "
                                          "(the cluster's buffer size)")
            assert lib.pfring_set_pkt_buff_ifindex(s0._h(), hs[1], -1) == bad
            assert lib.pfring_add_pkt_buff_ifindex(s0._h(), hs[1], 5) == 0
            assert lib.pfring_add_pkt_buff_ifindex(s0._h(), hs[1], 6) == \
                lib.PF_RING_ERROR_NOT_SUPPORTED
            lib.pfring_release_pkt_buff(s0._h(), hs[1])
            assert lib.pfring_set_pkt_buff_len(s0._h(), hs[1], 60) == bad
            assert last_error(s0) == "pfring_set_pkt_buff_len: pkt_handle was released"
            assert lib.pfring_alloc_pkt_buff(s0._h()) != ffi.NULL   # its place is free again
            lib.pfring_release_pkt_buff(s1._h(), h1)
        # other backends
        assert lib.pfring_alloc_pkt_buff(other._h()) == ffi.NULL
        assert last_error(other) == (
            f"pfring_alloc_pkt_buff: ring '{veth_pair.if_a}' has no pkt_buff handles (only DNA "
            "cluster slaves, dnacluster:ID@APP, do)")
        assert lib.pfring_send_pkt_buff(other._h(), ffi.NULL, 1) == lib.PF_RING_ERROR_NOT_SUPPORTED
        hdr = ffi.new("struct pfring_pkthdr *")
        assert lib.pfring_recv_pkt_buff(other._h(), ffi.NULL, hdr, 0) == \
            lib.PF_RING_ERROR_NOT_SUPPORTED


def test_pkt_buff_recv_keep_and_send(veth_pair):
    """pfring_recv_pkt_buff: two received packets kept aside in handles and
    sent back later, in reverse order, exactly."""
    cid = 1709
    frames = [frame(veth_pair.mac_a, veth_pair.mac_b, payload=bytes([13, i]) * 30)
              for i in range(2)]
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
    with ring, DnaCluster(cid, 1) as cluster:
        cluster.set_mode(SocketMode.SEND_AND_RECV)
        cluster.register_ring(ring)
        cluster.enable()
        with Ring(f"dnacluster:{cid}@0") as s0:
            s0.enable()
            hs = [lib.pfring_alloc_pkt_buff(s0._h()) for _ in range(2)]
            hdr = ffi.new("struct pfring_pkthdr *")
            assert lib.pfring_recv_pkt_buff(s0._h(), hs[0], hdr, 0) == 0
            send_frames(veth_pair.b, veth_pair.if_b, frames)
            got = []
            for h in hs:
                assert recv_pkt_buff(s0, h, hdr) == 1
                got.append(bytes(ffi.buffer(lib.pfring_get_pkt_buff_data(s0._h(), h),
                                            hdr.caplen)))
            assert got == frames
            assert lib.pfring_recv_pkt_buff(s0._h(), hs[0], ffi.NULL, 0) == \
                lib.PF_RING_ERROR_INVALID_ARGUMENT
            rx = b_ring(veth_pair)
            with rx:
                for h in reversed(hs):
                    assert lib.pfring_send_pkt_buff(s0._h(), h, 1) == len(frames[0])
                assert got_tx(rx) == frames[::-1]
            for h in hs:
                lib.pfring_release_pkt_buff(s0._h(), h)
        assert cluster.app_tx_stats(0) == AppTxStats(2, 0)


def pool_of(cid):
    """[(start, end)] of the packet pool in every mapping of cluster cid's
    memory in this process (its master and its slaves here)."""
    path = str(SHM / f"pfring-dnacluster-{cid}")
    with open(path, "rb") as f:
        head = f.read(104)
    num_bufs, buf_size = struct.unpack_from("<II", head, 20)
    bufs_off, = struct.unpack_from("<Q", head, 64)
    out = []
    for line in open("/proc/self/maps"):
        fields = line.split()
        if len(fields) >= 6 and fields[5] == path:
            start = int(fields[0].split("-")[0], 16) - int(fields[2], 16)
            out.append((start + bufs_off, start + bufs_off + num_bufs * buf_size))
    return out


def to_a(pair, n, tag):
    """n frames from b to a, tagged."""
    return [frame(pair.mac_a, pair.mac_b, payload=bytes([tag]) + i.to_bytes(2, "big") * 20)
            for i in range(n)]


def test_pkt_buff_recv_is_zero_copy(veth_pair):
    """pfring_recv_pkt_buff hands over the packet where the master put it:
    64 packets kept aside in handles point into the cluster's packet pool,
    each at a buffer of its own, and stay intact while 100 more are received
    and let go; sent later from the pool (one written to in place first),
    they leave exactly, and the handles get their TX buffers back."""
    cid = 1713
    kept, more = to_a(veth_pair, 64, 18), to_a(veth_pair, 100, 19)
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
    with ring, DnaCluster(cid, 1) as cluster:
        cluster.set_mode(SocketMode.SEND_AND_RECV)
        cluster.register_ring(ring)
        cluster.enable()
        with Ring(f"dnacluster:{cid}@0") as s0:
            s0.enable()
            pools = pool_of(cid)
            assert len(pools) == 2                 # the master's mapping and the slave's
            hs = [lib.pfring_alloc_pkt_buff(s0._h()) for _ in range(64)]
            assert ffi.NULL not in hs
            tx_bufs = {int(ffi.cast("uintptr_t", lib.pfring_get_pkt_buff_data(s0._h(), h)))
                       for h in hs}
            assert not any(lo <= a < hi for a in tx_bufs for lo, hi in pools)
            send_frames(veth_pair.b, veth_pair.if_b, kept)
            hdr = ffi.new("struct pfring_pkthdr *")
            ptrs = []
            for h in hs:
                assert recv_pkt_buff(s0, h, hdr) == 1
                ptrs.append(int(ffi.cast("uintptr_t", lib.pfring_get_pkt_buff_data(s0._h(), h))))
                assert hdr.caplen == len(kept[0])
            assert all(any(lo <= a < hi for lo, hi in pools) for a in ptrs), (ptrs, pools)
            assert len({a // DNA_BUFFER for a in ptrs}) == 64
            send_frames(veth_pair.b, veth_pair.if_b, more)
            assert [bytes(d) for _, d in drain(s0)] == more
            data = [bytes(ffi.buffer(ffi.cast("u_char *", a), len(kept[0]))) for a in ptrs]
            assert data == kept
            ffi.cast("u_char *", ptrs[5])[14] = 0x77      # written in place, then sent
            rx = b_ring(veth_pair)
            with rx:
                for i, h in enumerate(hs):
                    assert lib.pfring_send_pkt_buff(s0._h(), h, i == 63) == len(kept[0])
                sent = got_tx(rx)
            assert sent == kept[:5] + [kept[5][:14] + b"\x77" + kept[5][15:]] + kept[6:]
            back = {int(ffi.cast("uintptr_t", lib.pfring_get_pkt_buff_data(s0._h(), h)))
                    for h in hs}
            assert back == tx_bufs
            for h in hs:
                lib.pfring_release_pkt_buff(s0._h(), h)
        assert cluster.app_tx_stats(0) == AppTxStats(64, 0)
        assert cluster.app_stats(0) == AppStats(164, 0)


def test_kept_packet_is_never_overwritten(veth_pair):
    """A packet kept aside (queues of 64 slots) pins app 0's queue: the
    master queues 63 more after it and drops the rest for that app (counted),
    and never reuses its buffer; released, the queue takes packets again.
    A second app, not kept, gets every packet."""
    cid = 1714
    first, = to_a(veth_pair, 1, 20)
    burst, after = to_a(veth_pair, 150, 21), to_a(veth_pair, 10, 22)
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
    with ring, DnaCluster(cid, 2) as cluster:
        cluster.set_mode(SocketMode.SEND_AND_RECV)
        cluster.low_level_settings(64, 64, 4)
        cluster.set_app_groups([1, 1])           # both apps get every packet
        cluster.register_ring(ring)
        cluster.enable()
        with Ring(f"dnacluster:{cid}@0") as s0, Ring(f"dnacluster:{cid}@1") as s1:
            s0.enable()
            s1.enable()
            h = lib.pfring_alloc_pkt_buff(s0._h())
            hdr = ffi.new("struct pfring_pkthdr *")
            send_frames(veth_pair.b, veth_pair.if_b, [first])
            assert recv_pkt_buff(s0, h, hdr) == 1
            data = lib.pfring_get_pkt_buff_data(s0._h(), h)
            got0, got1 = [], [bytes(d) for _, d in drain(s1)]
            for i in range(0, len(burst), 10):        # both read as packets come
                send_frames(veth_pair.b, veth_pair.if_b, burst[i:i + 10])
                got0 += [bytes(d) for _, d in drain(s0, quiet=0.05)]
                got1 += [bytes(d) for _, d in drain(s1, quiet=0.05)]
            got0 += [bytes(d) for _, d in drain(s0)]
            got1 += [bytes(d) for _, d in drain(s1)]
            assert got0 == burst[:63]
            assert cluster.app_stats(0) == AppStats(64, 87)
            assert bytes(ffi.buffer(data, len(first))) == first
            assert got1 == [first] + burst
            lib.pfring_release_pkt_buff(s0._h(), h)
            send_frames(veth_pair.b, veth_pair.if_b, after)
            assert [bytes(d) for _, d in drain(s0)] == after
        assert cluster.app_stats(0) == AppStats(74, 87)
        assert cluster.app_stats(1) == AppStats(161, 0)


def test_pkt_buff_bridge_through_a_short_queue(veth_pair):
    """Each packet received into a handle and sent on at once, from the pool
    (a bridge), through an RX queue of 64 slots: 300 packets go through
    with no drop, since what the master sent lets go of the queue."""
    cid = 1716
    frames = to_a(veth_pair, 300, 25)
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
    with ring, DnaCluster(cid, 1) as cluster:
        cluster.set_mode(SocketMode.SEND_AND_RECV)
        cluster.low_level_settings(64, 4096, 4)
        cluster.register_ring(ring)
        cluster.enable()
        rx = b_ring(veth_pair)
        with rx, Ring(f"dnacluster:{cid}@0") as s0:
            s0.enable()
            h = lib.pfring_alloc_pkt_buff(s0._h())
            hdr = ffi.new("struct pfring_pkthdr *")
            out = []
            for i in range(0, len(frames), 10):
                send_frames(veth_pair.b, veth_pair.if_b, frames[i:i + 10])
                for _ in range(10):
                    assert recv_pkt_buff(s0, h, hdr) == 1
                    assert lib.pfring_send_pkt_buff(s0._h(), h, 1) == len(frames[0])
                out += [bytes(d) for hd, d in drain(rx, quiet=0.05) if hd.rx]
            lib.pfring_release_pkt_buff(s0._h(), h)
            out += [bytes(d) for hd, d in drain(rx, quiet=0.05) if hd.rx]
        assert out == frames
        assert cluster.app_stats(0) == AppStats(300, 0)
        assert cluster.app_tx_stats(0) == AppTxStats(300, 0)


KEEPER = r"""
import sys
import time
from pcap_pfring import Ring
from pcap_pfring._ffi import ffi, lib

ring = Ring(sys.argv[1])
ring.enable()
hs = [lib.pfring_alloc_pkt_buff(ring._h()) for _ in range(int(sys.argv[2]))]
hdr = ffi.new("struct pfring_pkthdr *")
print("ready", flush=True)
kept, deadline = 0, time.monotonic() + 10
while kept < len(hs) and time.monotonic() < deadline:
    kept += max(0, lib.pfring_recv_pkt_buff(ring._h(), hs[kept], hdr, 0))
    time.sleep(0.001)
print("kept", kept, flush=True)
sys.stdin.readline()
"""


def test_slave_killed_with_packets_kept(veth_pair, tmp_path):
    """A slave that keeps 10 packets aside in handles is killed (SIGKILL):
    the master gives them back with its queue (10 dropped, counted), a new
    slave of the app gets 100 packets through its queue of 64 (nothing is
    pinned any more), and the other app gets every packet throughout."""
    cid = 1715
    first, then = to_a(veth_pair, 10, 23), to_a(veth_pair, 100, 24)
    script = tmp_path / "keeper.py"
    script.write_text(KEEPER)
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
    with ring, DnaCluster(cid, 2) as cluster, Procs() as procs:
        cluster.set_mode(SocketMode.SEND_AND_RECV)
        cluster.low_level_settings(64, 64, 16)
        cluster.set_app_groups([1, 1])           # both apps get every packet
        cluster.register_ring(ring)
        cluster.enable()
        with Ring(f"dnacluster:{cid}@1") as s1:
            s1.enable()
            keeper = procs.add(Process(veth_pair.a, [sys.executable, str(script),
                                                     f"dnacluster:{cid}@0", "10"],
                                       name="keeper", stdin=True))
            keeper.wait_out("ready")
            send_frames(veth_pair.b, veth_pair.if_b, first)
            assert keeper.wait_out("kept ") == "kept 10\n"
            rc, _, _ = keeper.finish(timeout=10, sig=signal.SIGKILL)
            assert rc == -signal.SIGKILL
            got1 = [bytes(d) for _, d in drain(s1)]
            deadline = time.monotonic() + 5
            while cluster.app_stats(0).dropped < 10 and time.monotonic() < deadline:
                time.sleep(0.02)                 # the master's check (every 100 ms)
            assert cluster.app_stats(0) == AppStats(10, 10)
            with Ring(f"dnacluster:{cid}@0") as s0:
                s0.enable()
                got0 = []
                for i in range(0, len(then), 10):
                    send_frames(veth_pair.b, veth_pair.if_b, then[i:i + 10])
                    got0 += [bytes(d) for _, d in drain(s0, quiet=0.05)]
                    got1 += [bytes(d) for _, d in drain(s1, quiet=0.05)]
                got0 += [bytes(d) for _, d in drain(s0)]
            got1 += [bytes(d) for _, d in drain(s1)]
        assert got0 == then
        assert got1 == first + then
        assert cluster.app_stats(0) == AppStats(110, 10)
        assert cluster.app_stats(1) == AppStats(110, 0)


def test_tx_descriptors_the_slave_should_not_write(veth_pair):
    """The master trusts no TX descriptor: a buffer outside the app's TX
    buffers, length 0 or above the buffer size are dropped (counted), a
    good one next to them is sent, and a tx_head that is no position of the
    queue is ignored.  A descriptor naming a slot of the app's RX queue
    (DNACL_TX_RX_SLOT) is sent only for a packet queued and not released:
    here nothing was received, so both are dropped."""
    cid = 1710
    good = tx_frames(veth_pair, 1, 14)[0]
    rx = b_ring(veth_pair)
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
    with rx, ring, DnaCluster(cid, 1) as cluster:
        cluster.set_mode(SocketMode.SEND_ONLY)
        cluster.low_level_settings(4096, 64, 0)
        cluster.register_ring(ring)
        cluster.enable()
        with Ring(f"dnacluster:{cid}@0"), \
                open(SHM / f"pfring-dnacluster-{cid}", "r+b") as f, \
                mmap.mmap(f.fileno(), 0) as mem:
            apps_off, = struct.unpack_from("<Q", mem, 48)
            tx_slots, tx_bufs, txq_off, txbufs_off = struct.unpack_from("<IIQQ", mem, 80)
            assert (tx_slots, tx_bufs) == (64, 64)
            mem[txbufs_off:txbufs_off + len(good)] = good
            rx_slot = 0x80000000
            for i, (buf, caplen) in enumerate([(tx_bufs, 60), (0xFFFFFFFF, 60), (0, 0),
                                               (0, DNA_BUFFER + 1), (rx_slot | 3, 60),
                                               (rx_slot | 4096, 60), (0, len(good))]):
                struct.pack_into("<IIIi", mem, txq_off + 32 * i, buf, caplen, caplen, 0)
            struct.pack_into("<Q", mem, apps_off + 72, 7)              # tx_head
            assert got_tx(rx) == [good]
            assert cluster.app_tx_stats(0) == AppTxStats(1, 6)
            struct.pack_into("<Q", mem, apps_off + 72, 7 + 10**9)      # not a position
            time.sleep(0.1)
            assert cluster.app_tx_stats(0) == AppTxStats(1, 6)
            assert struct.unpack_from("<Q", mem, apps_off + 32) == (7,)   # tx_tail
            struct.pack_into("<Q", mem, apps_off + 72, 7)
        assert cluster.stats().tx == 1


def test_dead_slave_pending_tx_is_dropped(veth_pair, tmp_path):
    """A slave that published frames while the master was stopped and then
    died: the master drops them (counted) instead of sending them, and a new
    slave of the app sends exactly its own."""
    cid = 1711
    old, new = tx_frames(veth_pair, 10, 15), tx_frames(veth_pair, 5, 16)
    rx = b_ring(veth_pair)
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, DNA_BUFFER)
    with rx, ring, DnaCluster(cid, 1) as cluster, Procs() as procs:
        cluster.set_mode(SocketMode.SEND_ONLY)
        cluster.register_ring(ring)
        cluster.enable()
        cluster.disable()
        s = procs.add(Sender(veth_pair, cid, 0, tmp_path, [(0, f) for f in old]))
        assert s.result()[0] == ["sent", "10\n"]
        rc, _, _ = s.finish(timeout=10, sig=signal.SIGKILL)
        assert rc == -signal.SIGKILL
        cluster.enable()
        s2 = procs.add(Sender(veth_pair, cid, 0, tmp_path, [(0, f) for f in new]))
        assert s2.result()[0] == ["sent", "5\n"]
        assert got_tx(rx) == new
        assert cluster.app_tx_stats(0) == AppTxStats(5, 10)
        s2.close()


def test_tx_queue_wraps_many_times(veth_pair, tmp_path, master_exe):
    """3000 frames through a TX queue of 64 slots (each flushed, a full queue
    tried again): the queue and its buffers wrap ~47 times, every frame
    arrives once and in order."""
    cid = 1712
    frames = tx_frames(veth_pair, 3000, 17)
    with veth_pair.b.enter():
        rx = Ring(veth_pair.if_b, DNA_BUFFER)
    rx.set_buffer_size(64 << 20)
    rx.enable()
    with rx, Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 1, "hash", "send", "txlen=64")).start()
        s = procs.add(Sender(veth_pair, cid, 0, tmp_path, [(0, f) for f in frames], "retry"))
        assert s.result()[0] == ["sent", "3000\n"]
        assert got_tx(rx) == frames
        assert m.tx_stats() == (3000, [(3000, 0)])
        s.close()
        m.quit()


def udp_frames(pair, n, port_parity, tag):
    """IPv4 UDP frames from b to a, to even or odd destination ports."""
    out = []
    for i in range(n):
        payload = bytes([tag]) + i.to_bytes(2, "big") * 10
        udp = struct.pack("!HHHH", 1000 + i, 2000 + 2 * i + port_parity, 8 + len(payload), 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), i, 0, 64, 17, 0,
                         bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
        out.append(frame(pair.mac_a, pair.mac_b, 0x0800, ip + udp + payload))
    return out


def test_direct_forwarding(veth_pair, tmp_path, master_exe):
    """DNA_CLUSTER_DIRECT_FORWARDING (dna_master's frwd function): UDP to an
    even port leaves through the second ring (veth2, seen at veth3), to an
    odd port through both rings (a bit of no ring counted as a failure),
    and everything else goes to app 0; the rings take received packets only,
    so nothing forwarded comes back."""
    cid = 1961
    veth_pair.add_link("veth2", "veth3")
    even, odd = udp_frames(veth_pair, 15, 0, 1), udp_frames(veth_pair, 15, 1, 2)
    other = [frame(veth_pair.mac_a, veth_pair.mac_b, 0x88B5, bytes([3, i]) * 20)
             for i in range(15)]
    sent = [f for trio in zip(even, odd, other) for f in trio]
    rx1, rx3 = b_ring(veth_pair), b_ring(veth_pair, "veth3")
    with rx1, rx3, Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 1, "frwd", dev="veth0,veth2")).start()
        s0 = procs.add(Slave(veth_pair, cid, 0, tmp_path)).start()
        send_from_b(veth_pair, sent)
        frames0, _, drop0 = s0.stop()
        out3 = [bytes(d) for h, d in drain(rx3) if h.rx]
        out1 = [bytes(d) for h, d in drain(rx1) if h.rx]
        rx, processed, apps = m.stats()
        tx = m.tx_stats()[0]
        m.quit()
    assert frames0 == other and drop0 == 0
    assert out3 == [f for f in sent if f in even or f in odd]
    assert out1 == odd
    assert (rx, processed, tx) == (45, 45, 15 + 2 * 15)
    assert apps == [(15, 0)]
