"""pcap-pfring: PF_RING capture rings on a stock Linux kernel, no module.

>>> from pcap_pfring import Ring
>>> with Ring("eth0", enable=True) as ring:
...     hdr, data = ring.recv(wait=True)

libpfring's diagnostics go to the ``logging`` logger "pcap_pfring" from the
moment this package is imported (see ``pcap_pfring._log``).
"""
from . import _log
from ._ffi import ffi, lib
from .errors import (
    BadInterfaceNameError,
    InvalidArgumentError,
    InvalidStatusError,
    MmapError,
    NoPacketAvailableError,
    NotEnoughMemoryError,
    NotSupportedError,
    NoTxSlotAvailableError,
    PermissionDeniedError,
    PFRingError,
    RingNotEnabledError,
    UnableToGetInfoError,
    WrongConfigurationError,
)
from .ring import (
    MAX_CAPLEN,
    Batch,
    ClusterType,
    CopiedBatch,
    Direction,
    Flags,
    Frames,
    LinkType,
    PacketHeader,
    Ring,
    SocketMode,
    Stats,
    format_number,
    open_multichannel,
    parsed_packet_text,
)

__version__ = "0.1.0"

_built = ffi.string(lib.pp_build_version()).decode()
if _built != __version__:
    raise ImportError(
        f"pcap_pfring {__version__} found a compiled extension of version {_built}: "
        "several copies are installed; reinstall into a fresh virtual environment")

__all__ = [
    "Ring", "open_multichannel", "Batch", "CopiedBatch", "Frames", "LinkType", "PacketHeader",
    "Stats", "Direction", "SocketMode", "MAX_CAPLEN",
    "ClusterType", "Flags", "PFRingError", "InvalidArgumentError", "NoPacketAvailableError",
    "NoTxSlotAvailableError", "WrongConfigurationError", "NotSupportedError",
    "NotEnoughMemoryError", "InvalidStatusError", "RingNotEnabledError",
    "BadInterfaceNameError", "UnableToGetInfoError", "MmapError", "PermissionDeniedError",
    "version", "format_number", "parsed_packet_text",
]

_log.install()


def version():
    """The PF_RING API level implemented, e.g. '5.6.2'."""
    v = lib.pfring_version_noring()
    return f"{v >> 16}.{(v >> 8) & 0xff}.{v & 0xff}"
