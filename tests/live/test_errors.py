"""Bad input on real rings: each gets a clear error and nothing crashes."""
import os
import sys

import pytest

from pcap_pfring import (
    InvalidArgumentError,
    InvalidStatusError,
    PermissionDeniedError,
    Ring,
    RingNotEnabledError,
    WrongConfigurationError,
    lib,
)

pytestmark = pytest.mark.needs_root


def test_down_interface(veth_pair):
    veth_pair.a.run(["ip", "link", "set", veth_pair.if_a, "down"])
    with veth_pair.a.enter():
        with pytest.raises(WrongConfigurationError, match="interface 'veth0' is down"):
            Ring(veth_pair.if_a)


def test_use_after_close_and_double_close(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, enable=True)
    ring.close()
    ring.close()                      # idempotent
    assert ring.closed
    with pytest.raises(InvalidStatusError, match="after close"):
        ring.recv()
    with pytest.raises(InvalidStatusError):
        ring.stats()
    with pytest.raises(InvalidStatusError):
        ring.enable()


def test_recv_on_disabled_ring(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a)
    with ring:
        with pytest.raises(RingNotEnabledError) as info:
            ring.recv()
        assert info.value.code == -12
        assert "not enabled" in str(info.value)


def test_bpf_syntax_error_carries_compiler_message(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a)
    with ring:
        with pytest.raises(InvalidArgumentError) as info:
            ring.set_bpf_filter("udp prot 53")
        assert "udp prot 53" in str(info.value)
        assert "syntax error" in str(info.value)
        ring.set_bpf_filter("udp port 53")   # the ring is still usable


def test_bad_values_on_setters(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a)
    with ring:
        with pytest.raises(InvalidArgumentError, match="sampling rate"):
            ring.set_sampling_rate(0)
        with pytest.raises(ValueError):
            ring.set_direction(7)
        with pytest.raises(InvalidArgumentError, match="VLAN id 5000"):
            ring.set_vlan_id(5000)
        with pytest.raises(InvalidArgumentError, match="channel 64"):
            ring.set_channel_id(64)
        with pytest.raises(InvalidArgumentError, match="must not be empty"):
            ring.set_application_name("")
        ring.enable()
        with pytest.raises(InvalidStatusError, match="before pfring_enable_ring"):
            ring.set_socket_mode(lib.recv_only_mode)


def test_too_little_privilege_names_the_capability(veth_pair):
    code = ("import pcap_pfring,sys\n"
            "try:\n"
            f"    pcap_pfring.Ring({veth_pair.if_a!r})\n"
            "except pcap_pfring.PermissionDeniedError as e:\n"
            "    print('DENIED', e.code, e); sys.exit(3)\n")
    res = veth_pair.a.run(["capsh", "--drop=cap_net_raw", "--", "-c",
                           f"{sys.executable} -c \"{code}\""], check=False,
                          env=dict(os.environ))
    assert res.returncode == 3, res.stdout + res.stderr
    assert "DENIED -19" in res.stdout
    assert "CAP_NET_RAW" in res.stdout
    assert PermissionDeniedError.code == -19
    assert issubclass(PermissionDeniedError, PermissionError)
