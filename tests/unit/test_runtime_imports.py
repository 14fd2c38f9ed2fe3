"""The installed package's runtime modules import with only what the package
declares (cffi; scapy is optional): a child interpreter where pytest and
scapy cannot be imported imports each of them, and every module they load is
the standard library's, cffi's or the package's own.  The test helpers
(pcap_pfring.testing) and the scapy integration (pcap_pfring.scapy) are the
exceptions.  The modules are enumerated with pkgutil, so new modules and new
CLI tools are covered without editing this file."""
import ast
import importlib
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

PROBE = r"""
import importlib, importlib.util, json, pkgutil, sys, traceback

BLOCKED = ("pytest", "_pytest", "scapy")
for name in BLOCKED:
    sys.modules[name] = None             # import NAME raises ImportError
NOT_RUNTIME = {"testing", "scapy"}       # pytest helpers; needs the optional scapy

# Where the package is, without running it (so a failing __init__ shows as
# a failed import below, not as a crash here).
root = importlib.util.find_spec("pcap_pfring").submodule_search_locations[0]
names = ["_pcap_pfring_autoload", "pcap_pfring"]
names += sorted("pcap_pfring." + m.name for m in pkgutil.iter_modules([root])
                if m.name not in NOT_RUNTIME)
names += sorted("pcap_pfring.cli." + m.name for m in pkgutil.iter_modules([root + "/cli"]))

before = set(sys.modules)
failed = {}
for name in names:
    try:
        importlib.import_module(name)
    except BaseException:
        failed[name] = traceback.format_exc()
ours = {"pcap_pfring", "_pcap_pfring_autoload", "cffi", "_cffi_backend"}
stdlib = getattr(sys, "stdlib_module_names", None)      # Python 3.10 and later


def is_foreign(name):
    top = name.split(".")[0]
    if top in ours:
        return False
    if stdlib is not None:
        return top not in stdlib
    return "-packages" in (getattr(sys.modules[name], "__file__", None) or "")


foreign = sorted(m for m in set(sys.modules) - before
                 if sys.modules[m] is not None and is_foreign(m))
print(json.dumps({"root": root, "names": names, "failed": failed, "foreign": foreign,
                  "blocked": [n for n in BLOCKED if sys.modules.get(n) is not None]}))
"""

# Named in the brief of this test: a rename must not drop one silently.
REQUIRED = {"pcap_pfring", "pcap_pfring.demo", "pcap_pfring.netns", "pcap_pfring.pcapfile",
            "pcap_pfring.status", "pcap_pfring.env", "pcap_pfring.errors", "pcap_pfring.ring",
            "pcap_pfring.cli.pfcount", "pcap_pfring.cli.pfsend", "pcap_pfring.cli.pfdump",
            "pcap_pfring.cli.pfring_info", "pcap_pfring.cli.pfring_run"}


def test_runtime_modules_import_without_pytest_or_scapy(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PCAP_") and k != "PYTHONPATH"}
    # From tmp_path, not the project root: the installed package is imported.
    res = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.splitlines()[-1])
    assert not out["failed"], "\n".join(f"{name}:\n{tb}" for name, tb in out["failed"].items())
    assert REQUIRED <= set(out["names"]), f"not found in {out['root']}: " \
                                          f"{sorted(REQUIRED - set(out['names']))}"
    assert out["foreign"] == [], "runtime modules loaded undeclared modules"
    assert out["blocked"] == []


def _suite_imports():
    """(module, name) of every ``from pcap_pfring.testing... / .netns /
    .pcapfile import name`` in the suites and the bench."""
    found = set()
    for d in ("tests", "compat-tests", "bench"):
        for path in (ROOT / d).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and \
                        node.module.startswith(("pcap_pfring.testing", "pcap_pfring.netns",
                                                "pcap_pfring.pcapfile")):
                    found.update((node.module, a.name) for a in node.names)
    return found


def test_suite_imports_still_resolve():
    """Every name the suites and the bench import from the test helpers (some
    of them now defined in pcap_pfring.netns and pcap_pfring.pcapfile) is there."""
    found = _suite_imports()
    assert ("pcap_pfring.netns", "VethPair") in found
    missing = []
    for module, name in sorted(found):
        mod = importlib.import_module(module)
        if not hasattr(mod, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"{module}.{name}")
    assert missing == []


def test_fixtures_reexport_the_runtime_objects():
    from pcap_pfring import netns
    from pcap_pfring.testing import compat, fixtures, flows
    for name in ("NetNS", "VethPair", "ip", "frame", "send_frames", "send_from_b",
                 "default_sigint"):
        assert getattr(fixtures, name) is getattr(netns, name)
    assert compat.send is compat.send_frames is netns.send_frames
    assert flows.frame is netns.frame
