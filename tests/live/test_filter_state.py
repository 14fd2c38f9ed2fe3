"""A ring's filter state, from C (tests/unit/c/filter_state.c).

The program is built from libpfring's own sources and run on one end of a veth pair in a fresh namespace; it sends its own
frames from the other end.  It checks, with exact packet serials and
counters: where libpfring runs a BPF program (kernel, or user space under
PF_RING_USERSPACE_BPF, for an expression about VLAN tags, or after the
kernel refused it with PFRING_BPF_FALLBACK); that with
PFRING_BPF_FILTER_QUEUED the packets queued before the filter are filtered
too and the user-space rejects are counted (pfring_get_bpf_info) and left out
of pfring_stats; and that every bad input (pfring_set_bpf_program_ex,
pfring_set_bpf_filter, pfring_set_direction, pfring_set_vlan_id,
pfring_set_channel_mask, pfring_get_bpf_info) and every change the kernel
cannot take gives a clear error and leaves the ring filtering exactly as
before.
"""
import os
import pathlib
import shutil

import pytest

from pcap_pfring.testing import cprog

pytestmark = pytest.mark.needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def filter_state(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    exe = tmp_path_factory.mktemp("filter_state") / "filter_state"
    res = cprog.build(ROOT, ROOT / "tests/unit/c/filter_state.c", exe)
    assert res.returncode == 0, f"{' '.join(res.args)}\n{res.stdout}{res.stderr}"
    return exe


def test_filter_state_decides_where_and_rolls_back(veth_pair, filter_state):
    # Only the program's frames on the link: no IPv6 neighbour discovery.
    for ns in (veth_pair.a, veth_pair.b):
        ns.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1"])
    veth_pair.a.run(["sysctl", "-qw", f"net.ipv6.conf.{veth_pair.if_a}.disable_ipv6=1"])
    veth_pair.b.run(["sysctl", "-qw", f"net.ipv6.conf.{veth_pair.if_b}.disable_ipv6=1"])
    res = veth_pair.a.run([str(filter_state), veth_pair.if_a, f"/run/netns/{veth_pair.b.name}",
                           veth_pair.if_b], check=False, timeout=180,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                               **{k: v for k, v in os.environ.items()
                                  if k == "PF_RING_STATUS_DIR"}})
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert res.stdout.rstrip().endswith(" 0 failed"), out
