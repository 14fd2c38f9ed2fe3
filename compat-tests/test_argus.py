"""Debian's argus (argus-server), unmodified, on PF_RING rings: side by side
with the same argus on the system libpcap, on the same traffic, its flow
records read back with ra (argus-client).

Both arguses watch a's interface at the same time while real TCP
connections cross it and generated UDP and TCP flows are sent; their flow
records, every field but the times, must be the same."""
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from pcap_pfring.testing.compat import (
    ON_RING,
    TWO_ROUTES,
    Program,
    flow_frames,
    route_env,
    send,
    wait_packet_sockets,
)

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(shutil.which("argus") is None or shutil.which("ra") is None,
                                 reason="argus-server and argus-client are installed by make setup")]

PORT = 9000
CONNECTIONS = 3
# argus reads a kernel block when the block timer hands it over (its pcap
# timeout), on either route: before stopping the arguses, give both several
# timeouts to have read the last packets.
SETTLE = 1.5
FIELDS = ["proto", "saddr", "sport", "dir", "daddr", "dport", "spkts", "dpkts", "sbytes",
          "dbytes", "state"]

CLIENT = """
import socket, sys
for i in range(int(sys.argv[3])):
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    c.sendall(b"hello %d " % i * (1 + 500 * i))
    c.shutdown(socket.SHUT_WR)
    while c.recv(65536):
        pass
    c.close()
"""


def serve(listener, count):
    """Answer count connections on listener (in a's namespace): each gets
    back what it sent, then the server closes."""
    for _ in range(count):
        c, _ = listener.accept()
        with c:
            c.settimeout(10)
            data = b""
            while chunk := c.recv(65536):
                data += chunk
            c.sendall(data)


def records(path):
    """ra's records of an argus file, without its management records: one
    row of FIELDS each, in ra's order."""
    res = subprocess.run(["ra", "-n", "-r", str(path), "-c", ",", "-L", "-1", "-s", *FIELDS],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return [line for line in res.stdout.splitlines() if line and not line.startswith("man,")]


def run_arguses(veth_pair, tmp_path):
    """Both arguses over the same traffic: (exit statuses, programs)."""
    rx, tx = flow_frames(veth_pair, 12)
    with veth_pair.a.enter():
        listener = socket.create_server(("0.0.0.0", PORT))
    listener.settimeout(20)
    server = threading.Thread(target=serve, args=(listener, CONNECTIONS), daemon=True)
    progs = {}
    try:
        for route in TWO_ROUTES:
            # -X: no configuration file; -S 60: one status record per flow
            # for the whole test, so that both split nothing.
            progs[route] = Program(veth_pair.a, ["argus", "-X", "-S", "60", "-i", veth_pair.if_a,
                                                 "-w", str(tmp_path / f"{route}.argus")],
                                   route_env(route, PCAP_PF_RING_DEBUG=1))
        wait_packet_sockets(veth_pair.a, len(TWO_ROUTES), veth_pair.if_a)
        server.start()
        veth_pair.b.run([sys.executable, "-c", CLIENT, veth_pair.ip_a, str(PORT),
                         str(CONNECTIONS)], timeout=30)
        server.join(10)
        send(veth_pair.b, veth_pair.if_b, rx)
        send(veth_pair.a, veth_pair.if_a, tx)
        time.sleep(SETTLE)
        codes = {r: p.stop(timeout=10) for r, p in progs.items()}
    finally:
        for p in progs.values():
            p.stop()
        listener.close()
    assert not server.is_alive()
    return codes, progs


def test_same_flow_records(veth_pair, tmp_path):
    codes, progs = run_arguses(veth_pair, tmp_path)
    for attempt in range(2):
        if -signal.SIGSEGV not in codes.values():
            break
        # argus faults (SIGSEGV) now and then as it stops on SIGINT, on
        # either libpcap (about one run in five here, both routes seen): its
        # own fault at exit, after the capture, so the comparison is made
        # again on a clean stop.
        tmp_path = tmp_path / f"again{attempt}"
        tmp_path.mkdir()
        codes, progs = run_arguses(veth_pair, tmp_path)
    assert codes == {"ring": 0, "stock": 0}, {r: p.stderr for r, p in progs.items()}
    assert ON_RING in progs["ring"].stderr
    assert "pcap-pfring" not in progs["stock"].stderr
    got = {route: records(tmp_path / f"{route}.argus") for route in TWO_ROUTES}
    assert got["ring"] == got["stock"]
    rows = [line.split(",") for line in got["ring"]]
    tcp = [r for r in rows if r[0] == "tcp" and r[5] == str(PORT)]
    assert len(tcp) == CONNECTIONS and {r[-1] for r in tcp} == {"FIN"}
    generated = [r for r in rows if r[1].startswith("10.1.") or r[1].startswith("10.2.")]
    assert len(generated) == 12
    assert all(int(r[6]) + int(r[7]) == 4 for r in generated)
