"""close(), breakloop() and the receive calls racing from several threads.

1,000 iterations in all, half of them while frames flow, run in child
processes (this file, run as a script) so that a crash is a failed exit
status, not a dead test run: two children at a time, 250 iterations each
(closing a packet socket waits for an RCU grace period, some 20 ms, which
two children spend side by side).  Each iteration opens a ring and starts its
receivers, blocked in (or looping on) one receive call each: recv(wait=True),
iteration, loop(), recv_batch() with a timeout (reading its packets as
views, by index and by iteration) and wait().  A standard ring gets one receiver (a ring without
PF_RING_REENTRANT is one thread's), a REENTRANT ring three.  Other threads
call breakloop() and close() (sometimes two closers at once) after a random
delay of up to 3 ms, so the calls land at every point of the receivers'
calls.  Then:

- every receiver ends within 5 s of the close (no hang), and every call
  ends with its documented result: a breakloop gives None (recv), the end
  of the iteration, the packets so far (loop), an empty batch (recv_batch)
  or False (wait); the close gives InvalidStatusError, which every
  receiver gets last; with traffic, packets as well.  Reading a zero-copy
  view after the close raises ValueError (released), and reading a stale
  batch InvalidStatusError; nothing else may be raised;
- no file descriptor is left (/proc/self/fd is counted before and after
  the measured iterations, the 150 after the first 100 of each child);
- no mapping is left (/proc/self/maps: the rings' and their kept packet
  memory);
- the C heap in use (glibc's mallinfo2: every arena, and mmapped chunks)
  grows by at most 2 KiB per ring opened + 256 KiB: libpfring keeps each
  closed handle (1.7 KiB with its backend state) as a tombstone, so that a
  call on a closed handle reads valid memory (pfring.h), and nothing else
  may stay; Python's allocated blocks by at most 2,000; RSS by at most
  8 MiB + 2 KiB per ring (the first 100 iterations fill the allocator's
  per-thread arenas, which then stay, so RSS is measured after them).
"""
import ctypes
import faulthandler
import gc
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from pcap_pfring import Flags, InvalidStatusError, Ring
from pcap_pfring.testing import sanitizers

pytestmark = pytest.mark.needs_root

ITERATIONS = 250            # per child: two at a time, idle and with traffic
KINDS = ["recv", "iter", "loop", "recv_batch", "wait"]
JOIN_S = 5.0
WARM = 100                  # iterations before the measurement
RSS_SLACK = 8 << 20
HEAP_SLACK = 256 << 10
PER_RING = 2048
PY_BLOCKS = 2000


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def heap():
    """Bytes of the C heap in use: every malloc arena and mmapped chunk."""
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2
    m = libc.mallinfo2()
    return m.uordblks + m.hblkhd


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def fds():
    return len(os.listdir("/proc/self/fd"))


def maps():
    with open("/proc/self/maps") as f:
        return len(f.readlines())


