"""pfring_open_pcap_env, libpfring's one owner of how PF_RING's libpcap sets
a ring up under PCAP_PF_RING_*: under each variable the ring it opens shows
the same settings in the status tree as the ring of the Python shim
(pcap_pfring.env.open_ring); a cluster that cannot be joined is the same
error in both; warnings reach the print callback, or the call's own."""
import os
import subprocess

import pytest

import pcap_pfring
from pcap_pfring import ClusterType, Flags, Ring, ffi, lib, status
from pcap_pfring import env as penv_mod
from pcap_pfring.errors import PFRingError, error_class

pytestmark = pytest.mark.needs_root


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for k in list(os.environ):
        if k.startswith("PCAP_PF_RING_") or k == "PCAP_NO_PF_RING":
            monkeypatch.delenv(k)


def c_open(device, caplen=256, promisc=False, listen=True, default_appname=None):
    """pfring_open_pcap_env straight through cffi: (handle or NULL, result)."""
    opts = ffi.new("struct pfring_pcap_open *")
    opts.size = ffi.sizeof("struct pfring_pcap_open")
    opts.promisc = promisc
    opts.listen = listen
    app = ffi.new("char[]", default_appname.encode()) if default_appname else ffi.NULL
    opts.default_appname = app
    res = ffi.new("struct pfring_pcap_open_result *")
    h = lib.pfring_open_pcap_env(device.encode(), caplen, ffi.NULL, opts, res)
    return h, res


def fields_of(ring_id):
    [r] = [r for r in status.list_rings() if r.ring_id == ring_id]
    return r.fields


def c_fields(pair, **kw):
    with pair.a.enter():
        h, res = c_open(pair.if_a, default_appname=penv_mod.default_appname(), **kw)
    assert h != ffi.NULL, ffi.string(res.errbuf)
    try:
        return fields_of(lib.pfring_get_ring_id(h)), res.flags
    finally:
        lib.pfring_close(h)


def py_fields(pair, **kw):
    with pair.a.enter():
        ring = penv_mod.open_ring(pair.if_a, 256, warn=lambda text: None, **kw)
    with ring:
        return fields_of(ring.ring_id), ring.flags


CASES = [
    ({}, {"Socket Mode": "RX+TX", "Poll Pkt Watermark": "1"}),
    ({"PCAP_PF_RING_RECV_ONLY": ""}, {"Socket Mode": "RX only"}),
    ({"PCAP_PF_RING_CLUSTER_ID": "21"}, {"Cluster Id": "21"}),
    ({"PCAP_PF_RING_CLUSTER_ID": "22", "PCAP_PF_RING_USE_CLUSTER_PER_FLOW_2_TUPLE": ""},
     {"Cluster Id": "22"}),
    ({"PCAP_PF_RING_CLUSTER_ID": "0"}, {}),
    ({"PCAP_PF_RING_APPNAME": "opener"}, {"Appl. Name": "opener"}),
    ({"PCAP_PF_RING_RSS_REHASH": "1"}, {}),
    ({"PCAP_PF_RING_HW_TIMESTAMP": ""}, {}),
    ({"PCAP_PF_RING_USERSPACE_BPF": ""}, {}),
    ({"PCAP_PF_RING_STRIP_HW_TIMESTAMP": ""}, {}),
    ({"PCAP_PF_RING_ZC_RSS": ""}, {}),
]


@pytest.mark.parametrize("variables, expected", CASES,
                         ids=[",".join(v) or "nothing" for v, _ in CASES])
@pytest.mark.parametrize("promisc", [False, True])
def test_c_call_and_python_set_the_ring_up_alike(veth_pair, monkeypatch, variables, expected,
                                                 promisc):
    for k, v in variables.items():
        monkeypatch.setenv(k, v)
    c, c_flags = c_fields(veth_pair, promisc=promisc)
    py, py_flags = py_fields(veth_pair, promisc=promisc)
    assert c == py
    assert c_flags == py_flags
    assert c["Appl. Name"] == expected.get("Appl. Name", penv_mod.default_appname())
    assert c["Poll Pkt Watermark"] == "1"
    for k, v in expected.items():
        assert c[k] == v
    if "Cluster Id" not in expected:
        assert "Cluster Id" not in c
    want = Flags.TIMESTAMP | penv_mod.parse().open_flags | (Flags.PROMISC if promisc else 0)
    assert c_flags == want & ~Flags.HW_TIMESTAMP           # veth: no hardware time stamps


def test_a_sender_gets_no_recv_only_mode_and_no_cluster(veth_pair, monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_RECV_ONLY", "")
    monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "23")
    c, _ = c_fields(veth_pair, listen=False)
    py, _ = py_fields(veth_pair, listen=False)
    assert c == py
    assert c["Socket Mode"] == "RX+TX" and "Cluster Id" not in c


