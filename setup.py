"""Build glue: the C library first (make lib), then the cffi extension.

`pip install .` produces three things: libpfring.so with pfring.h (installed
inside the package, under pcap_pfring/lib and pcap_pfring/include), the cffi
extension pcap_pfring._pfring linked against it, and the CLI tools.
"""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithLib(build_py):
    def run(self):
        subprocess.check_call(["make", "-C", ROOT, "--no-print-directory", "lib"])
        super().run()
        pkg = os.path.join(self.build_lib, "pcap_pfring")
        for sub, names in (("lib", ["libpfring.so.1"]), ("include", ["pfring.h"])):
            os.makedirs(os.path.join(pkg, sub), exist_ok=True)
            for name in names:
                shutil.copy2(os.path.join(ROOT, "build", sub, name), os.path.join(pkg, sub, name))


setup(
    cffi_modules=["pcap_pfring/_cffi_src/build_pfring.py:ffi"],
    cmdclass={"build_py": BuildPyWithLib},
)
