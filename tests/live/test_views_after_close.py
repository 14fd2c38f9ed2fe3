"""Zero-copy memoryviews after close() and after the next receive call.

A ring hands out memoryviews that point into its mapping: Batch.views() and
the views a loop() callback gets (and may keep), on standard rings and on
zc: rings (AF_XDP, the UMEM).  Once the packets go back to the kernel (the
next receive call) or the ring is closed, the ring releases those views:
reading one raises ValueError.  What it cannot release (a slice, a cast or
a memoryview() of a view, a view that ctypes holds a buffer of) reads the
memory libpfring keeps mapped for it (pfring_keep_packet_memory): the
packet's own bytes here, since no frame arrives after the one read.  Once
the last of them goes, the mapping is unmapped; the socket is freed at
close whatever is kept.

Every case runs in a child process first (this file, run as a script), so
that a fault shows up as the signal that killed it, and then in the test
process.  Frames are sent from b's end of a veth pair with a plain packet
socket, which the child gets as an inherited descriptor.
"""
import ctypes
import gc
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest

from pcap_pfring import Frames, InvalidStatusError, Ring

pytestmark = pytest.mark.needs_root

RELEASED = "ValueError: operation forbidden on released memoryview object"
N = 4


def frames_for(mac_a, mac_b, n=N):
    return [mac_a + mac_b + b"\x88\xb5" + bytes([i]) + bytes((i * 7 + k) & 0xFF for k in range(80))
            for i in range(n)]


def outcome(fn):
    """What reading gives: the bytes as hex, or the exception."""
    try:
        got = fn()
    except Exception as e:          # noqa: BLE001 - the outcome is the point
        return f"{type(e).__name__}: {e}"
    return got.hex() if isinstance(got, (bytes, bytearray)) else repr(got)


def mapped(start, length):
    """Whether one mapping of this process covers start..start+length."""
    with open("/proc/self/maps") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= start and start + length <= hi:
                return True
    return False


def packet_sockets(path):
    with open(path) as f:
        return len(f.readlines()) - 1


class Derived:
    """What a careless user makes from a view while it is valid.  hold:
    "ctypes" makes a ctypes array over it (ctypes takes a memoryview of its
    own, which nothing releases), "export" a struct.iter_unpack, which
    holds an export of the view itself, so that the view cannot be
    released (BufferError)."""

    def __init__(self, view, hold=None):
        self.view = view
        self.data = bytes(view)
        self.held = (ctypes.c_ubyte * 6).from_buffer(view) if hold == "ctypes" else None
        self.exporter = struct.iter_unpack("1s", view) if hold == "export" else None
        self.slice = view[2:8]
        self.cast = view.cast("B")
        self.copy_view = memoryview(view)
        self.before = bytes(view[2:5])

    def read(self):
        v = self
        return {
            "view": outcome(lambda: bytes(v.view)),
            "view_len": outcome(lambda: len(v.view)),
            "view_slice_now": outcome(lambda: bytes(v.view[2:5])),
            "view_cast_now": outcome(lambda: v.view.cast("B")[0]),
            "view_memoryview_now": outcome(lambda: memoryview(v.view)),
            "slice": outcome(lambda: bytes(v.slice)),
            "slice_unpack": outcome(lambda: struct.unpack_from("!HHH", v.slice)),
            "cast": outcome(lambda: bytes(v.cast[:6])),
            "memoryview": outcome(lambda: bytes(v.copy_view[:6])),
        }


def expected_read(frame, released=True):
    if not released:
        return {"view": frame.hex(), "view_len": repr(len(frame)),
                "view_slice_now": frame[2:5].hex(), "view_cast_now": repr(frame[0]),
                "view_memoryview_now": "<memoryview>",
                "slice": frame[2:8].hex(),
                "slice_unpack": repr(struct.unpack_from("!HHH", frame, 2)),
                "cast": frame[:6].hex(), "memoryview": frame[:6].hex()}
    return {"view": RELEASED, "view_len": RELEASED, "view_slice_now": RELEASED,
            "view_cast_now": RELEASED, "view_memoryview_now": RELEASED,
            "slice": frame[2:8].hex(), "slice_unpack": repr(struct.unpack_from("!HHH", frame, 2)),
            "cast": frame[:6].hex(), "memoryview": frame[:6].hex()}


def _normalise(res):
    for d in res.get("reads", []):
        if d.get("view_memoryview_now", "").startswith("<memory"):
            d["view_memoryview_now"] = "<memoryview>"
    return res


def _receive(ring, how, n, kept):
    """Receives n frames by ``how`` ("batch" or "loop"), keeping a Derived
    of every view in ``kept``."""
    def derive(view):
        i = len(kept)
        kept.append(Derived(view, "ctypes" if i == n - 2 else "export" if i == n - 1 else None))

    deadline = time.monotonic() + 5
    if how == "batch":
        while len(kept) < n and time.monotonic() < deadline:
            for _, view in ring.recv_batch(n - len(kept), timeout=0.2).views():
                derive(view)
    else:
        while len(kept) < n and time.monotonic() < deadline:
            ring.loop(lambda h, view: derive(view), count=n - len(kept), timeout=0.2)


