"""Auto-activation of the scapy sockets (pcap-pfring-autoload.pth): which
environments activate it, what is loaded at interpreter start, and that
scapy's conf ends up with our classes.  Child interpreters, no privilege:
no socket is opened."""
import os
import site
import subprocess
import sys

import pytest

pytest.importorskip("scapy", reason="scapy is installed by make setup (requirements-dev.txt)")

import _pcap_pfring_autoload as autoload  # noqa: E402

PROBE = """
import sys
at_start = sorted(m for m in ("cffi", "_cffi_backend", "pcap_pfring", "scapy") if m in sys.modules)
finders = [type(f).__name__ for f in sys.meta_path]
from scapy.all import conf
print(at_start, "Finder" in finders, conf.L2listen.__name__, conf.L2socket.__name__,
      conf.L3socket.__name__, [type(f).__name__ for f in sys.meta_path].count("Finder"))
"""


def run(env_vars, code=PROBE):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PCAP_") and k not in ("PYTHONPATH",)}
    env.update(env_vars)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, cwd="/")
    assert res.returncode == 0, res.stderr
    return res.stdout.strip(), res.stderr


OURS = "PFRingListenSocket PFRingSocket PFRingL3Socket"
SCAPYS = "L2ListenSocket L2Socket L3PacketSocket"


def test_pth_file_is_installed_beside_the_module():
    places = [os.path.join(d, "pcap-pfring-autoload.pth") for d in site.getsitepackages()]
    found = [p for p in places if os.path.exists(p)]
    assert len(found) == 1
    assert os.path.dirname(autoload.__file__) == os.path.dirname(found[0])
    with open(found[0]) as f:
        assert f.read().startswith("import os;")


@pytest.mark.parametrize("env", [
    {"PCAP_PF_RING_APPNAME": "x"},
    {"PCAP_PF_RING_CLUSTER_ID": "5"},
    {"PCAP_PF_RING_SCAPY": "1"},
    {"PCAP_PF_RING_RECV_ONLY": ""},
])
def test_a_pcap_pf_ring_variable_activates(env):
    out, _ = run(env)
    assert out == f"[] True {OURS} 0"


@pytest.mark.parametrize("env", [
    {},
    {"PCAP_NO_PF_RING": "1", "PCAP_PF_RING_APPNAME": "x"},
    {"PCAP_NO_PF_RING": "", "PCAP_PF_RING_CLUSTER_ID": "5"},
    {"PCAP_PF_RING_SCAPY": "0", "PCAP_PF_RING_APPNAME": "x"},
    {"SCAPY_USE_LIBPCAP": "no"},
])
def test_otherwise_nothing_happens(env):
    out, _ = run(env)
    assert out == f"[] False {SCAPYS} 0"


def test_scapy_use_libpcap_wins_until_turned_off():
    code = ("from scapy.all import conf\n"
            "print(conf.L2listen.__name__)\n"
            "conf.use_pcap = False\n"
            "print(conf.L2listen.__name__)\n")
    out, _ = run({"PCAP_PF_RING_APPNAME": "x", "SCAPY_USE_LIBPCAP": "yes"}, code)
    assert out.split() == ["L2pcapListenSocket", "PFRingListenSocket"]


def test_only_scapy_config_is_hooked_and_the_finder_leaves():
    code = ("import sys, json, email.parser, scapy.config\n"
            "print([type(f).__name__ for f in sys.meta_path].count('Finder'),\n"
            "      scapy.config.__loader__.__class__.__name__,\n"
            "      hasattr(scapy.config._set_conf_sockets, '_pcap_pfring_base'),\n"
            "      'pcap_pfring' in sys.modules)\n")
    out, _ = run({"PCAP_PF_RING_APPNAME": "x"}, code)
    # scapy.config alone: wrapped, but nothing of ours loaded until scapy.arch runs.
    assert out == "0 SourceFileLoader True False"


def test_wanted():
    assert autoload.wanted({"PCAP_PF_RING_APPNAME": "a"})
    assert autoload.wanted({"PCAP_PF_RING_SCAPY": "1"})
    assert not autoload.wanted({})
    assert not autoload.wanted({"PCAP_PF_RING_APPNAME": "a", "PCAP_NO_PF_RING": ""})
    assert not autoload.wanted({"PCAP_PF_RING_APPNAME": "a", "PCAP_PF_RING_SCAPY": "0"})
    assert not autoload.wanted({"PCAP_APPNAME": "a"})
