"""C unit tests: table-driven programs compiled from the library sources."""
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
C = ROOT / "tests" / "unit" / "c"
FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
         f"-I{ROOT / 'libpfring' / 'include'}", f"-I{ROOT / 'libpfring' / 'src'}"]

PROGRAMS = {
    "test_device_name": ["libpfring/src/device_name.c"],
    "test_config": ["libpfring/src/config.c"],
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_c_program(name, tmp_path):
    exe = tmp_path / name
    sources = [str(C / f"{name}.c"), str(C / "stubs.c")] + [str(ROOT / s) for s in PROGRAMS[name]]
    subprocess.run(["gcc", *FLAGS, "-o", str(exe), *sources, "-lpthread"], check=True)
    res = subprocess.run([str(exe), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert " 0 failed" in res.stdout
