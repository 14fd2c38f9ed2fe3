"""PF_RING's libpcap environment variables, parsed by libpfring (the same
code the libpcap drop-in uses): ``parse()`` returns what they ask for, and
``open_ring()`` opens a ring the way the drop-in does under them (used by
the scapy sockets and the pcapy module)."""
import os
import sys

from ._ffi import ffi, lib
from .errors import NotSupportedError, PFRingError, check, make_error
from .ring import ClusterType, Flags, Ring, SocketMode


class PcapEnv:
    """The PCAP_NO_PF_RING / PCAP_PF_RING_* settings of this process."""

    __slots__ = ("no_pf_ring", "active_poll", "open_flags", "recv_only", "rss_rehash",
                 "always_sync_fd", "cluster_id", "cluster_type", "appname")

    def __repr__(self):
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"PcapEnv({fields})"


def parse():
    """Parse the environment now (warnings for malformed values go to stderr)."""
    c = ffi.new("struct pfring_pcap_env *")
    check(lib.pfring_parse_pcap_env(c))
    env = PcapEnv()
    env.no_pf_ring = bool(c.no_pf_ring)
    env.active_poll = bool(c.active_poll)
    env.open_flags = c.open_flags
    env.recv_only = bool(c.recv_only)
    env.rss_rehash = bool(c.rss_rehash)
    env.always_sync_fd = bool(c.always_sync_fd)
    env.cluster_id = c.cluster_id
    env.cluster_type = ClusterType(c.cluster_type) if c.cluster_id else None
    env.appname = ffi.string(c.appname).decode("utf-8", "surrogateescape") or None
    return env


def default_appname():
    """The application name of rings opened without PCAP_PF_RING_APPNAME:
    the running script's file name (the interpreter's for ``-c`` and the
    prompt)."""
    arg0 = sys.argv[0] if sys.argv else ""
    if arg0 in ("", "-c", "-m", "-"):
        return os.path.basename(sys.executable) or "python"
    return os.path.basename(arg0)


def _stderr(text):
    print(f"pcap-pfring: {text}", file=sys.stderr)


def open_ring(device, caplen, promisc=False, listen=True, warn=_stderr, penv=None):
    """A ring on ``device`` set up as the libpcap drop-in sets up its rings,
    from ``penv`` (default: :func:`parse` now); not enabled yet.

    Open flags: PF_RING_TIMESTAMP plus the variables' flags (without
    HW_TIMESTAMP, and a warning, where the NIC has none); poll watermark 1;
    the application name (default :func:`default_appname`).  ``listen``
    rings also get recv-only mode, the cluster (an error names the
    variable) and RSS re-hash (a warning if the ring cannot)."""
    penv = parse() if penv is None else penv
    flags = Flags.TIMESTAMP | penv.open_flags
    try:
        ring = Ring(device, caplen, flags, promisc)
    except NotSupportedError:
        if not flags & Flags.HW_TIMESTAMP:
            raise
        warn(f"PCAP_PF_RING_HW_TIMESTAMP: {device} has no hardware time stamps; "
             "using software time stamps")
        ring = Ring(device, caplen, flags & ~Flags.HW_TIMESTAMP, promisc)
    try:
        ring.set_poll_watermark(1)
        if listen and penv.recv_only:
            ring.set_socket_mode(SocketMode.RECV_ONLY)
        if listen and penv.cluster_id:
            try:
                ring.set_cluster(penv.cluster_id, penv.cluster_type)
            except PFRingError as exc:
                raise make_error(exc.code, f"PCAP_PF_RING_CLUSTER_ID={penv.cluster_id}: "
                                           f"{exc}") from None
        ring.set_application_name(penv.appname or default_appname())
        if listen and penv.rss_rehash:
            try:
                ring.enable_rss_rehash()
            except PFRingError as exc:
                warn(f"PCAP_PF_RING_RSS_REHASH: {exc}")
    except BaseException:
        ring.close()
        raise
    return ring
