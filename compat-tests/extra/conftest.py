"""compat-tests/extra: programs too heavy for make setup (suricata, from
bookworm-backports), run by `make compat-extra` only.  The fixtures are the
compat suite's (compat-tests/conftest.py loads pcap_pfring.testing.plugin).

The plain compat run (tox -e compat, which collects compat-tests/) leaves
this folder out, unless it is named on the command line."""
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _asked(config):
    for arg in config.args:
        path = Path(arg.split("::", 1)[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    if collection_path.resolve() != Path(__file__).resolve() and not _asked(config):
        return True
    return None
