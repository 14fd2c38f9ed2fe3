"""libpcap-pfring's ABI: the version script lists exactly the system libpcap's
exports plus PF_RING's extensions, and the built libraries export exactly
that list under both of libpcap's sonames."""
import os
import re
import subprocess

import pytest

import pcap_pfring
from pcap_pfring.cli import pfring_run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAP = os.path.join(ROOT, "libpcap-pfring", "libpcap.map")
EXTENSIONS = {"pcap_get_pfring_handle", "pcap_get_pfring_id", "pcap_set_application_name",
              "pcap_set_cluster", "pcap_set_watermark"}


def system_libpcap():
    out = subprocess.run(["gcc", "-print-file-name=libpcap.so.0.8"], capture_output=True,
                         text=True, check=True).stdout.strip()
    return os.path.realpath(out)


def exports(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def map_symbols():
    text = re.sub(r"/\*.*?\*/", "", open(MAP).read(), flags=re.S)
    body = text.split("global:")[1].split("local:")[0]
    return {s.strip() for s in body.split(";") if s.strip()}


def dynamic(path, tag):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True,
                         check=True).stdout
    return [m.group(1) for m in re.finditer(rf"\({tag}\).*\[(.*)\]", out)]


def test_map_is_system_exports_plus_extensions():
    system = exports(system_libpcap())
    assert len(system) >= 90
    assert map_symbols() == system | EXTENSIONS


@pytest.mark.parametrize("soname", ["libpcap.so.0.8", "libpcap.so.1"])
def test_installed_library_exports_exactly_the_map(soname):
    path = os.path.join(pfring_run.libdir(), soname)
    assert exports(path) == map_symbols()
    assert dynamic(path, "SONAME") == [soname]
    assert "libpfring.so.1" in dynamic(path, "NEEDED")
    assert not any(n.startswith("libpcap") for n in dynamic(path, "NEEDED"))


def test_library_finds_the_package_libpfring():
    path = os.path.join(pfring_run.libdir(), "libpcap.so.0.8")
    assert dynamic(path, "RUNPATH") == ["$ORIGIN/../lib"]
    pkg = os.path.dirname(pcap_pfring.__file__)
    assert os.path.exists(os.path.join(pkg, "lib", "libpfring.so.1"))
    out = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if "libpfring.so.1" in x)
    assert os.path.realpath(line.split("=>")[1].split()[0]) == \
        os.path.realpath(os.path.join(pkg, "lib", "libpfring.so.1"))
