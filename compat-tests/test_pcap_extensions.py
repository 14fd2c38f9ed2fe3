"""PF_RING's libpcap extensions from a C program linked with -lpcap:
pcap_set_cluster splits two handles per flow, pcap_set_application_name shows
in the status view, pcap_get_pfring_handle/_id see the ring; after a fallback
they say there is no ring."""
import os
import subprocess

import pytest

from pcap_pfring import status
from pcap_pfring.cli import pfring_run
from pcap_pfring.testing.compat import Program, flow_frames, route_env, send

pytestmark = pytest.mark.needs_root

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "c", "pfring_ext.c")


@pytest.fixture(scope="module")
def pfring_ext(tmp_path_factory):
    exe = tmp_path_factory.mktemp("ext") / "pfring_ext"
    libdir = pfring_run.libdir()
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-o", str(exe), SRC, "-L" + libdir,
                    "-lpcap"], check=True)
    return str(exe)


def test_cluster_name_and_handle(veth_pair, pfring_ext, status_dir):
    rx, tx = flow_frames(veth_pair, 40)
    p = Program(veth_pair.a, [pfring_ext, veth_pair.if_a, "3"],
                route_env("ring", PF_RING_STATUS_DIR=status_dir))
    try:
        p.wait_for("ready", stream="out")
        names = sorted(r.fields["Appl. Name"] for r in status.list_rings(str(status_dir)))
        ids = {r.fields["Cluster Id"] for r in status.list_rings(str(status_dir))}
        send(veth_pair.b, veth_pair.if_b, rx)
        send(veth_pair.a, veth_pair.if_a, tx)
        assert p.wait(timeout=15) == 0, p.stderr
    finally:
        p.stop()
    assert names == ["ext-0", "ext-1"]
    assert ids == {"9"}
    lines = p.stdout.splitlines()
    assert lines[:2] == ["handle 0: ring yes, id set", "handle 1: ring yes, id set"]
    got = [line.split() for line in lines[3:]]
    assert len(got) == len(rx) + len(tx)                      # complete, nothing twice
    owner = {}
    for handle, pair, _ in got:
        key = "-".join(sorted(pair.split("-")))               # both directions, one flow
        assert owner.setdefault(key, handle) == handle        # every flow whole
    assert set(owner.values()) == {"ext-0", "ext-1"}


def test_extensions_after_a_fallback_say_there_is_no_ring(veth_pair, pfring_ext):
    res = subprocess.run(veth_pair.a.cmd([pfring_ext, veth_pair.if_a, "1"]),
                         env=route_env("fallback"), capture_output=True, text=True, timeout=20)
    assert res.returncode == 3
    assert res.stdout.splitlines() == [
        "handle 0: ring no, id 0",
        "extension: pcap_set_cluster: this handle has no PF_RING ring "
        "(it fell back to the system libpcap)"]
