"""Settings of zc: rings (AF_XDP).

Promiscuous mode: the interface's promiscuity counter, as `ip -d link` shows
it, goes up while a promiscuous ring is open and back when it is closed,
turned off, or its process is killed.  Batching (``set_batching``): a waiting
reader is woken once per batch, when the batch time has passed since its
first packet (or an eighth of the RX ring filled), not once per packet; in
immediate mode (``set_batching(1)``) the first packet wakes it."""
import re
import sys
import textwrap
import threading
import time

import pytest

from pcap_pfring import Ring
from pcap_pfring.testing.fixtures import frame, send_from_b
from pcap_pfring.testing.procs import Process

pytestmark = pytest.mark.needs_root


def promiscuity(ns, ifname):
    out = ns.run(["ip", "-d", "link", "show", ifname]).stdout
    return int(re.search(r"promiscuity (\d+)", out).group(1))


def wait_promiscuity(ns, ifname, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    while promiscuity(ns, ifname) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return promiscuity(ns, ifname)


def test_promisc_flag_and_calls(veth_pair):
    ns, dev = veth_pair.a, veth_pair.if_a
    assert promiscuity(ns, dev) == 0
    with ns.enter():
        ring = Ring(f"zc:{dev}", promisc=True)
    with ring:
        assert promiscuity(ns, dev) == 1
        ring.set_promisc(True)                  # once is enough
        assert promiscuity(ns, dev) == 1
        ring.set_promisc(False)
        assert promiscuity(ns, dev) == 0
        ring.set_promisc(True)
        with ns.enter(), Ring(dev, promisc=True) as other:      # another holder
            other.enable()
            assert promiscuity(ns, dev) == 2
        assert promiscuity(ns, dev) == 1
    assert promiscuity(ns, dev) == 0


def test_promisc_released_when_the_process_is_killed(veth_pair):
    ns, dev = veth_pair.a, veth_pair.if_a
    code = textwrap.dedent(f"""
        import time
        from pcap_pfring import Ring
        r = Ring("zc:{dev}", promisc=True, enable=True)
        print("ready", flush=True)
        time.sleep(60)
    """)
    p = Process(ns, [sys.executable, "-c", code], name="zc promisc")
    try:
        p.wait_out("ready")
        assert promiscuity(ns, dev) == 1
        p.kill()                                 # SIGKILL: no close() runs
    finally:
        p.kill()
    assert wait_promiscuity(ns, dev, 0) == 0


def _first_wake(pair, batching_ms):
    """(frames, seconds from the first frame sent to the reader's return) for
    a reader that waits before three frames are sent 0.1 s apart."""
    with pair.a.enter():
        ring = Ring(f"zc:{pair.if_a}")
    frames = [frame(pair.mac_a, pair.mac_b, 0x88B5, bytes([i]) * 40) for i in range(3)]
    sent = []

    def send():
        for f in frames:
            sent.append(time.monotonic())
            send_from_b(pair, [f])
            time.sleep(0.1)

    with ring:
        ring.set_batching(batching_ms)
        ring.enable()
        sender = threading.Timer(0.2, send)
        sender.start()
        got = [bytes(d) for _, d in ring.recv_batch(16, timeout=5)]
        back = time.monotonic()
        sender.join()
        rest = []
        while len(got) + len(rest) < len(frames):
            batch = ring.recv_batch(16, timeout=1)
            if not batch:
                break
            rest += [bytes(d) for _, d in batch]
    return got, rest, back - sent[0], frames


def test_batching_holds_the_wake_up_for_the_batch(veth_pair):
    got, rest, waited, frames = _first_wake(veth_pair, 500)
    assert got == frames and rest == []          # one wake-up for the three
    assert waited >= 0.45                        # held until the batch time passed


def test_immediate_mode_the_first_packet_wakes_the_reader(veth_pair):
    got, rest, waited, frames = _first_wake(veth_pair, 1)
    assert got == frames[:1] and rest == frames[1:]
