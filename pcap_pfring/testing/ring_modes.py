"""The receive modes of a ring, for tests that must pass on each: an
AF_PACKET ring batched (TPACKET_V3, the default) and immediate
(``set_batching(1)``: TPACKET_V2, a frame per packet), and, with
``ring_mode_zc``, the same device opened as ``zc:`` (AF_XDP, in copy mode on
veth).

A test file imports ``ring_mode`` (an autouse fixture parametrized over the
two AF_PACKET modes) or ``ring_mode_zc`` (those and zc), and ``open_in_a``,
which opens a ring in namespace a of a veth pair in the mode of the running
test::

    from pcap_pfring.testing.ring_modes import open_in_a, ring_mode  # noqa: F401

A test that cannot hold on zc: rings asks ``skip_on_zc(reason)`` (the reason
is what AF_XDP does differently, e.g. it sees only received frames).
"""
import pytest

from ..ring import Ring

_MODE = {}


@pytest.fixture(autouse=True, params=[0, 1], ids=["batched", "immediate"])
def ring_mode(request):
    _MODE["batching"] = request.param
    yield request.param
    _MODE.clear()


@pytest.fixture(autouse=True, params=[0, 1, "zc"], ids=["batched", "immediate", "zc"])
def ring_mode_zc(request):
    if request.param == "zc":
        _MODE["zc"] = True
    else:
        _MODE["batching"] = request.param
    yield request.param
    _MODE.clear()


def on_zc():
    return bool(_MODE.get("zc"))


def skip_on_zc(reason):
    if on_zc():
        pytest.skip(f"zc: rings (AF_XDP): {reason}")


def device_in_mode(device):
    """``device`` as the running test opens it: ``zc:DEVICE`` in zc mode."""
    return f"zc:{device}" if on_zc() and ":" not in device else device


def in_mode(ring, enable=False):
    """``ring`` set to the running test's mode (and enabled if asked)."""
    if _MODE.get("batching"):
        ring.set_batching(_MODE["batching"])
    if enable:
        ring.enable()
    return ring


def open_in_a(pair, device=None, enable=False, **kw):
    """A ring on ``device`` (default: a's veth) in namespace a, in the
    running test's mode."""
    with pair.a.enter():
        return in_mode(Ring(device_in_mode(device or pair.if_a), **kw), enable)
