"""Throwaway network namespaces for live tests (a pytest plugin).

Load it with ``pytest_plugins = ["pcap_pfring.testing.fixtures"]``.

``veth_pair`` creates two uniquely named namespaces joined by a veth pair and
always deletes them, by their exact names, when the test ends (pass or fail).
The namespace machinery itself (``NetNS``, ``VethPair``, ``frame``,
``send_frames``, ...) is ``pcap_pfring.netns``, re-exported here; this module
adds the fixtures and the ring helpers of the tests.
"""
import os
import time

import pytest

from ..netns import (  # noqa: F401  (re-exported for the suites)
    CLONE_NEWNET,
    ETH_P_ALL,
    NetNS,
    VethPair,
    default_sigint,
    frame,
    ip,
    send_frames,
    send_from_b,
)


def needs_root():
    return os.geteuid() == 0


def collect(ring, n, timeout=5.0):
    """Receive until ``n`` packets arrived or ``timeout`` seconds passed."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        out.extend(ring.recv_batch(n - len(out), timeout=0.1))
    return out


def drain(ring, quiet=0.3):
    """Receive until the ring has been empty for ``quiet`` seconds."""
    out = []
    while True:
        got = ring.recv_batch(1024, timeout=quiet)
        if not got:
            return out
        out.extend(got)


@pytest.fixture
def veth_pair():
    if not needs_root():
        pytest.skip("needs root to create network namespaces")
    pair = VethPair()
    try:
        yield pair
    finally:
        pair.delete()


@pytest.fixture
def veth_pair_mq():
    """A veth pair with 4 queues per side and GRO on (so RX queues are recorded)."""
    if not needs_root():
        pytest.skip("needs root to create network namespaces")
    pair = VethPair(queues=4)
    try:
        for ns, ifname in ((pair.a, pair.if_a), (pair.b, pair.if_b)):
            ns.run(["ethtool", "-K", ifname, "gro", "on"], check=False)
        yield pair
    finally:
        pair.delete()


@pytest.fixture
def status_dir(tmp_path, monkeypatch):
    """A private status tree for the test (PF_RING_STATUS_DIR)."""
    d = tmp_path / "pf_ring"
    monkeypatch.setenv("PF_RING_STATUS_DIR", str(d))
    return d
