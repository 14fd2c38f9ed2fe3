"""The logging bridge (pcap_pfring._log): libpfring's diagnostics become
records of the logger "pcap_pfring", and stderr gets each warning once, in
libpfring's format, unless the application says otherwise.  The warning
used is libpfring's own, for a malformed PCAP_PF_RING_CLUSTER_ID parsed by
pcap_pfring.env.parse().  Where stderr is checked exactly, the code runs in
a child interpreter (libpfring writes to file descriptor 2 itself)."""
import logging
import os
import subprocess
import sys

import pytest

from pcap_pfring import _log, env

TEXT = "PCAP_PF_RING_CLUSTER_ID='abc' is not a number; not clustering"
LINE = f"pfring: warning: {TEXT}\n"


class Keep(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def kept(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("PCAP_", "PF_RING_")):
            monkeypatch.delenv(name)
    handler = Keep()
    log = logging.getLogger(_log.LOGGER_NAME)
    log.addHandler(handler)
    try:
        yield handler
    finally:
        log.removeHandler(handler)


def test_a_libpfring_warning_is_a_record_at_warning(kept, monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "abc")
    penv = env.parse()
    assert penv.cluster_id == 0
    assert [(r.name, r.levelno, r.getMessage(), r.pfring_level) for r in kept.records] == [
        ("pcap_pfring", logging.WARNING, TEXT, 1)]


def test_a_valid_environment_logs_nothing(kept, monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "7")
    assert env.parse().cluster_id == 7
    assert kept.records == []


def test_a_disabled_level_is_not_formatted(kept, monkeypatch):
    """The logger's level decides: above WARNING, the warning is no record."""
    log = logging.getLogger(_log.LOGGER_NAME)
    old = log.level
    log.setLevel(logging.ERROR)
    try:
        monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "abc")
        env.parse()
    finally:
        log.setLevel(old)
    assert kept.records == []


def child(code, tmp_path):
    """Run ``code`` in a child interpreter with a malformed cluster id:
    (stdout, stderr)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("PF_RING_", "PCAP_"))}
    full["PF_RING_CONFIG"] = str(tmp_path / "no-such.conf")
    full["PCAP_PF_RING_CLUSTER_ID"] = "abc"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=full, cwd=tmp_path, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout, res.stderr


def test_by_default_stderr_gets_the_line_once(tmp_path):
    out, err = child("from pcap_pfring import env\nenv.parse()\n", tmp_path)
    assert (out, err) == ("", LINE)


def test_set_stderr_false_keeps_stderr_clean(tmp_path):
    code = ("import logging\nfrom pcap_pfring import _log, env\n"
            "seen = []\n"
            "class H(logging.Handler):\n"
            "    def emit(self, r): seen.append(r.getMessage())\n"
            "logging.getLogger('pcap_pfring').addHandler(H())\n"
            "_log.set_stderr(False)\n"
            "env.parse()\nprint(seen)\n")
    out, err = child(code, tmp_path)
    assert (out, err) == (f"[{TEXT!r}]\n", "")


def test_set_stderr_true_again(tmp_path):
    code = ("from pcap_pfring import _log, env\n"
            "_log.set_stderr(False)\n_log.set_stderr(True)\n_log.set_stderr(True)\n"
            "env.parse()\n")
    assert child(code, tmp_path) == ("", LINE)


def test_an_application_handler_on_stderr_means_no_duplicate(tmp_path):
    code = ("import logging\n"
            "logging.basicConfig(format='%(name)s %(levelname)s %(message)s')\n"
            "from pcap_pfring import env\nenv.parse()\n")
    out, err = child(code, tmp_path)
    assert (out, err) == ("", f"pcap_pfring WARNING {TEXT}\n")


def test_an_application_handler_elsewhere_keeps_the_line(tmp_path):
    """A handler writing to stdout, and one on stderr that does not show
    warnings: stderr still gets libpfring's line, once."""
    code = ("import logging, sys\n"
            "out = logging.StreamHandler(sys.stdout)\n"
            "out.setFormatter(logging.Formatter('%(levelname)s %(message)s'))\n"
            "quiet = logging.StreamHandler(sys.stderr)\nquiet.setLevel(logging.ERROR)\n"
            "logging.getLogger().addHandler(out)\nlogging.getLogger().addHandler(quiet)\n"
            "from pcap_pfring import env\nenv.parse()\n")
    out, err = child(code, tmp_path)
    assert (out, err) == (f"WARNING {TEXT}\n", LINE)


def test_uninstall_gives_libpfring_its_own_printer(tmp_path):
    code = ("import logging\nfrom pcap_pfring import _log, env\n"
            "seen = []\n"
            "class H(logging.Handler):\n"
            "    def emit(self, r): seen.append(r.getMessage())\n"
            "logging.getLogger('pcap_pfring').addHandler(H())\n"
            "_log.uninstall()\nenv.parse()\nprint(seen)\n")
    assert child(code, tmp_path) == ("[]\n", LINE)
