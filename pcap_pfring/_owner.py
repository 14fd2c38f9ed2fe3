"""What the libzero objects (DnaCluster, DnaBouncer) share: they own the
Rings given to them.  An owned Ring refuses ``close()`` (the C object's
thread may read it); the C destroy call closes the rings, as PF_RING's does,
and the Rings then become closed without closing them again."""
from ._ffi import ffi


class RingOwner:
    """Base of a Python object over a C handle that owns Rings.  Subclasses
    give ``_tag`` (the name a refused ``Ring.close()`` shows) and
    ``destroy()``, which calls :meth:`_destroy_owned`."""

    _tag = "a libzero object"

    def _own(self, ring):
        ring._holders.append(self._tag)
        self._owned = [*getattr(self, "_owned", ()), ring]   # in the order given

    def _destroy_owned(self, c_destroy, handle):
        """Calls ``c_destroy(handle)`` (not for NULL), then marks the owned
        Rings closed."""
        rings, self._owned = getattr(self, "_owned", []), []
        if handle != ffi.NULL:
            c_destroy(handle)
        for ring in rings:
            ring._holders.remove(self._tag)
            ring._closed_elsewhere()

    def close(self):
        self.destroy()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()
