"""Compatibility suite: unmodified programs (tcpdump, dumpcap, scapy scripts,
pcapy-ng, libpcap test programs) run on PF_RING rings.  Same set-up as tests/."""
import atexit
import os
import shutil
import tempfile

import pytest

# Before the library reads its configuration: keep this run's status tree
# out of the machine's /run/pf_ring.
if "PF_RING_STATUS_DIR" not in os.environ:
    os.environ["PF_RING_STATUS_DIR"] = tempfile.mkdtemp(prefix="pfring-status-")
    atexit.register(shutil.rmtree, os.environ["PF_RING_STATUS_DIR"], ignore_errors=True)
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
