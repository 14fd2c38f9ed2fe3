"""Build glue: the C library first (make lib), then the cffi extension.

`pip install .` produces four things: libpfring.so with pfring.h (installed
inside the package, under pcap_pfring/lib and pcap_pfring/include), the
libpcap drop-in (pcap_pfring/libpcap: libpcap.so.0.8, libpcap.so.1 and the
libpcap.so link for -lpcap; it finds libpfring through $ORIGIN/../lib), the
cffi extension pcap_pfring._pfring linked against libpfring, and the CLI
tools.  Beside the package, at the top of site-packages: the module
_pcap_pfring_autoload and pcap-pfring-autoload.pth, which activates it at
interpreter start when a PCAP_PF_RING_* variable is set (scapy scripts on
rings with no change).
"""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
AUTOLOAD_PTH = "pcap-pfring-autoload.pth"


class BuildPyWithLib(build_py):
    def run(self):
        subprocess.check_call(["make", "-C", ROOT, "--no-print-directory", "lib"])
        super().run()
        pkg = os.path.join(self.build_lib, "pcap_pfring")
        for src, sub, names in (("lib", "lib", ["libpfring.so.1", "pfring-xdp-reaper"]),
                                ("include", "include", ["pfring.h"]),
                                ("libpcap-pfring", "libpcap", ["libpcap.so.0.8", "libpcap.so.1",
                                                                  "pcap-pfring-audit.so"])):
            os.makedirs(os.path.join(pkg, sub), exist_ok=True)
            for name in names:
                shutil.copy2(os.path.join(ROOT, "build", src, name), os.path.join(pkg, sub, name))
        link = os.path.join(pkg, "libpcap", "libpcap.so")
        if os.path.lexists(link):
            os.remove(link)
        os.symlink("libpcap.so.0.8", link)
        # A .pth file is only read at the top of site-packages.
        shutil.copy2(os.path.join(ROOT, AUTOLOAD_PTH), os.path.join(self.build_lib, AUTOLOAD_PTH))


setup(
    cffi_modules=["pcap_pfring/_cffi_src/build_pfring.py:ffi"],
    cmdclass={"build_py": BuildPyWithLib},
)
