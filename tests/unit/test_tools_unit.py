"""Tool option parsing and frame building; no privilege needed."""
import ipaddress
import struct

import pytest

from pcap_pfring.cli import _common, pfcount, pfdump, pfring_info, pfsend


@pytest.mark.parametrize("mod", [pfcount, pfsend, pfdump, pfring_info])
def test_help(mod, capsys):
    with pytest.raises(SystemExit) as e:
        mod.build_parser().parse_args(["--help"])
    assert e.value.code == 0
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("mod, argv", [
    (pfcount, ["--bogus"]), (pfcount, ["-H", "14"]), (pfcount, ["-e", "3"]),
    (pfcount, ["-N", "x"]), (pfsend, ["-n", "many"]), (pfdump, []),
])
def test_usage_errors_exit_2(mod, argv):
    with pytest.raises(SystemExit) as e:
        mod.build_parser().parse_args(argv)
    assert e.value.code == 2


def test_missing_interface_is_one_line(capsys):
    assert pfcount.main(["-i", "nosuchif9", "-d", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["pfcount: no such interface 'nosuchif9'"]


def test_bad_frame_length(capsys):
    with pytest.raises(ValueError, match="below the minimum of 60"):
        pfsend.build_frames(59, b"\x02" * 6, b"\x04" * 6, "10.0.0.1", "10.0.0.2")


def test_frames_have_distinct_flows_and_valid_checksums():
    frames = pfsend.build_frames(64, b"\x02" * 6, b"\x04" * 6, "10.0.0.1", "192.168.0.1",
                                 num_src=4, num_dst=3, num_ports=2)
    assert len(frames) == 24
    assert all(len(f) == 64 for f in frames)
    flows = set()
    for f in frames:
        ip = f[14:34]
        assert pfsend.ip_checksum(ip) == 0                    # checksum verifies
        src, dst = ipaddress.IPv4Address(ip[12:16]), ipaddress.IPv4Address(ip[16:20])
        sport, dport, ulen, _ = struct.unpack("!HHHH", f[34:42])
        assert ulen == 64 - 14 - 20
        flows.add((src, dst, sport, dport))
    assert len(flows) == 24
    assert min(f[0] for f in flows) == ipaddress.IPv4Address("10.0.0.1")


def test_number_format():
    assert _common.fmt(1234567) == "1'234'567"
    assert _common.fmt(2764.36, True) == "2'764.36"
    assert _common.fmt(0) == "0"
    assert _common.fmt(999) == "999"
    assert _common.fmt(1000) == "1'000"
    assert _common.fmt(-1234.5, True) == "-1'234.50"
