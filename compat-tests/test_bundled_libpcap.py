"""Programs that bring a libpcap of their own do not use the drop-in, and
pfring-run says so: its LD_AUDIT module (libpcap-pfring/src/audit/audit.c)
names the first such library a process maps, in one line on stderr.

The pcapy-ng wheel from PyPI (unpacked, not installed, under
build/compat/pcapy-wheel by make setup) vendors
pcapy_ng.libs/libpcap-<hash>.so.1.9.1; the pcapy-ng that make setup builds
from the sdist links the system soname and gets the drop-in, without a
warning."""
import glob
import os
import shutil
import subprocess
import sys

import pytest

from pcap_pfring.cli import pfring_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEEL = os.path.join(ROOT, "build", "compat", "pcapy-wheel")
TAIL = ("its captures do not go through PF_RING rings (for the pcapy-ng wheel: pip install "
        "--no-binary pcapy-ng pcapy-ng builds one that uses the system libpcap)")
PFRING_RUN = os.path.join(os.path.dirname(sys.executable), "pfring-run")
IMPORT_PCAPY = "import pcapy, sys; sys.stdout.write(pcapy.__file__)"


def run(cmd, extra_env=None, **kw):
    """cmd under the `pfring-run` console script."""
    env = dict(os.environ)
    env.pop("PFRING_RUN_AUDIT", None)
    env.pop("LD_AUDIT", None)
    env.update(extra_env or {})
    return subprocess.run([PFRING_RUN, *cmd], env=env,
                          capture_output=True, text=True, timeout=60, **kw)


def comm_of(executable):
    """The kernel's name of a process that runs executable (/proc/PID/comm)."""
    return os.path.basename(executable)[:15]


def wheel_libpcap():
    found = glob.glob(os.path.join(WHEEL, "pcapy_ng.libs", "libpcap-*.so*"))
    assert len(found) == 1, f"make setup unpacks the pcapy-ng wheel into {WHEEL}"
    return found[0]


def test_the_audit_module_is_installed_and_pfring_run_loads_it():
    audit = pfring_run.audit_module()
    assert os.path.isfile(audit)
    env = pfring_run.environment(pfring_run.build_parser().parse_args(["true"]),
                                 {"LD_AUDIT": "/other/audit.so"})
    assert env["LD_AUDIT"] == f"{audit}:/other/audit.so"
    env = pfring_run.environment(pfring_run.build_parser().parse_args(["true"]), {})
    assert env["LD_AUDIT"] == audit
    env = pfring_run.environment(pfring_run.build_parser().parse_args(["true"]),
                                 {"PFRING_RUN_AUDIT": "0"})
    assert "LD_AUDIT" not in env


def test_the_pcapy_ng_wheel_is_named_once():
    lib = wheel_libpcap()
    res = run([sys.executable, "-c", IMPORT_PCAPY + "; import pcapy; pcapy.findalldevs()"],
              {"PYTHONPATH": WHEEL})
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(WHEEL + os.sep)          # the wheel's pcapy, not the venv's
    assert res.stderr == (f"pfring-run: {comm_of(sys.executable)} loaded its own libpcap, "
                          f"{lib}: {TAIL}\n")


def test_quiet_variable_silences_it():
    res = run([sys.executable, "-c", IMPORT_PCAPY], {"PYTHONPATH": WHEEL,
                                                     "PFRING_RUN_AUDIT": "quiet"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(WHEEL + os.sep)
    assert res.stderr == ""


def test_pcapy_built_on_the_system_soname_is_not_named():
    pytest.importorskip("pcapy", reason="make setup builds pcapy-ng into .venv")
    res = run([sys.executable, "-c", IMPORT_PCAPY + "; import pcapy; pcapy.findalldevs()"])
    assert res.returncode == 0, res.stderr
    assert not res.stdout.startswith(WHEEL)
    assert res.stderr == ""


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_tcpdump_on_the_drop_in_is_not_named():
    """The drop-in and the system libpcap that it loads itself are no one's
    own libpcap."""
    res = run(["tcpdump", "--version"])
    assert res.returncode == 0, res.stderr
    assert "pcap-pfring" in res.stdout
    assert "own libpcap" not in res.stdout + res.stderr


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_a_program_with_an_rpath_to_a_private_libpcap_is_named(tmp_path):
    """A libpcap under the system's soname, but from a private directory that
    the program's DT_RPATH puts before LD_LIBRARY_PATH."""
    private = tmp_path / "private"
    private.mkdir()
    system = subprocess.run([sys.executable, "-c",
                             "import ctypes.util; print(ctypes.util.find_library('pcap'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    real = None
    for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib", "/lib"):
        if os.path.exists(os.path.join(d, system)):
            real = os.path.realpath(os.path.join(d, system))
            break
    assert real, f"the system libpcap ({system}) is installed (make setup)"
    shutil.copy(real, private / "libpcap.so.0.8")
    os.symlink("libpcap.so.0.8", private / "libpcap.so")
    src = tmp_path / "v.c"
    src.write_text('#include <pcap/pcap.h>\n#include <stdio.h>\n'
                   'int main(void) { puts(pcap_lib_version()); return 0; }\n')
    exe = tmp_path / "v"
    subprocess.run(["gcc", "-o", str(exe), str(src), f"-L{private}", "-lpcap",
                    f"-Wl,-rpath,{private}", "-Wl,--disable-new-dtags"], check=True)
    res = run([str(exe)])
    assert res.returncode == 0, res.stderr
    assert "pcap-pfring" not in res.stdout               # the private copy answered
    assert res.stderr == (f"pfring-run: v loaded its own libpcap, {private}/libpcap.so.0.8: "
                          f"{TAIL}\n")
