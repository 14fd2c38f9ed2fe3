"""Debian's dumpcap, unmodified, writing a ring buffer of files on PF_RING
rings (-b files:3 -b packets:N): side by side with the same dumpcap on the
system libpcap, capturing the same packets at the same time.

dumpcap switches to a new file every N packets and keeps only the last 3;
both routes must end with the same files (by their numbers), each holding
the same packets, which are exactly the last packets sent, N to a file."""
import re
import shutil

import pytest

from pcap_pfring.pcapfile import read_packets
from pcap_pfring.testing.compat import (
    ON_RING,
    TWO_ROUTES,
    Program,
    collect_with_traffic,
    flow_frames,
    route_env,
    wait_packet_sockets,
)

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(shutil.which("dumpcap") is None,
                                 reason="dumpcap is installed by make setup")]



def ring_files(directory, route):
    """{file number: packets} of route's ring buffer files in directory."""
    files = {}
    for path in directory.iterdir():
        m = re.fullmatch(rf"{route}_(\d{{5}})_\d{{14}}\.pcapng", path.name)
        assert m, path.name
        link, records = read_packets(path)
        assert link == 1
        files[int(m.group(1))] = [r[3] for r in records]
    return files


@pytest.mark.parametrize("per_file,files_sent", [(10, 5), (7, 3), (25, 2)])
def test_ring_buffer_files_hold_the_same_packets(veth_pair, tmp_path, per_file, files_sent):
    rx, _ = flow_frames(veth_pair, (per_file * files_sent + 1) // 2)
    rx = rx[:per_file * files_sent]
    progs = {}
    try:
        for route in TWO_ROUTES:
            (tmp_path / route).mkdir()
            progs[route] = Program(
                veth_pair.a,
                ["dumpcap", "-q", "-i", veth_pair.if_a, "-f", "ip", "-c", str(len(rx)),
                 "-b", "files:3", "-b", f"packets:{per_file}",
                 "-w", str(tmp_path / route / f"{route}.pcapng")],
                route_env(route, PCAP_PF_RING_DEBUG=1))
        wait_packet_sockets(veth_pair.a, len(TWO_ROUTES), veth_pair.if_a)
    except BaseException:
        for p in progs.values():
            p.stop()
        raise
    codes = collect_with_traffic(veth_pair, progs, lambda _, p: p.wait(timeout=20), rx)
    assert codes == {"ring": 0, "stock": 0}, {r: p.stderr for r, p in progs.items()}
    assert ON_RING in progs["ring"].stderr
    assert "pcap-pfring" not in progs["stock"].stderr
    got = {route: ring_files(tmp_path / route, route) for route in TWO_ROUTES}
    assert got["ring"] == got["stock"]
    kept = range(max(1, files_sent - 2), files_sent + 1)
    assert sorted(got["ring"]) == list(kept)
    for n in kept:
        assert got["ring"][n] == rx[(n - 1) * per_file:n * per_file]