class Receiver(threading.Thread):
    """Calls one receive call again and again until the ring is closed;
    ``results`` gets what each call gave (a word per call), ``bad`` any
    result or exception no call documents."""

    def __init__(self, ring, kind):
        super().__init__(daemon=True)
        self.ring, self.kind = ring, kind
        self.results, self.bad = [], []
        self.view_errors = 0

    def read_batch(self, batch):
        """The packets of a batch, three ways: a view each, by index, and
        by iteration (copies)."""
        try:
            for _, view in batch.views():
                bytes(view)
            batch[0]
            list(batch)
        except ValueError:           # released by close() in another thread
            self.view_errors += 1
        except InvalidStatusError:   # the batch went stale (closed)
            self.view_errors += 1

    def one(self):
        r, kind = self.ring, self.kind
        if kind == "recv":
            got = r.recv(wait=True)
            if got is None:
                return "none"
            if isinstance(got, tuple) and isinstance(got[1], bytes):
                return "packet"
        elif kind == "iter":
            n = 0
            for _hdr, data in r:
                if not isinstance(data, bytes):
                    return f"iterated {type(data).__name__}"
                n += 1
            return "ended"
        elif kind == "loop":
            def cb(hdr, view):
                try:
                    bytes(view)
                except ValueError:
                    self.view_errors += 1
            got = r.loop(cb)
            if type(got) is int:
                return "count"
        elif kind == "recv_batch":
            batch = r.recv_batch(64, timeout=0.05)
            if len(batch) == 0:
                return "empty"
            self.read_batch(batch)
            return "batch"
        elif kind == "wait":
            got = r.wait()
            if got is False:
                return "false"
            if got is True:
                try:
                    r.recv_batch(64, timeout=0)
                except InvalidStatusError:
                    return "closed"
                return "true"
        return f"unexpected {got!r}"

    def run(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                res = self.one()
            except InvalidStatusError:
                self.results.append("closed")
                return
            except Exception as e:   # noqa: BLE001 - recorded, then asserted empty
                self.bad.append(f"{self.kind}: {type(e).__name__}: {e}")
                return
            if res.startswith(("unexpected", "iterated")):
                self.bad.append(f"{self.kind}: {res}")
                return
            self.results.append(res)
        self.bad.append(f"{self.kind}: not closed in 30 s")


def sender(sock, frame, stop):
    while not stop.is_set():
        for _ in range(32):
            try:
                sock.send(frame)
            except OSError:          # the socket's queue is full: later
                break
        time.sleep(0.0005)


def iteration(i, device, rnd, stats):
    reentrant = i % 2 == 1
    ring = Ring(device, flags=Flags.REENTRANT if reentrant else Flags.NONE, enable=True)
    kinds = ([KINDS[i % 5], KINDS[(i + 1) % 5], KINDS[(i + 3) % 5]] if reentrant
             else [KINDS[(i // 2) % 5]])
    receivers = [Receiver(ring, k) for k in kinds]
    closers = 2 if i % 7 == 0 else 1

    def breaker():
        for _ in range(rnd.randint(0, 3)):
            time.sleep(rnd.random() * 0.001)
            ring.breakloop()

    delays = [rnd.random() * 0.003 for _ in range(closers)]

    def closer(d):
        time.sleep(d)
        ring.close()

    others = [threading.Thread(target=breaker, daemon=True)]
    others += [threading.Thread(target=closer, args=(d,), daemon=True) for d in delays]
    for t in receivers + others:
        t.start()
    for t in others:
        t.join(JOIN_S)
    closed_at = time.monotonic()
    for t in receivers:
        t.join(max(0.0, closed_at + JOIN_S - time.monotonic()))
    for t in receivers + others:
        if t.is_alive():
            stats["bad"].append(f"iteration {i}: {getattr(t, 'kind', 'racer')} still running "
                                f"{JOIN_S} s after close()")
            return False
    for r in receivers:
        stats["bad"].extend(f"iteration {i}: {b}" for b in r.bad)
        if not r.bad and (not r.results or r.results[-1] != "closed"):
            stats["bad"].append(f"iteration {i}: {r.kind} ended with {r.results[-1:]}")
        for res in r.results:
            key = f"{r.kind}:{res}"
            stats["results"][key] = stats["results"].get(key, 0) + 1
        stats["view_errors"] += r.view_errors
    return True


def child_main(argv):
    faulthandler.enable()          # a crash prints every thread's stack first
    device, iterations, fd = argv[0], int(argv[1]), int(argv[2])
    rnd = random.Random(int(argv[3]))
    stop = threading.Event()
    feeder = None
    if fd >= 0:
        sock = socket.socket(fileno=fd)
        frame = bytes.fromhex(argv[4])
        feeder = threading.Thread(target=sender, args=(sock, frame, stop), daemon=True)
        feeder.start()
    stats = {"bad": [], "results": {}, "view_errors": 0}
    started = time.monotonic()

    def measure():
        gc.collect()
        return {"fds": fds(), "maps": maps(), "rss": rss(), "heap": heap(),
                "blocks": sys.getallocatedblocks()}

    for i in range(WARM):
        iteration(i, device, rnd, stats)
    before = measure()
    for i in range(WARM, iterations):
        if not iteration(i, device, rnd, stats):
            break
    after = measure()
    stop.set()
    if feeder:
        feeder.join(5)
    print(json.dumps({"bad": stats["bad"][:20], "nbad": len(stats["bad"]),
                      "results": stats["results"], "view_errors": stats["view_errors"],
                      "before": before, "after": after, "rings": iterations - WARM,
                      "seconds": time.monotonic() - started}), flush=True)
    return 0


def run_children(pair, traffic, n=2):
    """n children at once, each with its own seed (and sending socket);
    returns their reports."""
    socks, procs = [], []
    try:
        for k in range(n):
            argv = [sys.executable, os.path.abspath(__file__), pair.if_a, str(ITERATIONS)]
            sock = pair.b.raw_socket(pair.if_b) if traffic else None
            fd = -1
            if sock:
                socks.append(sock)
                fd = sock.fileno()
            argv += [str(fd), str(1000 * traffic + k)]
            if traffic:
                argv.append((pair.mac_a + pair.mac_b + b"\x88\xb5" + bytes(46)).hex())
            procs.append(pair.a.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, pass_fds=(fd,) if sock else ()))
        reports = []
        deadline = time.monotonic() + 120
        for p in procs:
            try:
                out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                pytest.fail(f"a race child hung\n{out[-2000:]}{err[-2000:]}")
            if p.returncode < 0:
                pytest.fail(f"a race child was killed by {signal.Signals(-p.returncode).name}\n"
                            f"{out[-2000:]}{err[-4000:]}")
            assert p.returncode == 0, f"exit status {p.returncode}\n{out[-2000:]}{err[-4000:]}"
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for sock in socks:
            sock.close()


@pytest.mark.parametrize("traffic", [False, True], ids=["idle", "traffic"])
def test_close_breakloop_and_receive_race_without_crash_leak_or_hang(veth_pair, traffic):
    for res in run_children(veth_pair, traffic):
        check_report(res, traffic)


def check_report(res, traffic):
    assert res["bad"] == [] and res["nbad"] == 0, res
    assert res["seconds"] < 40, res
    before, after = res["before"], res["after"]
    assert after["fds"] == before["fds"], res
    assert after["blocks"] - before["blocks"] <= PY_BLOCKS, res
    if sanitizers.log_dir() is None:
        # under make asan the sanitizer's allocator quarantines what is freed
        # and maps regions of its own, so only its reports speak of memory
        assert after["maps"] <= before["maps"] + 4, res          # allocator arenas at most
        assert after["heap"] - before["heap"] <= HEAP_SLACK + PER_RING * res["rings"], res
        assert after["rss"] - before["rss"] <= RSS_SLACK + PER_RING * res["rings"], res
    results = res["results"]
    # every kind was closed while it ran, and breakloop() reached some of them
    for kind in KINDS:
        assert results.get(f"{kind}:closed", 0) > 0, results
    breaks = sum(results.get(k, 0) for k in ("recv:none", "iter:ended", "loop:count",
                                            "wait:false"))
    assert breaks > 0, results
    if traffic:
        assert results.get("recv:packet", 0) + results.get("recv_batch:batch", 0) > 0, results


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
