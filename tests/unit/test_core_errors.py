"""One table of PF_RING_ERROR_* codes, in libpfring: the Python exceptions
take their errno and default text from it (pfring_error_errno and
pfring_strerror), and C sets the same errno when a call fails."""
import errno

import pytest

from pcap_pfring import errors, ffi, lib
from pcap_pfring.errors import check, error_class, make_error

# Every code of pfring.h, with the class it raises.
CODES = {
    "GENERIC": errors.PFRingError,
    "INVALID_ARGUMENT": errors.InvalidArgumentError,
    "NO_PKT_AVAILABLE": errors.NoPacketAvailableError,
    "NO_TX_SLOT_AVAILABLE": errors.NoTxSlotAvailableError,
    "WRONG_CONFIGURATION": errors.WrongConfigurationError,
    "END_OF_DEMO_MODE": errors.PFRingError,
    "NOT_SUPPORTED": errors.NotSupportedError,
    "INVALID_LIB_VERSION": errors.PFRingError,
    "UNKNOWN_ADAPTER": errors.PFRingError,
    "NOT_ENOUGH_MEMORY": errors.NotEnoughMemoryError,
    "INVALID_STATUS": errors.InvalidStatusError,
    "RING_NOT_ENABLED": errors.RingNotEnabledError,
    "BAD_IFNAME": errors.BadInterfaceNameError,
    "MOD_NOT_LOADED": errors.PFRingError,
    "UNABLE_TO_MAP": errors.PFRingError,
    "UNABLE_TO_GET_INFO": errors.UnableToGetInfoError,
    "MMAP_FAILURE": errors.MmapError,
    "INIT_FAILURE": errors.PFRingError,
    "PERMISSION_DENIED": errors.PermissionDeniedError,
}


def code_of(name):
    return getattr(lib, f"PF_RING_ERROR_{name}")


def test_every_code_is_listed():
    assert sorted(code_of(n) for n in CODES) == list(range(-19, 0))


@pytest.mark.parametrize("name", sorted(CODES))
def test_exception_matches_the_c_table(name):
    code = code_of(name)
    c_errno = lib.pfring_error_errno(code)
    c_text = ffi.string(lib.pfring_strerror(code)).decode()
    assert c_errno > 0 and c_text not in ("", "unknown error")
    exc = make_error(code)
    assert type(exc) is CODES[name] is error_class(code)
    assert (exc.code, exc.errno, str(exc)) == (code, c_errno, c_text)
    assert isinstance(exc, OSError) and exc.args == (c_errno, c_text)
    with pytest.raises(CODES[name]) as info:
        check(code)
    assert (info.value.code, info.value.errno) == (code, c_errno)
    # a class built without an errno takes its code's
    assert CODES[name]("x", code=code).errno == c_errno


@pytest.mark.parametrize("name, value", [
    ("INVALID_ARGUMENT", errno.EINVAL), ("NOT_SUPPORTED", errno.EOPNOTSUPP),
    ("NOT_ENOUGH_MEMORY", errno.ENOMEM), ("BAD_IFNAME", errno.ENODEV),
    ("RING_NOT_ENABLED", errno.ENETDOWN), ("WRONG_CONFIGURATION", errno.ENETDOWN),
    ("PERMISSION_DENIED", errno.EPERM), ("INVALID_STATUS", errno.EBADF),
    ("NO_PKT_AVAILABLE", errno.EAGAIN), ("NO_TX_SLOT_AVAILABLE", errno.ENOBUFS),
    ("GENERIC", errno.EIO),
])
def test_the_choices(name, value):
    assert lib.pfring_error_errno(code_of(name)) == value


def test_success_and_unknown_codes():
    assert lib.pfring_error_errno(0) == 0
    assert ffi.string(lib.pfring_strerror(0)) == b"success"
    for code in (-20, -1000, 5):
        assert lib.pfring_error_errno(code) == errno.EIO
        assert ffi.string(lib.pfring_strerror(code)) == b"unknown error"
        assert make_error(code).errno == errno.EIO


def test_c_sets_the_tables_errno_on_failure():
    # a malformed device name: no privilege needed, no system call's errno
    ffi.errno = 0
    assert lib.pfring_open(b"eth0,,eth1", 128, 0) == ffi.NULL
    code = lib.pfring_last_open_error_code()
    assert code == lib.PF_RING_ERROR_BAD_IFNAME
    assert ffi.errno == lib.pfring_error_errno(code) == errno.ENODEV
