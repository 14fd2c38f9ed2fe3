"""Compatibility suite: unmodified programs (tcpdump, dumpcap, scapy scripts,
pcapy-ng, libpcap test programs) run on PF_RING rings.  Same set-up as tests/."""
import os
import tempfile

import pytest

# Before the library reads its configuration: keep this run's status tree
# out of the machine's /run/pf_ring.
os.environ.setdefault("PF_RING_STATUS_DIR", tempfile.mkdtemp(prefix="pfring-status-"))
# Child Pythons must import the installed package, not the source tree.
os.environ["PYTHONSAFEPATH"] = "1"

pytest_plugins = ["pcap_pfring.testing.fixtures"]


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (CAP_NET_ADMIN and CAP_NET_RAW) for namespaces and packet sockets")
    for item in items:
        if "needs_root" in item.keywords:
            item.add_marker(skip)