def test_default_appname_is_the_program_name_without_a_default(veth_pair):
    with veth_pair.a.enter():
        h, res = c_open(veth_pair.if_a)
    try:
        with open("/proc/self/cmdline", "rb") as f:
            prog = os.path.basename(f.read().split(b"\0")[0]).decode()
        assert fields_of(lib.pfring_get_ring_id(h))["Appl. Name"] == prog
    finally:
        lib.pfring_close(h)


def test_a_cluster_that_cannot_be_joined_is_the_same_error(veth_pair, monkeypatch):
    with veth_pair.a.enter():
        holder = Ring(veth_pair.if_a)
    with holder:
        holder.set_cluster(31, ClusterType.ROUND_ROBIN)
        holder.enable()
        monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "31")
        monkeypatch.setenv("PCAP_PF_RING_USE_CLUSTER_PER_FLOW", "")
        with veth_pair.a.enter():
            h, res = c_open(veth_pair.if_a)
            with pytest.raises(PFRingError) as exc:
                penv_mod.open_ring(veth_pair.if_a, 256)
        if h != ffi.NULL:
            lib.pfring_close(h)
        assert h == ffi.NULL
        text = ffi.string(res.errbuf).decode()
        assert text.startswith("PCAP_PF_RING_CLUSTER_ID=31: ") and len(text) > 28
        assert res.set_up == 1 and res.rc < 0
        assert str(exc.value) == text
        assert type(exc.value) is error_class(res.rc)
        assert [r.ring_id for r in status.list_rings()] == [holder.ring_id]   # closed


def test_an_open_that_fails_says_so():
    h, res = c_open("pcapopen-nonesuch0")
    assert h == ffi.NULL
    assert res.set_up == 0 and res.rc < 0
    assert ffi.string(res.errbuf) == ffi.string(lib.pfring_last_open_error())


HW_WARNING = ("PCAP_PF_RING_HW_TIMESTAMP: hardware timestamps are not supported on '{}'; "
              "using software time stamps")


def test_hw_timestamp_warning_goes_through_the_print_callback(veth_pair, monkeypatch, capfd):
    monkeypatch.setenv("PCAP_PF_RING_HW_TIMESTAMP", "")
    capfd.readouterr()
    with veth_pair.a.enter():
        h, res = c_open(veth_pair.if_a)
        lib.pfring_close(h)
        penv_mod.open_ring(veth_pair.if_a, 256).close()          # warn=None: the callback
        told = []
        penv_mod.open_ring(veth_pair.if_a, 256, warn=told.append).close()
    line = "pfring: warning: " + HW_WARNING.format(veth_pair.if_a)
    assert capfd.readouterr().err.splitlines() == [line, line]
    assert told == [HW_WARNING.format(veth_pair.if_a)]


PRINT_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include "pfring.h"

static void cb(int level, const char *msg, void *user)
{
  printf("%s %d %s\n", (const char *)user, level, msg);
}

int main(int argc, char **argv)
{
  struct pfring_pcap_open opts = { .size = sizeof(opts), .listen = 1 };
  struct pfring_pcap_open_result res;
  pfring *ring;

  pfring_set_print(cb, "global", 1);
  setenv("PCAP_PF_RING_HW_TIMESTAMP", "", 1);
  setenv("PCAP_PF_RING_RSS_REHASH", "often", 1);      /* a parse warning */
  ring = pfring_open_pcap_env(argv[1], 128, NULL, &opts, &res);
  if (!ring)
    return 2;
  pfring_close(ring);
  opts.print = cb;                                    /* this call's own */
  opts.print_user = "own";
  ring = pfring_open_pcap_env(argv[1], 128, NULL, &opts, &res);
  if (!ring)
    return 3;
  pfring_close(ring);
  pfring_log(1, "from %s", "pfring_log");
  pfring_log(2, "above max_level");
  pfring_set_print(NULL, NULL, 1);
  pfring_log(0, "default again");
  return 0;
}
"""


def test_warnings_reach_the_print_callback_of_a_c_program(veth_pair, tmp_path):
    pkg = os.path.dirname(pcap_pfring.__file__)
    src = tmp_path / "print.c"
    src.write_text(PRINT_PROGRAM)
    exe = tmp_path / "print"
    subprocess.run(["gcc", "-Wall", "-Werror", "-I", os.path.join(pkg, "include"), "-o",
                    str(exe), str(src), "-L", os.path.join(pkg, "lib"), "-l:libpfring.so.1",
                    "-Wl,-rpath," + os.path.join(pkg, "lib")], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PCAP_")}
    res = subprocess.run(veth_pair.a.cmd([str(exe), veth_pair.if_a]), capture_output=True,
                         text=True, timeout=30, env=env)
    assert res.returncode == 0, res.stderr
    hw = HW_WARNING.format(veth_pair.if_a)
    parse = "PCAP_PF_RING_RSS_REHASH='often' is not a number; RSS re-hashing stays off"
    assert res.stdout.splitlines() == [
        f"global 1 {parse}", f"global 1 {hw}",
        f"global 1 {parse}", f"own 1 {hw}",
        "global 1 from pfring_log",
    ]
    assert res.stderr == "pfring: error: default again\n"
