"""pfring_pcap_env_plan: the decisions of pfring_open_pcap_env (the one
owner of how PF_RING's libpcap sets a ring up under PCAP_PF_RING_*), seen
from Python; and the public helpers that the drop-in uses instead of rules
of its own.  Nothing here opens a ring."""
import os

import pytest

from pcap_pfring import ClusterType, ffi, lib
from pcap_pfring import env as penv_mod

TS = lib.PF_RING_TIMESTAMP


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for k in list(os.environ):
        if k.startswith("PCAP_PF_RING_") or k == "PCAP_NO_PF_RING":
            monkeypatch.delenv(k)


def c_plan(device="eth0", promisc=False, listen=True, default_appname=None, env=None,
           size=None):
    """pfring_pcap_env_plan called straight (env NULL: parsed by the call)."""
    opts = ffi.new("struct pfring_pcap_open *")
    opts.size = size if size is not None else ffi.sizeof("struct pfring_pcap_open")
    opts.promisc = promisc
    opts.listen = listen
    keep = ffi.new("char[]", default_appname.encode()) if default_appname else ffi.NULL
    opts.default_appname = keep
    plan = ffi.new("struct pfring_pcap_ring_plan *")
    assert lib.pfring_pcap_env_plan(device.encode(), env or ffi.NULL, opts, plan) == 0
    return plan


@pytest.mark.parametrize("var, flag", [
    ("PCAP_PF_RING_DNA_RSS", lib.PF_RING_ZC_SYMMETRIC_RSS),
    ("PCAP_PF_RING_ZC_RSS", lib.PF_RING_ZC_SYMMETRIC_RSS),
    ("PCAP_PF_RING_STRIP_HW_TIMESTAMP", lib.PF_RING_STRIP_HW_TIMESTAMP),
    ("PCAP_PF_RING_USERSPACE_BPF", lib.PF_RING_USERSPACE_BPF),
])
def test_flag_variables_add_their_open_flag(monkeypatch, var, flag):
    monkeypatch.setenv(var, "")
    p = penv_mod.plan("eth0")
    assert (p["flags"], p["retry_flags"]) == (TS | flag, 0)


def test_nothing_set():
    p = penv_mod.plan("eth0")
    assert p == {"flags": TS, "retry_flags": 0, "poll_watermark": 1, "recv_only": False,
                 "cluster_id": 0, "cluster_type": None, "rss_rehash": False,
                 "appname": penv_mod.default_appname()}


def test_hw_timestamp_retries_without_it(monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_HW_TIMESTAMP", "1")
    monkeypatch.setenv("PCAP_PF_RING_USERSPACE_BPF", "1")
    p = penv_mod.plan("eth0", promisc=True)
    base = TS | lib.PF_RING_USERSPACE_BPF | lib.PF_RING_PROMISC
    assert p["flags"] == base | lib.PF_RING_HW_TIMESTAMP
    assert p["retry_flags"] == base


@pytest.mark.parametrize("device, promisc, want", [
    ("eth0", True, lib.PF_RING_PROMISC), ("eth0", False, 0), ("any", True, 0),
    ("eth0@1", True, lib.PF_RING_PROMISC),
])
def test_promisc_except_on_any(device, promisc, want):
    assert penv_mod.plan(device, promisc)["flags"] == TS | want


def test_listen_rings_get_recv_only_cluster_and_rss(monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_RECV_ONLY", "")
    monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "12")
    monkeypatch.setenv("PCAP_PF_RING_USE_CLUSTER_PER_FLOW_4_TUPLE", "")
    monkeypatch.setenv("PCAP_PF_RING_RSS_REHASH", "1")
    p = penv_mod.plan("eth0")
    assert (p["recv_only"], p["cluster_id"], p["cluster_type"], p["rss_rehash"]) == \
        (True, 12, ClusterType.PER_FLOW_4_TUPLE, True)
    p = penv_mod.plan("eth0", listen=False)          # a sender: none of them
    assert (p["recv_only"], p["cluster_id"], p["cluster_type"], p["rss_rehash"]) == \
        (False, 0, None, False)
    assert p["poll_watermark"] == 1


def test_cluster_without_a_type_variable_is_round_robin(monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "3")
    assert penv_mod.plan("eth0")["cluster_type"] == ClusterType.ROUND_ROBIN


def _program_name():
    with open("/proc/self/cmdline", "rb") as f:
        return os.path.basename(f.read().split(b"\0")[0]).decode()


def test_appname_rules(monkeypatch):
    # without the variable: the caller's default, else the program's name
    assert ffi.string(c_plan(default_appname="mytool").appname) == b"mytool"
    assert ffi.string(c_plan().appname).decode() == _program_name()
    assert ffi.string(c_plan(default_appname="").appname).decode() == _program_name()
    assert penv_mod.plan("eth0")["appname"] == penv_mod.default_appname()
    # the variable wins over both
    monkeypatch.setenv("PCAP_PF_RING_APPNAME", "fromenv")
    assert ffi.string(c_plan(default_appname="mytool").appname) == b"fromenv"
    assert penv_mod.plan("eth0")["appname"] == "fromenv"


def test_a_given_env_is_used_and_not_parsed_again(monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "9")
    given = penv_mod.parse()
    monkeypatch.delenv("PCAP_PF_RING_CLUSTER_ID")
    assert penv_mod.plan("eth0", penv=given)["cluster_id"] == 9
    assert penv_mod.plan("eth0")["cluster_id"] == 0


def test_older_smaller_options_get_the_defaults(monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_RECV_ONLY", "")
    # a caller built before `listen` existed: listen stays on (the default)
    size = ffi.offsetof("struct pfring_pcap_open", "listen")
    p = c_plan(promisc=True, listen=False, size=size)
    assert p.recv_only == 1 and p.flags == TS | lib.PF_RING_PROMISC


def test_null_plan_is_an_invalid_argument():
    assert lib.pfring_pcap_env_plan(b"eth0", ffi.NULL, ffi.NULL, ffi.NULL) == \
        lib.PF_RING_ERROR_INVALID_ARGUMENT


@pytest.mark.parametrize("expr, want", [
    ("vlan", 1), ("vlan 100 and udp", 1), ("not vlan", 1), ("udp port 53", 0), ("", 0),
    (None, 0),
])
def test_expressions_that_run_in_user_space(expr, want):
    arg = expr.encode() if expr is not None else ffi.NULL
    assert lib.pfring_bpf_expr_needs_userspace(arg) == want


def test_pfring_log_goes_through_the_default_callback(capfd):
    lib.pfring_log(1, b"%s %d", ffi.new("char[]", b"hello"), ffi.cast("int", 7))
    lib.pfring_log(3, b"%s", ffi.new("char[]", b"filtered"))    # above max_level 1
    assert capfd.readouterr().err == "pfring: warning: hello 7\n"
