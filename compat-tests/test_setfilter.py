"""pcap_setfilter on a capture that already holds packets (c/setfilter_queued.c),
on a ring and on the system libpcap side by side.

libpcap filters the packets its ring queued before pcap_setfilter as well;
on a ring libpfring does it (pfring_set_bpf_program_ex with
PFRING_BPF_LIBPCAP), whether the filter runs in the kernel, in user space
because it tests VLAN tags or because of PCAP_PF_RING_USERSPACE_BPF, or in
user space because the kernel cannot take it (over 4096 instructions).
Both captures must hold exactly the frames that the filter selects from the
frames sent before and after the filter was set, and the ring's ps_recv
counts exactly those (the packets rejected in user space are not received).
"""
import os
import subprocess
import time

import pytest

from pcap_pfring.cli.pfring_run import libdir
from pcap_pfring.testing.compat import ipv4_frame, read_pcap, route_env, send, stock_filter

pytestmark = pytest.mark.needs_root

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "c", "setfilter_queued.c")
# 1900 terms: 4246 instructions, more than the kernel takes; frames to ports
# 1000 + i match unless i % 200 == 64 (the frames' TTL).
LONG = " or ".join(f"(udp dst port {1000 + i} and ip[8] != {i % 200})" for i in range(1900))


@pytest.fixture(scope="module")
def setfilter_queued(tmp_path_factory):
    exe = tmp_path_factory.mktemp("setfilter") / "setfilter_queued"
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", SOURCE, "-o", str(exe),
                    "-L" + libdir(), "-lpcap"], check=True, capture_output=True, timeout=60)
    return str(exe)


def batch(pair, first, tagged):
    """12 frames from b to a: UDP to ports 1000 + n and TCP, some in VLAN 50
    if tagged; the payload numbers them."""
    a, b = pair.mac_a, pair.mac_b
    out = []
    for n in range(first, first + 12):
        proto = 6 if n % 4 == 3 else 17
        vlan = 50 if tagged and n % 3 == 0 else None
        dport = 1064 if n % 5 == 4 else 1000 + n
        out.append(ipv4_frame(a, b, "10.5.0.2", "10.5.0.1", proto, 30000 + n, dport,
                              f"frame {n}".encode(), vlan=vlan, ident=n))
    return out


class Capture:
    def __init__(self, ns, exe, route, expr, out, count, env):
        argv = ns.cmd([exe, "-w", str(out), "-n", str(count), expr, "veth0"])
        self.proc = subprocess.Popen(argv, env=route_env(route, **env), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)

    def expect(self, word):
        line = self.proc.stdout.readline()
        assert line == f"{word}\n", (line, self.proc.stderr.read() if line == "" else "")

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self):
        out, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return out, err


# Tagged frames only with the expressions about tags: for the others a live
# capture (stock or ring) lets the kernel filter see a frame without its tag,
# which an offline filter does not.
@pytest.mark.parametrize("expr, env, tagged", [
    ("udp", {}, False),
    ("udp", {"PCAP_PF_RING_USERSPACE_BPF": "1"}, False),
    ("vlan 50 and udp", {}, True),
    ("tcp and not vlan", {}, True),
    (LONG, {}, False),
], ids=["kernel", "userspace_bpf", "vlan", "not_vlan", "too_long_for_the_kernel"])
def test_packets_queued_before_the_filter_are_filtered(veth_pair, tmp_path, setfilter_queued,
                                                       expr, env, tagged):
    assert veth_pair.if_a == "veth0"
    first, second = batch(veth_pair, 0, tagged), batch(veth_pair, 100, tagged)
    expected = stock_filter(tmp_path, first + second, expr)
    assert 0 < len(expected) < len(first + second)
    caps = {route: Capture(veth_pair.a, setfilter_queued, route, expr,
                           tmp_path / f"{route}.pcap", len(expected), env)
            for route in ("ring", "stock")}
    try:
        for c in caps.values():
            c.expect("ready")
        send(veth_pair.b, veth_pair.if_b, first)
        time.sleep(0.2)                 # queued in both captures, unfiltered
        for c in caps.values():
            c.go()
        for c in caps.values():
            c.expect("filtered")
        send(veth_pair.b, veth_pair.if_b, second)
        for c in caps.values():
            c.go()
        out = {route: c.finish() for route, c in caps.items()}
    finally:
        for c in caps.values():
            if c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait()
    got = {route: [r[3] for r in read_pcap(tmp_path / f"{route}.pcap")[1]] for route in caps}
    assert got["stock"] == expected
    assert got["ring"] == expected
    assert out["ring"][0] == f"stats recv={len(expected)} drop=0\n"
    assert "pcap-pfring" not in out["ring"][1]       # on a ring, no warning
