"""Numbers out of range on a live ring, and the lifetime of breakloop():
it ends the wait, loop or iteration in progress, and a breakloop made while
nothing waits does not cut short a later wait."""
import math
import threading
import time

import pytest

from pcap_pfring import Ring
from pcap_pfring._ffi import lib
from pcap_pfring.errors import InvalidArgumentError
from pcap_pfring.testing.fixtures import frame, send_from_b

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5
BAD_INTS = [(-1, InvalidArgumentError), (2**40, InvalidArgumentError), (True, TypeError),
            ("3", TypeError), (1.5, TypeError), (math.inf, TypeError), (math.nan, TypeError)]


def open_in_a(pair, **kw):
    with pair.a.enter():
        return Ring(pair.if_a, **kw)


def one_frame(pair, i=7):
    return frame(pair.mac_a, pair.mac_b, ETH_TEST, i.to_bytes(4, "big") + bytes(46))


@pytest.mark.parametrize("value, error", BAD_INTS)
@pytest.mark.parametrize("call, name", [
    (lambda r, v: r.set_batching(v), "timeout_ms"),
    (lambda r, v: r.set_batching(1, v), "block_bytes"),
    (lambda r, v: r.poll(v), "timeout_ms"),
    (lambda r, v: r.set_poll_watermark(v), "watermark"),
    (lambda r, v: r.set_sampling_rate(v), "rate"),
    (lambda r, v: r.set_vlan_id(v), "vlan_id"),
    (lambda r, v: r.set_cluster(v), "cluster_id"),
])
def test_ints_out_of_range_or_of_the_wrong_type_are_refused(veth_pair, call, name, value, error):
    with open_in_a(veth_pair) as ring:
        with pytest.raises(error, match=name):
            call(ring, value)


def test_vlan_and_watermark_limits_are_16_bits(veth_pair):
    with open_in_a(veth_pair) as ring:
        with pytest.raises(InvalidArgumentError, match="vlan_id 65536"):
            ring.set_vlan_id(0x10000)
        with pytest.raises(InvalidArgumentError, match="watermark 65536"):
            ring.set_poll_watermark(0x10000)


@pytest.mark.parametrize("value, error", [
    (-1, ValueError), (math.nan, ValueError), (-math.inf, ValueError),
    (True, TypeError), ("3", TypeError)])
@pytest.mark.parametrize("call", [
    lambda r, v: r.wait(v), lambda r, v: r.recv(timeout=v),
    lambda r, v: r.recv_batch(4, timeout=v), lambda r, v: r.loop(lambda h, d: None, timeout=v),
])
def test_bad_timeouts_are_refused_at_once(veth_pair, call, value, error):
    with open_in_a(veth_pair, enable=True) as ring:
        start = time.monotonic()
        with pytest.raises(error, match="timeout"):
            call(ring, value)
        assert time.monotonic() - start < 1


@pytest.mark.parametrize("n, error", [(2.0, TypeError), ("3", TypeError), (True, TypeError)])
def test_recv_batch_n_must_be_an_int(veth_pair, n, error):
    with open_in_a(veth_pair, enable=True) as ring:
        with pytest.raises(error, match="n must be an int"):
            ring.recv_batch(n)


def test_huge_n_and_huge_timeouts_do_not_overflow(veth_pair):
    with open_in_a(veth_pair, enable=True) as ring:
        assert len(ring.recv_batch(2**40)) == 0
        assert len(ring.recv_batch(-2**40)) == 0
        threading.Timer(0.3, send_from_b, (veth_pair, [one_frame(veth_pair)])).start()
        got = ring.recv(timeout=2**40)
        assert got is not None and got[1] == one_frame(veth_pair)
        threading.Timer(0.3, send_from_b, (veth_pair, [one_frame(veth_pair, 8)])).start()
        assert ring.wait(math.inf) is True
        assert ring.recv()[1] == one_frame(veth_pair, 8)


# -- breakloop --------------------------------------------------------------------


def in_thread(fn):
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("v", fn()), daemon=True)
    t.start()
    return t, result


@pytest.mark.parametrize("how", ["recv", "loop", "iter", "recv_batch", "wait"])
def test_breakloop_from_another_thread_ends_the_call_in_progress(veth_pair, how):
    calls = {
        "recv": lambda r: r.recv(wait=True),
        "loop": lambda r: r.loop(lambda h, d: None),
        "iter": lambda r: list(r),
        "recv_batch": lambda r: len(r.recv_batch(8, timeout=None)),
        "wait": lambda r: r.wait(),
    }
    want = {"recv": None, "loop": 0, "iter": [], "recv_batch": 0, "wait": False}
    with open_in_a(veth_pair, enable=True) as ring:
        t, result = in_thread(lambda: calls[how](ring))
        time.sleep(0.3)
        assert t.is_alive()
        ring.breakloop()
        t.join(5)
        assert not t.is_alive()
        assert result["v"] == want[how]


def test_breakloop_ends_an_iteration_while_the_consumer_holds_a_packet(veth_pair):
    frames = [one_frame(veth_pair, i) for i in range(3)]
    with open_in_a(veth_pair, enable=True) as ring:
        send_from_b(veth_pair, frames[:1])
        got = []
        for _hdr, data in ring:
            got.append(data)
            ring.breakloop()          # between two next() calls
            send_from_b(veth_pair, frames[1:])
        assert got == frames[:1]


@pytest.mark.parametrize("flags", [0, lib.PF_RING_REENTRANT])
def test_a_breakloop_with_nobody_waiting_does_not_end_a_later_wait(veth_pair, flags):
    with open_in_a(veth_pair, flags=flags, enable=True) as ring:
        ring.breakloop()
        timer = threading.Timer(0.3, send_from_b, (veth_pair, [one_frame(veth_pair)]))
        timer.start()
        start = time.monotonic()
        got = ring.recv(wait=True, timeout=5)
        timer.join()
        assert got is not None and got[1] == one_frame(veth_pair)
        assert time.monotonic() - start < 5
        # the same for the other calls that wait, and for iteration
        ring.breakloop()
        threading.Timer(0.3, send_from_b, (veth_pair, [one_frame(veth_pair, 8)])).start()
        assert ring.wait(5) is True
        assert ring.recv()[1] == one_frame(veth_pair, 8)
        ring.breakloop()
        threading.Timer(0.3, send_from_b, (veth_pair, [one_frame(veth_pair, 9)])).start()
        seen = []
        assert ring.loop(lambda h, d: seen.append(bytes(d)), count=1, timeout=5) == 1
        assert seen == [one_frame(veth_pair, 9)]
        ring.breakloop()
        threading.Timer(0.3, send_from_b, (veth_pair, [one_frame(veth_pair, 10)])).start()
        watchdog = threading.Timer(5, ring.breakloop)
        watchdog.start()
        try:
            first = next(iter(ring))
        finally:
            watchdog.cancel()
        assert first[1] == one_frame(veth_pair, 10)