def scenario(case, device, send, frames, net_packet):
    """One case: the ring on ``device``; ``send()`` sends ``frames``.
    Returns what reading gave at each step, as plain data."""
    how, event, *immediate = case.split("-")
    ring = Ring(device)
    if immediate:
        ring.set_batching(1)          # TPACKET_V2: a frame per packet
    ring.enable()
    time.sleep(0.05)
    send()
    kept = []
    _receive(ring, how, len(frames), kept)
    res = {"got": [d.data.hex() for d in kept],
           "before": [d.before.hex() for d in kept]}
    start, length = ring._mem[0], ring._mem[1]     # the kept mapping
    held, held_view, exporter = kept[-2].held, kept[-1].view, kept[-1].exporter
    kept[-2].held = kept[-1].exporter = None
    if event == "close":
        ring.close()
        res["sockets_after_close"] = packet_sockets(net_packet())
    else:
        again = ring.recv_batch(16, timeout=0)
        res["again"] = len(again)
    res["reads"] = [d.read() for d in kept[:-1]]
    res["held"] = bytes(held).hex()
    res["held_view"] = outcome(lambda: bytes(held_view[:6]))
    res["exported"] = outcome(lambda: next(exporter)[0])
    res["mapped_while_kept"] = mapped(start, length)
    held = held_view = exporter = None      # the last references
    if event == "close":
        kept.clear()
        gc.collect()
        res["mapped_after_last"] = mapped(start, length)
    else:
        ring.close()
        res["mapped_after_close"] = mapped(start, length)
    return res


def expected(frames, event):
    exp = {"got": [f.hex() for f in frames], "before": [f[2:5].hex() for f in frames],
           "reads": [expected_read(f) for f in frames[:-1]],
           "held": frames[-2][:6].hex(), "held_view": frames[-1][:6].hex(),
           "exported": frames[-1][:1].hex(),
           "mapped_while_kept": True}
    if event == "close":
        exp.update(sockets_after_close=0, mapped_after_last=False)
    else:
        exp.update(again=0, mapped_after_close=True)
    return exp


# -- the child ---------------------------------------------------------------------


def child_main(argv):
    case, device, fd = argv[0], argv[1], int(argv[2])
    sock = socket.socket(fileno=fd)
    frames = [bytes.fromhex(h) for h in argv[3:]]

    def send():
        for f in frames:
            sock.send(f)

    res = scenario(case, device, send, frames, lambda: "/proc/self/net/packet")
    print(json.dumps(res), flush=True)
    return 0


def run_child(pair, case, device, frames):
    sock = pair.b.raw_socket(pair.if_b)
    try:
        argv = [sys.executable, os.path.abspath(__file__), case, device, str(sock.fileno()),
                *[f.hex() for f in frames]]
        p = pair.a.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         pass_fds=(sock.fileno(),))
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            pytest.fail(f"{case}: the child hung\n{out}{err}")
    finally:
        sock.close()
    if p.returncode < 0:
        pytest.fail(f"{case}: the child was killed by {signal.Signals(-p.returncode).name}\n{out}{err}")
    assert p.returncode == 0, f"{case}: exit status {p.returncode}\n{out}{err}"
    return _normalise(json.loads(out.strip().splitlines()[-1]))


def run_here(pair, case, device, frames):
    sock = pair.b.raw_socket(pair.if_b)

    try:
        # the ring opened, and the namespace's packet sockets read, in a
        with pair.a.enter():
            res = scenario(case, device, lambda: [sock.send(f) for f in frames], frames,
                           lambda: "/proc/thread-self/net/packet")
    finally:
        sock.close()
    return _normalise(json.loads(json.dumps(res)))


CASES = ["batch-close", "batch-next", "loop-close", "loop-next"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("module", ["", "zc:", "immediate"])
def test_views_raise_and_derived_views_never_fault(veth_pair, case, module):
    device = module + veth_pair.if_a
    frames = frames_for(veth_pair.mac_a, veth_pair.mac_b)
    if module == "immediate":       # the standard ring in immediate mode
        device, case = veth_pair.if_a, case + "-immediate"
    want = expected(frames, case.split("-")[1])
    assert run_child(veth_pair, case, device, frames) == want
    assert run_here(veth_pair, case, device, frames) == want


def test_view_read_in_a_loop_callback_after_close_raises(veth_pair):
    """close() from the callback: its own view is released at once, and the
    loop ends as every receive call on a closed ring does."""
    frames = frames_for(veth_pair.mac_a, veth_pair.mac_b, 2)
    seen = []
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, enable=True)
    try:
        sock = veth_pair.b.raw_socket(veth_pair.if_b)
        for f in frames:
            sock.send(f)
        sock.close()

        def cb(hdr, view):
            seen.append(bytes(view).hex())
            ring.close()
            seen.append(outcome(lambda: bytes(view)))

        with pytest.raises(InvalidStatusError):
            ring.loop(cb, count=2, timeout=5)
    finally:
        ring.close()
    assert seen == [frames[0].hex(), RELEASED]


def test_copies_and_frames_stay_readable_after_close(veth_pair):
    """Iterating a batch, recv() and Frames give bytes, not views."""
    frames = frames_for(veth_pair.mac_a, veth_pair.mac_b)
    table = Frames(frames)
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, enable=True)
    sock = veth_pair.b.raw_socket(veth_pair.if_b)
    try:
        for f in frames:
            sock.send(f)
        batch = ring.recv_batch(N, timeout=5)
        copies = list(batch)
        for f in frames[:1]:
            sock.send(f)
        one = ring.recv(timeout=5)
    finally:
        sock.close()
        ring.close()
    assert [type(d) for _, d in copies] == [bytes] * N
    assert [d for _, d in copies] == frames
    assert type(one[1]) is bytes and one[1] == frames[0]
    assert [type(table[i]) for i in range(N)] == [bytes] * N
    assert [table[i] for i in range(N)] == frames


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
