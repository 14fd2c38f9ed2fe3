"""Exceptions: one class per PF_RING_ERROR_* code, all ``PFRingError(OSError)``.

``check(rc, ring)`` is the single translator from a C return value to ``None``
or an exception carrying ``.code``, ``.errno`` and the library's message.
The errno and the default text of each code come from libpfring's one table
(``pfring_error_errno`` and ``pfring_strerror``); this module only picks the
class.
"""
from ._ffi import ffi, lib


def code_errno(code):
    """The errno of a PF_RING_ERROR_* code, from libpfring's table."""
    return lib.pfring_error_errno(code)


def code_text(code):
    """The short description of a PF_RING_ERROR_* code, from libpfring's table."""
    return ffi.string(lib.pfring_strerror(code)).decode()


class PFRingError(OSError):
    """A libpfring call failed."""

    code = lib.PF_RING_ERROR_GENERIC

    def __init__(self, message, code=None, errno=None):
        if code is not None:
            self.code = code
        super().__init__(errno if errno is not None else code_errno(self.code), message)
        self.message = message

    def __str__(self):
        return self.message


class InvalidArgumentError(PFRingError, ValueError):
    """An argument was rejected (PF_RING_ERROR_INVALID_ARGUMENT)."""
    code = lib.PF_RING_ERROR_INVALID_ARGUMENT


class NoPacketAvailableError(PFRingError):
    """No packet is available (PF_RING_ERROR_NO_PKT_AVAILABLE)."""
    code = lib.PF_RING_ERROR_NO_PKT_AVAILABLE


class NoTxSlotAvailableError(PFRingError):
    """The transmit queue is full (PF_RING_ERROR_NO_TX_SLOT_AVAILABLE)."""
    code = lib.PF_RING_ERROR_NO_TX_SLOT_AVAILABLE


class WrongConfigurationError(PFRingError):
    """The device or ring is not in a usable state, e.g. down (PF_RING_ERROR_WRONG_CONFIGURATION)."""
    code = lib.PF_RING_ERROR_WRONG_CONFIGURATION


class NotSupportedError(PFRingError):
    """The operation is not supported here (PF_RING_ERROR_NOT_SUPPORTED)."""
    code = lib.PF_RING_ERROR_NOT_SUPPORTED


class NotEnoughMemoryError(PFRingError, MemoryError):
    """Memory could not be allocated (PF_RING_ERROR_NOT_ENOUGH_MEMORY)."""
    code = lib.PF_RING_ERROR_NOT_ENOUGH_MEMORY


class InvalidStatusError(PFRingError):
    """The ring is in the wrong state, e.g. closed (PF_RING_ERROR_INVALID_STATUS)."""
    code = lib.PF_RING_ERROR_INVALID_STATUS


class RingNotEnabledError(PFRingError):
    """The ring has not been enabled (PF_RING_ERROR_RING_NOT_ENABLED)."""
    code = lib.PF_RING_ERROR_RING_NOT_ENABLED


class BadInterfaceNameError(PFRingError):
    """The device name is malformed or names no interface (PF_RING_ERROR_BAD_IFNAME)."""
    code = lib.PF_RING_ERROR_BAD_IFNAME


class UnableToGetInfoError(PFRingError):
    """Device information could not be read (PF_RING_ERROR_UNABLE_TO_GET_INFO)."""
    code = lib.PF_RING_ERROR_UNABLE_TO_GET_INFO


class MmapError(PFRingError):
    """The ring could not be mapped (PF_RING_ERROR_MMAP_FAILURE)."""
    code = lib.PF_RING_ERROR_MMAP_FAILURE


class PermissionDeniedError(PFRingError, PermissionError):
    """The caller lacks a capability such as CAP_NET_RAW (PF_RING_ERROR_PERMISSION_DENIED)."""
    code = lib.PF_RING_ERROR_PERMISSION_DENIED


_BY_CODE = {
    cls.code: cls
    for cls in (InvalidArgumentError, NoPacketAvailableError, NoTxSlotAvailableError,
                WrongConfigurationError, NotSupportedError, NotEnoughMemoryError,
                InvalidStatusError, RingNotEnabledError, BadInterfaceNameError,
                UnableToGetInfoError, MmapError, PermissionDeniedError)
}

def error_class(code):
    """The exception class for a PF_RING_ERROR_* code."""
    return _BY_CODE.get(code, PFRingError)


def make_error(code, message=None):
    """An exception instance for ``code`` with ``message`` (or the generic text)."""
    if not message:
        message = code_text(code)
    return error_class(code)(message, code=code, errno=code_errno(code))


def check(rc, ring=None):
    """Return ``rc`` if it is not negative, else raise the matching PFRingError.

    ``ring`` is the cdata handle the call was made on (None for pfring_open),
    whose error buffer holds the message.
    """
    if rc >= 0:
        return rc
    if ring is None:
        text = lib.pfring_last_open_error()
    else:
        text = lib.pfring_last_error(ring)
    message = ffi.string(text).decode("utf-8", "surrogateescape") if text else ""
    raise make_error(rc, message)
