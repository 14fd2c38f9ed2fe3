"""PF_RING_CONFIG naming something that is not a small regular file: a
device that never ends (/dev/zero, /dev/urandom), a FIFO nobody writes, a
directory, a file over 1 MiB.  The first call that reads the configuration
returns at once with the defaults, and exactly one warning goes through
the print callback (pfring_set_print).

Each case runs in a fresh interpreter: the configuration is loaded once per
process.  The timeout only bounds a failing run (the old reader grew without
bound on /dev/zero and blocked for ever on a FIFO)."""
import json
import os
import subprocess
import sys

import pytest

from pcap_pfring.testing import childlog

# The library the binding uses, its print callback, then the first read of
# the configuration: every integer parameter, and what was logged.
CODE = childlog.PRELUDE + r"""
import json, sys
from pcap_pfring import lib

names = sys.argv[1:]
values = {n: lib.pfring_get_module_param(n.encode()) for n in names}
print(json.dumps({"values": values, "logged": logged}))
"""

PARAMS = ["min_num_slots", "perfect_rules_hash_size", "enable_tx_capture",
          "enable_frag_coherence", "enable_ip_defrag", "quick_mode", "force_ring_lock",
          "enable_debug", "transparent_mode", "keep_vlan_offload", "block_timeout_ms"]
DEFAULTS = {"min_num_slots": 4096, "perfect_rules_hash_size": 4096, "enable_tx_capture": 1,
            "enable_frag_coherence": 1, "enable_ip_defrag": 0, "quick_mode": 0,
            "force_ring_lock": 0, "enable_debug": 0, "transparent_mode": 0,
            "keep_vlan_offload": 0, "block_timeout_ms": 8}
MIB = 1024 * 1024


def load(config):
    """(parameter values, [[level, message], ...]) of a process whose
    PF_RING_CONFIG is config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PF_RING_")}
    env["PF_RING_CONFIG"] = str(config)
    res = subprocess.run([sys.executable, "-c", CODE, *PARAMS], capture_output=True,
                         text=True, timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    return doc["values"], doc["logged"]


def test_the_defaults_without_a_file(tmp_path):
    assert load(tmp_path / "missing.conf") == (DEFAULTS, [])


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_is_not_read(device):
    assert load(device) == (DEFAULTS, [
        [1, f"cannot read the configuration file {device}: it is a character device, "
            "not a regular file; ignored"]])


def test_a_fifo_does_not_block(tmp_path):
    fifo = tmp_path / "pf_ring.conf"
    os.mkfifo(fifo)
    assert load(fifo) == (DEFAULTS, [
        [1, f"cannot read the configuration file {fifo}: it is a FIFO, not a regular file; "
            "ignored"]])


def test_a_directory(tmp_path):
    assert load(tmp_path) == (DEFAULTS, [
        [1, f"cannot read the configuration file {tmp_path}: it is a directory, not a regular "
            "file; ignored"]])


def padded(size, line=b"min_num_slots=8192\n"):
    """A configuration of exactly size bytes: line, then a comment."""
    return line + b"#" + b"x" * (size - len(line) - 2) + b"\n"


def test_a_file_over_1_mib_is_ignored(tmp_path):
    conf = tmp_path / "pf_ring.conf"
    conf.write_bytes(padded(MIB + 1))
    assert load(conf) == (DEFAULTS, [
        [1, f"cannot read the configuration file {conf}: it is larger than 1 MiB "
            f"({MIB + 1} bytes); ignored"]])


def test_a_sparse_file_of_10_gib_is_not_read(tmp_path):
    conf = tmp_path / "pf_ring.conf"
    with open(conf, "wb") as f:
        f.write(b"min_num_slots=8192\n")
        f.truncate(10 << 30)
    assert load(conf) == (DEFAULTS, [
        [1, f"cannot read the configuration file {conf}: it is larger than 1 MiB "
            f"({10 << 30} bytes); ignored"]])


def test_a_file_of_exactly_1_mib_is_read(tmp_path):
    conf = tmp_path / "pf_ring.conf"
    conf.write_bytes(padded(MIB))
    assert load(conf) == (dict(DEFAULTS, min_num_slots=8192), [])


def test_a_regular_file_through_a_symlink_is_read(tmp_path):
    conf = tmp_path / "real.conf"
    conf.write_text("options pf_ring enable_tx_capture=0\nblock_timeout_ms = 20\n")
    link = tmp_path / "pf_ring.conf"
    link.symlink_to(conf)
    assert load(link) == (dict(DEFAULTS, enable_tx_capture=0, block_timeout_ms=20), [])


def test_a_last_line_without_newline_counts(tmp_path):
    conf = tmp_path / "pf_ring.conf"
    conf.write_text("# comment\n\nmin_num_slots=16384")
    assert load(conf) == (dict(DEFAULTS, min_num_slots=16384), [])


def test_bad_lines_still_name_file_and_line(tmp_path):
    conf = tmp_path / "pf_ring.conf"
    conf.write_text("min_num_slots=8192\nbogus=1\n")
    assert load(conf) == (dict(DEFAULTS, min_num_slots=8192), [
        [1, f"{conf}:2: unknown parameter 'bogus'; ignored"]])
