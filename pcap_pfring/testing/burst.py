"""pfring_recv_burst called from a test as a C program calls it, and a wait
for the ring to hold a number of packets."""
import time

from .._ffi import ffi, lib


def queued(ring, n, timeout=3.0):
    """Wait until n packets are in the ring (blocks retired included)."""
    deadline = time.monotonic() + timeout
    while ring.num_queued < n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ring.num_queued == n


def c_burst(ring, max_pkts, wait=0, keep=False):
    """One pfring_recv_burst: (rc, [(data, caplen, len, ifindex, rx, flags,
    ts_ns)]), every packet read after the call returned; ``keep=True``
    adds the cdata array (rc, packets, arr), whose pointers a test can read
    again later."""
    arr = ffi.new("struct pfring_burst_pkt[]", max(1, max_pkts))
    rc = lib.pfring_recv_burst(ring._h(), arr, max_pkts, wait)
    out = []
    for i in range(max(rc, 0)):
        b = arr[i]
        out.append((ffi.buffer(b.data, b.caplen)[:], b.caplen, b.len, b.if_index,
                    b.rx_direction, b.flags, b.ts_sec * 10**9 + b.ts_nsec))
    return (rc, out, arr) if keep else (rc, out)
