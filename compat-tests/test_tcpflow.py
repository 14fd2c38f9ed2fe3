"""Debian's tcpflow, unmodified, on PF_RING rings: side by side with the same
tcpflow on the system libpcap, on the same real TCP connections.

A server in namespace a answers clients in namespace b over the veth (the
kernels' own TCP, segmented and acknowledged as it likes); both tcpflows
capture a's interface at the same time and must write the same flow files
(by name and content), each holding exactly what one side of one
connection sent."""
import shutil
import sys
import time

import pytest

from pcap_pfring.testing.compat import ON_RING, TWO_ROUTES, Program, route_env, wait_packet_sockets

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(shutil.which("tcpflow") is None,
                                 reason="tcpflow is installed by make setup")]

PORT = 9000

# Each connection: the client sends request i and shuts down its side; the
# server replies with "reply <i>" and the request's length, and closes.
SERVER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen()
s.settimeout(20)
print("listening", flush=True)
for _ in range(int(sys.argv[2])):
    c, _ = s.accept()
    c.settimeout(10)
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    c.sendall(b"reply " + data.split(b" ")[1] + b" " + str(len(data)).encode() * 50)
    c.close()
"""

CLIENT = """
import socket, sys
host, port, i, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
c = socket.create_connection((host, port), timeout=10)
body = bytes(range(256)) * (size // 256 + 1)
c.sendall(b"request %d " % i + body[:size])
c.shutdown(socket.SHUT_WR)
while c.recv(65536):
    pass
c.close()
"""

SIZES = (10, 3000, 200_000)


def request(i, size):
    return b"request %d " % i + (bytes(range(256)) * (size // 256 + 1))[:size]


def reply(i, size):
    return b"reply %d " % i + str(len(request(i, size))).encode() * 50


def flows(directory):
    """{file name: content} of tcpflow's flow files in directory."""
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name != "report.xml"}


def test_same_flow_files(veth_pair, tmp_path):
    expected = sorted([request(i, n) for i, n in enumerate(SIZES)] +
                      [reply(i, n) for i, n in enumerate(SIZES)])
    total = sum(map(len, expected))
    progs = {}
    server = None
    try:
        for route in TWO_ROUTES:
            (tmp_path / route).mkdir()
            progs[route] = Program(veth_pair.a, ["tcpflow", "-i", veth_pair.if_a,
                                                 "-o", str(tmp_path / route), f"tcp port {PORT}"],
                                   route_env(route, PCAP_PF_RING_DEBUG=1))
        wait_packet_sockets(veth_pair.a, len(TWO_ROUTES), veth_pair.if_a)
        server = Program(veth_pair.a, [sys.executable, "-c", SERVER, str(PORT), str(len(SIZES))],
                         route_env("stock"))
        server.wait_for("listening", stream="out")
        for i, size in enumerate(SIZES):
            veth_pair.b.run([sys.executable, "-c", CLIENT, veth_pair.ip_a, str(PORT), str(i),
                             str(size)], timeout=20)
        assert server.wait(timeout=10) == 0, server.stderr
        # tcpflow writes each flow's bytes as it reassembles them.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and \
                any(sum(map(len, flows(tmp_path / r).values())) < total for r in TWO_ROUTES):
            time.sleep(0.1)
        codes = {r: p.stop() for r, p in progs.items()}
    finally:
        for p in [*progs.values(), *([server] if server else [])]:
            p.stop()
    assert codes == {"ring": 0, "stock": 0}, {r: p.stderr for r, p in progs.items()}
    assert ON_RING in progs["ring"].stderr
    assert "pcap-pfring" not in progs["stock"].stderr
    got = {route: flows(tmp_path / route) for route in TWO_ROUTES}
    assert got["ring"] == got["stock"]
    assert sorted(got["ring"].values()) == expected
    assert len({name.split("-")[0] for name in got["ring"]}) == len(SIZES) + 1
