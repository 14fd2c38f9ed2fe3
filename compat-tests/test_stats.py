"""pcap_stats as stock libpcap gives it (c/stats_queued.c), on a ring and on
the system libpcap side by side over the same frames.

Stock libpcap's ps_recv is the kernel's PACKET_STATISTICS, added up: every
packet queued for the capture, read or still waiting in the ring.  After N
frames are sent and before any is read, both routes say N; after k are
read, still N; the drops are the same (none).
"""
import os
import subprocess
import time

import pytest

from pcap_pfring.cli.pfring_run import libdir
from pcap_pfring.testing.compat import TWO_ROUTES, ipv4_frame, route_env, send

pytestmark = pytest.mark.needs_root

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "c", "stats_queued.c")


@pytest.fixture(scope="module")
def stats_queued(tmp_path_factory):
    exe = tmp_path_factory.mktemp("stats") / "stats_queued"
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", SOURCE, "-o", str(exe),
                    "-L" + libdir(), "-lpcap"], check=True, capture_output=True, timeout=60)
    return str(exe)


def frames(pair, n):
    return [ipv4_frame(pair.mac_a, pair.mac_b, "10.6.0.2", "10.6.0.1", 17, 40000 + i, 9,
                       f"stats {i}".encode(), ident=i) for i in range(n)]


class Capture:
    def __init__(self, ns, exe, route, device, k, promisc):
        argv = ns.cmd([exe, *(["-p"] if promisc else []), "-k", str(k), device])
        self.proc = subprocess.Popen(argv, env=route_env(route, PCAP_PF_RING_DEBUG=1),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)

    def line(self):
        return self.proc.stdout.readline()

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self):
        out, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.mark.parametrize("n, k, promisc", [(40, 0, False), (40, 15, True), (300, 300, False)],
                         ids=["none_read", "some_read_promisc", "all_read"])
def test_recv_counts_queued_packets_as_stock(veth_pair, stats_queued, n, k, promisc):
    sent = frames(veth_pair, n)
    caps = {route: Capture(veth_pair.a, stats_queued, route, veth_pair.if_a, k, promisc)
            for route in TWO_ROUTES}
    try:
        for route, c in caps.items():
            assert c.line() == "ready\n", route
        send(veth_pair.b, veth_pair.if_b, sent)
        time.sleep(0.2)
        for c in caps.values():
            c.go()
        out = {route: c.finish() for route, c in caps.items()}
    finally:
        for c in caps.values():
            c.kill()
    expected = f"queued recv={n} drop=0 ifdrop=0\nread {k} recv={n} drop=0 ifdrop=0\n"
    assert out["stock"][0] == expected
    assert out["ring"][0] == expected
    assert "capturing on a PF_RING ring" in out["ring"][1]
