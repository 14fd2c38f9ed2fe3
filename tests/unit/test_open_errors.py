"""Bad input to Ring() and the error mapping; none of this needs privilege."""
import errno

import pytest

from pcap_pfring import (
    BadInterfaceNameError,
    InvalidArgumentError,
    NotSupportedError,
    PFRingError,
    Ring,
    lib,
)
from pcap_pfring.errors import check, error_class, make_error


@pytest.mark.parametrize("name, exc, text", [
    ("", BadInterfaceNameError, "''"),
    ("eth0,,eth1", BadInterfaceNameError, "eth0,,eth1"),
    ("averyveryverylongname0", BadInterfaceNameError, "too long"),
    ("eth0@", InvalidArgumentError, "eth0@"),
    ("eth0@x", InvalidArgumentError, "eth0@x"),
    ("eth0@70", InvalidArgumentError, "eth0@70"),
    ("eth0.5000", InvalidArgumentError, "5000"),
    ("(eth0", BadInterfaceNameError, "(eth0"),
    ("zc:eth0@1-2,2", InvalidArgumentError, "queue 2 of 'eth0' is listed twice"),
    ("zc:eth0@0,eth0@1", InvalidArgumentError, "cannot mix zc: and standard devices"),
    ("dnacl:1@x", InvalidArgumentError, "dnacluster:ID@APP; the app id is not a number"),
    ("dnacluster:0@0", InvalidArgumentError, "cluster id 0 is out of range"),
    ("bogus:eth0", NotSupportedError, "bogus"),
])
def test_malformed_device_names(name, exc, text):
    with pytest.raises(exc) as info:
        Ring(name)
    assert text in str(info.value)
    assert info.value.code == exc.code


def test_missing_interface():
    with pytest.raises(BadInterfaceNameError, match="no such interface 'nosuchif0'") as info:
        Ring("nosuchif0")
    assert info.value.errno == errno.ENODEV
    assert info.value.code == lib.PF_RING_ERROR_BAD_IFNAME == -13


@pytest.mark.parametrize("caplen", [0, lib.MAX_CAPLEN + 1, 10**6])
def test_caplen_out_of_range(caplen):
    with pytest.raises(InvalidArgumentError, match=f"caplen {caplen} is out of range"):
        Ring("lo", caplen=caplen)


def test_bad_argument_types():
    with pytest.raises(TypeError):
        Ring(b"lo")
    with pytest.raises(TypeError):
        Ring("lo", caplen="100")


def test_hw_timestamp_not_supported():
    with pytest.raises(NotSupportedError, match="hardware timestamps are not supported"):
        Ring("lo", flags=lib.PF_RING_HW_TIMESTAMP)


def test_error_mapping_covers_every_code():
    for code in range(-19, 0):
        exc = make_error(code)
        assert isinstance(exc, PFRingError)
        assert isinstance(exc, OSError)
        assert exc.code == code
        assert str(exc)
    assert error_class(-2) is InvalidArgumentError
    assert issubclass(InvalidArgumentError, ValueError)
    assert check(5) == 5
    assert check(0) == 0
