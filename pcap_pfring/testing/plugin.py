"""The pytest plugin of the project's suites (tests/ and compat-tests/).

Loaded by their conftest files.  At import, before the library reads its
configuration, it gives the run a private status tree (PF_RING_STATUS_DIR,
removed at exit) and makes child Pythons import the installed package rather
than the source tree.  Tests marked needs_root are skipped with a reason when
not root (CI runs as root).  The namespace fixtures come from
pcap_pfring.testing.fixtures; what `make asan` adds, from
pcap_pfring.testing.sanitizers.
"""
import atexit
import os
import shutil
import tempfile

import pytest

if "PF_RING_STATUS_DIR" not in os.environ:
    os.environ["PF_RING_STATUS_DIR"] = tempfile.mkdtemp(prefix="pfring-status-")
    atexit.register(shutil.rmtree, os.environ["PF_RING_STATUS_DIR"], ignore_errors=True)
os.environ["PYTHONSAFEPATH"] = "1"

pytest_plugins = ["pcap_pfring.testing.fixtures", "pcap_pfring.testing.sanitizers"]


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (CAP_NET_ADMIN and CAP_NET_RAW) for namespaces "
                                   "and packet sockets")
    for item in items:
        if "needs_root" in item.keywords:
            item.add_marker(skip)
