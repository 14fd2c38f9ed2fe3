"""Three unmodified kinds of slave of one DNA Cluster master, all at once.

The master (``tests/unit/c/dna_master.c``, the default distribution: the
guide's bidirectional IP hash) has 3 apps on a's veth: tcpdump through the
libpcap drop-in on app 0 writes a pcap file, pfcount -v on app 1 prints
PF_RING's line per packet, and a Python ``Ring`` (``dna_slave``) on app 2
writes every frame.  Many flows of IPv4, IPv6 and VLAN-tagged IPv4 go both
ways.  Each app must get exactly the frames the distribution gives it: the
three sets are disjoint, together they are every frame, and each flow is in
one app only with both of its directions.

pfcount's lines carry no packet bytes: each line is matched by its parsed
text and hash (``parsed_packet_text``, the text pfcount prints), which are
unique per frame of the traffic here (asserted).
"""
import pathlib
import re
import shutil

import pytest

from pcap_pfring.pcapfile import read_packets
from pcap_pfring.ring import parsed_packet_text
from pcap_pfring.testing.dna import (
    PFCOUNT,
    Master,
    Procs,
    Slave,
    app_of,
    assert_split,
    build_master,
    drop_in,
    frames_of,
)
from pcap_pfring.testing.flows import make_flows, send_flows
from pcap_pfring.testing.procs import Process

pytestmark = pytest.mark.needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
DROP_IN = drop_in(ROOT)
SHM = pathlib.Path("/dev/shm")
# pfcount -v: "HH:MM:SS.nnnnnnnnn [RX][if_index=N][hash=H]TEXT"
PFCOUNT_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{9} \[\w+\]\[if_index=-?\d+\](\[hash=\d+\].*)$")


@pytest.fixture(scope="module")
def master_exe(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    exe = tmp_path_factory.mktemp("dna_master") / "dna_master"
    res = build_master(ROOT, exe)
    assert res.returncode == 0, f"{' '.join(res.args)}\n{res.stdout}{res.stderr}"
    return exe


def pfcount_key(data):
    """What pfcount -v prints of a frame after its time, direction and
    if_index."""
    text, pkt_hash = parsed_packet_text(data)
    return f"[hash={pkt_hash}]{text}"


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_tcpdump_pfcount_and_ring_slaves_of_one_master(veth_pair, tmp_path, master_exe):
    if not (DROP_IN / "libpcap.so.0.8").exists():
        pytest.skip("the drop-in is not built (make lib)")
    cid = 2100
    flows = make_flows(veth_pair, 400, seed=2100, kinds=("ipv4", "ipv6", "vlan"))
    every = frames_of(flows)
    keys = {d: pfcount_key(d) for d in every}
    assert len(set(keys.values())) == len(every)          # a pfcount line names one frame
    # The split the default distribution makes, computed from the frames.
    want = [[d for d in every if app_of(d, 3) == a] for a in range(3)]
    assert all(want), [len(w) for w in want]
    pcap = tmp_path / "app0.pcap"
    with Procs() as procs:
        m = procs.add(Master(master_exe, veth_pair, cid, 3)).start()
        td = procs.add(Process(veth_pair.a, ["env", f"LD_LIBRARY_PATH={DROP_IN}", "tcpdump",
                                             "-n", "-U", "-i", f"dnacluster:{cid}@0", "-w",
                                             str(pcap), "-c", str(len(want[0]))],
                               name="tcpdump"))
        pc = procs.add(Process(veth_pair.a, [PFCOUNT, "-i", f"dnacluster:{cid}@1", "-v", "-N",
                                             str(len(want[1])), "-d", "30"], name="pfcount"))
        ring = procs.add(Slave(veth_pair, cid, 2, tmp_path)).start()
        td.wait_err(f"listening on dnacluster:{cid}@0, link-type EN10MB")
        pc.wait_err("# Polling threads:")
        send_flows(veth_pair, flows)
        td_rc, _, td_err = td.finish(timeout=20)
        pc_rc, pc_out, pc_err = pc.finish(timeout=30)
        got2, recv2, drop2 = ring.stop()
        rx, processed, apps = m.quit()
    assert td_rc == 0, td_err
    assert pc_rc == 0, pc_err
    _, records = read_packets(pcap)
    got0 = [body for _, _, _, body in records]
    lines = [PFCOUNT_LINE.match(s) for s in pc_out.splitlines()]
    assert None not in lines, pc_out
    by_key = {k: d for d, k in keys.items()}
    got1 = [by_key[m1.group(1)] for m1 in lines]
    # disjoint, complete, each flow whole (both directions) in its app
    assert_split([got0, got1, got2], flows, [0, 1, 2])
    assert [sorted(g) for g in (got0, got1, got2)] == [sorted(w) for w in want]
    assert (recv2, drop2) == (len(want[2]), 0)
    assert rx == processed == len(every)
    assert apps == [(len(w), 0) for w in want]
    assert not (SHM / f"pfring-dnacluster-{cid}").exists()
