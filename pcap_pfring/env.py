"""PF_RING's libpcap environment variables, parsed by libpfring (the same
code the libpcap drop-in uses): ``parse()`` returns what they ask for, and
``open_ring()`` opens a ring the way the drop-in does under them (used by
the scapy sockets and the pcapy module)."""
import os
import sys

from ._ffi import ffi, lib
from .errors import check, make_error
from .ring import ClusterType, Ring, check_open_args


class PcapEnv:
    """The PCAP_NO_PF_RING / PCAP_PF_RING_* settings of this process."""

    __slots__ = ("no_pf_ring", "active_poll", "open_flags", "recv_only", "rss_rehash",
                 "always_sync_fd", "cluster_id", "cluster_type", "appname")

    def __repr__(self):
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"PcapEnv({fields})"


def parse():
    """Parse the environment now (malformed values: warnings through libpfring's
    print callback)."""
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


def _c_env(penv):
    """``penv`` (a :class:`PcapEnv`) as libpfring's struct."""
    c = ffi.new("struct pfring_pcap_env *")
    c.no_pf_ring = bool(penv.no_pf_ring)
    c.active_poll = bool(penv.active_poll)
    c.open_flags = int(penv.open_flags)
    c.recv_only = bool(penv.recv_only)
    c.rss_rehash = bool(penv.rss_rehash)
    c.always_sync_fd = bool(penv.always_sync_fd)
    c.cluster_id = penv.cluster_id or 0
    c.cluster_type = int(penv.cluster_type) if penv.cluster_id else 0
    c.appname = (penv.appname or "").encode("utf-8", "surrogateescape")
    return c


def _opts(promisc, listen):
    """struct pfring_pcap_open for a call, and the name it points to (keep
    it alive as long as the struct)."""
    opts = ffi.new("struct pfring_pcap_open *")
    opts.size = ffi.sizeof("struct pfring_pcap_open")
    opts.promisc = bool(promisc)
    opts.listen = bool(listen)
    app = ffi.new("char[]", default_appname().encode("utf-8", "surrogateescape"))
    opts.default_appname = app
    return opts, app


def plan(device, promisc=False, listen=True, penv=None):
    """What :func:`open_ring` does on ``device`` (libpfring's
    ``pfring_pcap_env_plan``, the rules of ``pfring_open_pcap_env``): a dict
    with the open ``flags``, the ``retry_flags`` after a NIC without
    hardware time stamps (0: no retry), ``poll_watermark``, ``recv_only``,
    ``cluster_id``, ``cluster_type``, ``rss_rehash`` and ``appname``."""
    check_open_args(device)
    penv = parse() if penv is None else penv
    opts, _app = _opts(promisc, listen)
    c = ffi.new("struct pfring_pcap_ring_plan *")
    check(lib.pfring_pcap_env_plan(device.encode("utf-8", "surrogateescape"), _c_env(penv),
                                   opts, c))
    return {
        "flags": c.flags, "retry_flags": c.retry_flags, "poll_watermark": c.poll_watermark,
        "recv_only": bool(c.recv_only), "cluster_id": c.cluster_id,
        "cluster_type": ClusterType(c.cluster_type) if c.cluster_id else None,
        "rss_rehash": bool(c.rss_rehash),
        "appname": ffi.string(c.appname).decode("utf-8", "surrogateescape"),
    }


@ffi.def_extern()
def pp_env_warn(level, msg, user):
    """opts.print of open_ring(warn=...): the warning to the caller's callable."""
    try:
        ffi.from_handle(user)(ffi.string(msg).decode("utf-8", "replace"))
    except BaseException:       # never into C
        pass


def open_ring(device, caplen, promisc=False, listen=True, warn=None, penv=None):
    """A ring on ``device`` set up as the libpcap drop-in sets up its rings,
    from ``penv`` (default: :func:`parse` now); not enabled yet.

    Both are libpfring's ``pfring_open_pcap_env`` (see :func:`plan` for
    its decisions): PF_RING_TIMESTAMP plus the variables' flags and
    PF_RING_PROMISC (not on ``any``), without HW_TIMESTAMP and with a
    warning where the NIC has none; poll watermark 1; for ``listen`` rings
    recv-only mode, the cluster (an error names the variable) and RSS
    re-hash (a warning if the ring cannot); the application name (default
    :func:`default_appname`).  Warnings go to ``warn`` (a callable taking
    the text), or else through libpfring's print callback (the logger
    "pcap_pfring")."""
    check_open_args(device, caplen)
    opts, _app = _opts(promisc, listen)
    keep = None
    if warn is not None:
        keep = ffi.new_handle(warn)
        opts.print = lib.pp_env_warn
        opts.print_user = keep
    res = ffi.new("struct pfring_pcap_open_result *")
    c_env = ffi.NULL if penv is None else _c_env(penv)
    handle = lib.pfring_open_pcap_env(device.encode("utf-8", "surrogateescape"), caplen, c_env,
                                      opts, res)
    del keep
    if handle == ffi.NULL:
        raise make_error(res.rc or lib.PF_RING_ERROR_GENERIC,
                         ffi.string(res.errbuf).decode("utf-8", "replace"))
    return Ring._adopt(handle, device, caplen, res.flags)
