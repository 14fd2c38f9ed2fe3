"""The two receive modes of an AF_PACKET ring, for tests that must pass on
both: batched (TPACKET_V3, the default) and immediate (``set_batching(1)``:
TPACKET_V2, a frame per packet).

A test file imports ``ring_mode`` (an autouse fixture parametrized over the
two modes) and ``open_in_a``, which opens a ring in namespace a of a veth
pair in the mode of the running test::

    from pcap_pfring.testing.ring_modes import open_in_a, ring_mode  # noqa: F401
"""
import pytest

from ..ring import Ring

_MODE = {}


@pytest.fixture(autouse=True, params=[0, 1], ids=["batched", "immediate"])
def ring_mode(request):
    _MODE["batching"] = request.param
    yield request.param
    _MODE.clear()


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
        return in_mode(Ring(device or pair.if_a, **kw), enable)
