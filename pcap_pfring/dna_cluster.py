"""The DNA Cluster master (libzero, the 5.6.2 guide's chapter 9.1) in Python.

A :class:`DnaCluster` receives from one or more :class:`~pcap_pfring.Ring`
objects and hands every packet to the slaves of the cluster, programs that
open ``dnacluster:ID@APP`` (``Ring("dnacluster:10@1")``, pfcount, tcpdump
through the drop-in)::

    with Ring("eth0", caplen=2048, promisc=True) as ring, DnaCluster(10, 3) as cluster:
        cluster.register_ring(ring)
        cluster.set_app_groups([2, 1])     # apps 0-1 share per flow, app 2 gets all
        cluster.enable()
        ...
        print(cluster.stats(), cluster.app_stats(2))

In ``SocketMode.SEND_AND_RECV`` or ``SEND_ONLY`` (:meth:`DnaCluster.set_mode`)
the slaves also send: ``Ring("dnacluster:10@1").send(frame)`` queues the frame
in the shared memory and the master's thread puts it on the registered ring
of its ``if_index`` (the first ring for none); :meth:`DnaCluster.app_tx_stats`
counts what was sent and dropped per app.

Everything a cluster does, the distribution included, is libpfring's
(``dna_cluster_*`` in pfring.h); the packets never pass through Python.
This module is a thin wrapper: it turns return codes into
:class:`~pcap_pfring.errors.PFRingError` with the library's message, and
keeps each registered Ring open until the cluster closes it.
"""
from __future__ import annotations

import enum
import typing

from ._ffi import ffi, lib
from ._owner import RingOwner
from .errors import make_error
from .ring import Ring, SocketMode

__all__ = ["MAX_APPS", "MAX_ID", "MAX_RINGS", "QUEUE_SLOTS", "BUFFER_SIZE", "AppStats",
           "AppTxStats", "ClusterFlags", "ClusterStats", "DnaCluster"]

MAX_APPS: int = lib.DNA_CLUSTER_MAX_APPS
MAX_ID: int = lib.DNA_CLUSTER_MAX_ID
MAX_RINGS: int = lib.DNA_CLUSTER_MAX_RINGS
QUEUE_SLOTS: int = lib.DNA_CLUSTER_QUEUE_SLOTS
BUFFER_SIZE: int = lib.DNA_CLUSTER_BUFFER_SIZE


class ClusterFlags(enum.IntFlag):
    """``dna_cluster_create``'s flags (pfring.h says what each does here)."""
    NONE = 0
    DIRECT_FORWARDING = lib.DNA_CLUSTER_DIRECT_FORWARDING
    NO_ADDITIONAL_BUFFERS = lib.DNA_CLUSTER_NO_ADDITIONAL_BUFFERS
    HUGEPAGES = lib.DNA_CLUSTER_HUGEPAGES
    DCA = lib.DNA_CLUSTER_DCA
    TIME_PULSE_THREAD = lib.DNA_CLUSTER_TIME_PULSE_THREAD


class ClusterStats(typing.NamedTuple):
    """``dna_cluster_stats`` (``pfring_dna_cluster_stat``): packets received
    from the rings, frames the slaves sent (send_only / send_and_recv mode),
    and packets given to at least one app."""
    rx: int
    tx: int
    rx_processed: int


class AppStats(typing.NamedTuple):
    """``dna_cluster_app_stats``: packets queued for one app, and dropped for
    it (its queue full, or no slave attached)."""
    delivered: int
    dropped: int


class AppTxStats(typing.NamedTuple):
    """``dna_cluster_app_tx_stats``: frames of one app's slave sent on an
    egress ring, and dropped (no registered ring with their if_index, the
    ring refused them, or the slave died before they were sent)."""
    sent: int
    dropped: int


def _error(code):
    text = ffi.string(lib.dna_cluster_last_error()).decode("utf-8", "replace")
    return make_error(code, text)


def _check(rc):
    if rc < 0:
        raise _error(rc)
    return rc


def _u32(name, value):
    if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise make_error(lib.PF_RING_ERROR_INVALID_ARGUMENT,
                         f"{name} must be an integer in 0..4294967295, not {value!r}")
    return value


