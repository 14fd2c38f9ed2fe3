"""Argument checks of the Python API that need no ring: device names and
timeouts are refused with errors that name them, before any C call."""
import math

import pytest

from pcap_pfring import env
from pcap_pfring._ffi import ffi
from pcap_pfring.errors import BadInterfaceNameError, InvalidArgumentError
from pcap_pfring.ring import Ring, _timeout, check_open_args


@pytest.mark.parametrize("name", ["a\x00b", "\x00", "eth0\x00@1"])
def test_a_nul_in_a_device_name_is_refused(name):
    with pytest.raises(BadInterfaceNameError, match="NUL"):
        check_open_args(name, 128)
    with pytest.raises(BadInterfaceNameError, match="NUL"):
        Ring(name)
    with pytest.raises(BadInterfaceNameError, match="NUL"):
        env.open_ring(name, 128)
    with pytest.raises(BadInterfaceNameError, match="NUL"):
        env.plan(name)


@pytest.mark.parametrize("value, want", [
    (None, None), (0, 0.0), (0.5, 0.5), (3, 3.0), (math.inf, None), (2**40, float(2**40)),
    (2**80, None),
])
def test_timeouts_that_are_taken(value, want):
    assert _timeout(value, "timeout") == want


@pytest.mark.parametrize("value, error", [
    (-1, InvalidArgumentError), (-0.5, InvalidArgumentError), (-math.inf, InvalidArgumentError),
    (math.nan, InvalidArgumentError), (True, TypeError), ("3", TypeError), (b"3", TypeError),
    (1j, TypeError),
])
def test_timeouts_that_are_refused_name_the_argument(value, error):
    with pytest.raises(error, match="timeout"):
        _timeout(value, "timeout")
    assert issubclass(InvalidArgumentError, ValueError)


def closed_ring():
    ring = Ring.__new__(Ring)
    ring._ring = ffi.NULL
    ring._init_state()
    ring._reentrant = False
    return ring


@pytest.mark.parametrize("call", [
    lambda r: r.wait(math.nan), lambda r: r.wait(-1), lambda r: r.recv(timeout="3"),
    lambda r: r.recv(timeout=math.nan), lambda r: r.recv_batch(4, timeout=-1),
    lambda r: r.loop(print, timeout=math.nan), lambda r: r.loop(print, count="3"),
])
def test_bad_waits_fail_before_the_ring_is_used(call):
    with pytest.raises((TypeError, ValueError)):
        call(closed_ring())
