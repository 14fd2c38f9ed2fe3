"""PF_RING's libpcap environment variables, parsed by libpfring (the same
code the libpcap drop-in uses): ``parse()`` returns what they ask for."""
from ._ffi import ffi, lib
from .errors import check
from .ring import ClusterType


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