class DnaCluster(RingOwner):
    """Master of DNA cluster ``cluster_id`` (1..MAX_ID) for ``num_apps``
    apps (1..MAX_APPS).  ``flags``: :class:`ClusterFlags` (pfring.h says
    what each does; DIRECT_FORWARDING lets a C distribution function
    forward packets out of the registered rings).
    A second master for a live id raises; the memory of a master that died
    is taken over."""

    NO_CORE: int = lib.DNA_CLUSTER_NO_CORE

    def __init__(self, cluster_id: int, num_apps: int, flags: int = ClusterFlags.NONE):
        self._c = ffi.NULL
        handle = lib.dna_cluster_create(_u32("cluster_id", cluster_id),
                                        _u32("num_apps", num_apps), _u32("flags", int(flags)))
        if handle == ffi.NULL:
            raise _error(lib.dna_cluster_last_error_code() or lib.PF_RING_ERROR_GENERIC)
        self._c = handle
        self.cluster_id = cluster_id
        self.num_apps = num_apps
        self._tag = f"DNA cluster {cluster_id}"

    def _h(self):
        if self._c == ffi.NULL:
            raise make_error(lib.PF_RING_ERROR_INVALID_STATUS,
                             "DNA cluster used after destroy()")
        return self._c

    # -- set-up (before enable) -----------------------------------------------

    def register_ring(self, ring: Ring) -> None:
        """Receive from ``ring`` too (up to MAX_RINGS, before :meth:`enable`).
        The cluster enables it, and :meth:`destroy` closes it."""
        if not isinstance(ring, Ring):
            raise make_error(lib.PF_RING_ERROR_INVALID_ARGUMENT,
                             f"register_ring takes a Ring, not {type(ring).__name__}")
        _check(lib.dna_cluster_register_ring(self._h(), ring._h()))
        self._own(ring)

    def low_level_settings(self, slave_rx_queue_len: int, slave_tx_queue_len: int = 0,
                           slave_additional_buffers: int = 0) -> None:
        """Each app's queue holds ``slave_rx_queue_len`` packets (a power of
        two), its TX queue ``slave_tx_queue_len`` frames (0: QUEUE_SLOTS) and
        it has ``slave_additional_buffers`` TX buffers more; before the first
        :meth:`enable` and before slaves join."""
        _check(lib.dna_cluster_low_level_settings(
            self._h(), _u32("slave_rx_queue_len", slave_rx_queue_len),
            _u32("slave_tx_queue_len", slave_tx_queue_len),
            _u32("slave_additional_buffers", slave_additional_buffers)))

    def set_cpu_affinity(self, rx_core_id: int, tx_core_id: int = NO_CORE) -> None:
        """Bind the master's one thread: to core ``rx_core_id`` if the
        cluster receives (every mode but SEND_ONLY), to ``tx_core_id`` if it
        transmits the slaves' frames (SEND_ONLY, SEND_AND_RECV), so to both
        in SEND_AND_RECV; NO_CORE adds no core, and with none it is unbound."""
        _check(lib.dna_cluster_set_cpu_affinity(self._h(), _u32("rx_core_id", rx_core_id),
                                                _u32("tx_core_id", tx_core_id)))

    def set_mode(self, mode: SocketMode) -> None:
        """RECV_ONLY (the default): slaves receive; SEND_AND_RECV: they also
        send (``Ring.send`` on ``dnacluster:ID@APP``), the master puts their
        frames on its rings; SEND_ONLY: they only send, the master does not
        receive.  Switching to or from RECV_ONLY remakes the shared memory:
        before the first :meth:`enable` and before slaves join."""
        _check(lib.dna_cluster_set_mode(self._h(), int(SocketMode(mode))))

    def set_wait_mode(self, active: bool) -> None:
        """True: the master and its slaves poll without sleeping; False (the
        default): they sleep until packets come."""
        _check(lib.dna_cluster_set_wait_mode(self._h(), 1 if active else 0))

    def set_app_groups(self, instances: typing.Sequence[int]) -> None:
        """Apps in groups, as ``pfbalance -n 2,1``: ``instances[g]`` apps per
        group, in order, summing to ``num_apps``.  Every group gets every
        packet; the apps of a group share it per flow."""
        sizes = list(instances)
        if not all(isinstance(n, int) and 0 <= n <= 0xFFFFFFFF for n in sizes):
            raise make_error(lib.PF_RING_ERROR_INVALID_ARGUMENT,
                             f"app groups must be instance counts, not {sizes!r}")
        _check(lib.dna_cluster_set_app_groups(self._h(), ffi.new("u_int32_t[]", sizes),
                                              len(sizes)))

    def set_default_distribution(self) -> None:
        """Back to the guide's bidirectional flow hash (undoes app groups)."""
        _check(lib.dna_cluster_set_distribution_function(self._h(), ffi.NULL))

    # -- running ----------------------------------------------------------------

    def enable(self) -> None:
        """Start distributing (the library's thread; needs a registered ring)."""
        _check(lib.dna_cluster_enable(self._h()))

    def disable(self) -> None:
        """Stop distributing; the slaves stay attached and wait."""
        _check(lib.dna_cluster_disable(self._h()))

    def stats(self) -> ClusterStats:
        out = ffi.new("pfring_dna_cluster_stat *")
        _check(lib.dna_cluster_stats(self._h(), out))
        return ClusterStats(out.tot_rx_packets, out.tot_tx_packets, out.tot_rx_processed)

    def app_stats(self, app: int) -> AppStats:
        out = ffi.new("u_int64_t[2]")
        _check(lib.dna_cluster_app_stats(self._h(), _u32("app", app), out + 0, out + 1))
        return AppStats(out[0], out[1])

    def app_tx_stats(self, app: int) -> AppTxStats:
        out = ffi.new("u_int64_t[2]")
        _check(lib.dna_cluster_app_tx_stats(self._h(), _u32("app", app), out + 0, out + 1))
        return AppTxStats(out[0], out[1])

    # -- life cycle -----------------------------------------------------------

    @property
    def destroyed(self) -> bool:
        return self._c == ffi.NULL

    def destroy(self) -> None:
        """Stop, tell the slaves (their next receive fails), remove the
        shared memory, and close the registered rings (as PF_RING's
        ``dna_cluster_destroy`` does).  Destroying twice is harmless."""
        handle, self._c = self._c, ffi.NULL
        self._destroy_owned(lib.dna_cluster_destroy, handle)

    def __del__(self):
        if getattr(self, "_c", ffi.NULL) != ffi.NULL:
            self.destroy()

    def __repr__(self):
        state = "destroyed" if self.destroyed else f"{self.num_apps} apps"
        return f"<DnaCluster {getattr(self, 'cluster_id', '?')} {state}>"
