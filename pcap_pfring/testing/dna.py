"""The DNA Cluster's pieces for the live tests (tests/live/test_dna_*.py).

``build_master(root, exe)`` builds ``tests/unit/c/dna_master.c`` (a master on
libpfring's C API, from the sources of tree ``root``); :class:`Master` runs
it in a namespace and reads its stats lines.  :class:`Slave` runs
``python -m pcap_pfring.testing.dna_slave``, a ``Ring("dnacluster:ID@APP")``
writing every packet it gets to a file.  :class:`Procs` kills by pid
whatever is still running when a test ends.

``default_hash`` is the default distribution's hash of a frame of the tests
(``app_of``: the app of ``num_apps`` it goes to), and ``assert_split``
checks that the frames the slaves got are disjoint, complete and split by
flow.
"""
import os
import struct
import sys
import time

from . import cprog
from .cluster_ref import cluster_hash, fmix32
from .procs import Process

SLAVE = [sys.executable, "-m", "pcap_pfring.testing.dna_slave"]
PFCOUNT = os.path.join(os.path.dirname(sys.executable), "pfcount")
PER_FLOW = 0                    # cluster_per_flow: VLAN id, protocol, addresses, ports


def build_master(root, exe):
    """gcc: ``root``'s tests/unit/c/dna_master.c -> ``exe``; the gcc run."""
    return cprog.build(root, root / "tests/unit/c/dna_master.c", exe)


def drop_in(root):
    """The folder of the libpcap drop-in that ``make lib`` builds in ``root``."""
    return root / "build" / "libpcap-pfring"


class Master(Process):
    def __init__(self, exe, pair, cid, n, mode="hash", *extra, dev=None):
        super().__init__(pair.a, [str(exe), dev or pair.if_a, str(cid), str(n), mode, *extra],
                         name=f"master {cid}", stdin=True)
        self.cid, self.n = cid, n

    def start(self):
        self.wait_out("ready")
        return self

    def stats(self):
        """(rx, processed, [(delivered, dropped) per app]) from a "stats" line."""
        return parse_stats(self.ask("stats", "stats "))

    def tx_stats(self):
        """(tot_tx_packets, [(sent, dropped) per app]) from a "stats" line."""
        return parse_tx(self.ask("stats", "stats "))

    def quit(self):
        """Destroys the cluster; the final stats."""
        self.send("quit")
        rc, out, err = self.finish(timeout=20)
        assert rc == 0 and "done" in out, (rc, out, err)
        return parse_stats([s for s in out.splitlines() if s.startswith("stats ")][-1])


def parse_tx(line):
    fields = dict(f.split("=") for f in line.split()[1:])
    apps = []
    while f"tx{len(apps)}" in fields:
        apps.append(tuple(int(x) for x in fields[f"tx{len(apps)}"].split("/")))
    return int(fields["tx"]), apps


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


