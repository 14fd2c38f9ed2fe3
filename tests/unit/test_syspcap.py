"""The one loader of the system libpcap (libpfring/src/syspcap.c): found at
run time, never the libpcap drop-in, overridable by PF_RING_SYSTEM_LIBPCAP and
the configuration file.  Each case runs in a child interpreter so that its
environment and its loaded library are its own."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from pcap_pfring.cli import pfring_run

PROBE = r"""
import json
from pcap_pfring._ffi import ffi, lib
err = ffi.new("char[512]")
h = lib.pfring_open_system_libpcap(err, 512)
path = lib.pfring_system_libpcap()
print(json.dumps({"ok": h != ffi.NULL, "err": ffi.string(err).decode(),
                  "path": ffi.string(path).decode() if path != ffi.NULL else None}))
"""

NOTE = "pcap-pfring"


def probe(tmp_path, **env):
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("PF_RING_", "PCAP_", "LD_LIBRARY_PATH"))}
    full["PF_RING_CONFIG"] = str(tmp_path / "no-such.conf")
    full.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         env=full, cwd=tmp_path, timeout=60, check=True)
    return json.loads(out.stdout)


def has_note(path):
    out = subprocess.run(["readelf", "-nW", path], capture_output=True, text=True,
                         check=True).stdout
    return re.search(rf"^\s*{NOTE}\s", out, re.M) is not None


def dropin():
    return os.path.join(pfring_run.libdir(), "libpcap.so.0.8")


def sizes(path):
    out = subprocess.run(["nm", "-DS", "--defined-only", path], capture_output=True,
                         text=True, check=True).stdout
    return {f[3]: int(f[1], 16) for f in (line.split() for line in out.splitlines())
            if len(f) == 4 and f[3] in ("pcap_version", "eproto_db")}


def test_default_finds_the_system_library_by_its_soname(tmp_path):
    got = probe(tmp_path)
    assert got["ok"], got["err"]
    assert os.path.basename(got["path"]) == "libpcap.so.0.8"   # the link, not 1.10.x
    assert not has_note(got["path"])
    assert not os.path.samefile(got["path"], dropin())


def test_the_drop_in_is_marked():
    for soname in ("libpcap.so.0.8", "libpcap.so.1"):
        assert has_note(os.path.join(pfring_run.libdir(), soname))


def test_drop_in_first_on_the_library_path_is_skipped(tmp_path):
    """pfring-run's situation: LD_LIBRARY_PATH names the drop-in's directory."""
    plain = probe(tmp_path)
    under = probe(tmp_path, LD_LIBRARY_PATH=pfring_run.libdir())
    assert under["ok"], under["err"]
    assert under["path"] == plain["path"]


def test_explicit_path_to_the_drop_in_is_refused(tmp_path):
    got = probe(tmp_path, PF_RING_SYSTEM_LIBPCAP=dropin())
    assert not got["ok"] and got["path"] is None
    assert got["err"] == (f"the system libpcap '{dropin()}' is this PF_RING libpcap itself; "
                          "set PF_RING_SYSTEM_LIBPCAP to the distribution's libpcap")


def test_a_renamed_copy_of_the_drop_in_is_refused(tmp_path):
    copy = tmp_path / "libsomething.so"
    shutil.copy(dropin(), copy)
    got = probe(tmp_path, PF_RING_SYSTEM_LIBPCAP=str(copy))
    assert not got["ok"]
    assert "is this PF_RING libpcap itself" in got["err"]


def test_explicit_soname_is_looked_up_like_the_default(tmp_path):
    plain = probe(tmp_path)
    got = probe(tmp_path, PF_RING_SYSTEM_LIBPCAP="libpcap.so.0.8",
                LD_LIBRARY_PATH=pfring_run.libdir())
    assert got["ok"], got["err"]
    assert got["path"] == plain["path"]


def test_explicit_path_and_configuration_file(tmp_path):
    real = os.path.realpath(probe(tmp_path)["path"])
    got = probe(tmp_path, PF_RING_SYSTEM_LIBPCAP=real)
    assert got == {"ok": True, "err": "", "path": real}
    conf = tmp_path / "pf_ring.conf"
    conf.write_text(f"system_libpcap = {real}\n")
    assert probe(tmp_path, PF_RING_CONFIG=str(conf))["path"] == real
    # an empty value means the default search, with no warning
    assert probe(tmp_path, PF_RING_SYSTEM_LIBPCAP="")["ok"]


def test_missing_library_is_a_clear_error(tmp_path):
    missing = str(tmp_path / "nope.so")
    got = probe(tmp_path, PF_RING_SYSTEM_LIBPCAP=missing)
    assert not got["ok"]
    assert got["err"] == f"cannot load the system libpcap '{missing}': No such file or directory"
    got = probe(tmp_path, PF_RING_SYSTEM_LIBPCAP="libnosuchpcap.so.7")
    assert got["err"].startswith("cannot load the system libpcap 'libnosuchpcap.so.7': ")


def test_not_a_libpcap_is_a_clear_error(tmp_path):
    """A file that is not a shared object: dlopen's reason, no crash."""
    junk = tmp_path / "junk.so"
    junk.write_bytes(b"\x7fELF" + b"\0" * 60)
    got = probe(tmp_path, PF_RING_SYSTEM_LIBPCAP=str(junk))
    assert not got["ok"]
    assert got["err"].startswith(f"cannot load the system libpcap '{junk}': ")


def test_data_symbols_have_the_system_sizes_and_values(tmp_path):
    """pcap_version and eproto_db: fixed sizes in the drop-in (no build-time
    read of the installed library) that match the system library's, and the
    system's contents copied in at load time."""
    system = probe(tmp_path)["path"]
    assert sizes(dropin()) == sizes(system)
    code = ("import ctypes, sys\n"
            "def read(path):\n"
            "    lib = ctypes.CDLL(path)\n"
            "    v = ctypes.c_char_p.in_dll(lib, 'pcap_version')\n"
            "    db = (ctypes.c_char_p * 2).in_dll(lib, 'eproto_db')\n"
            "    return ctypes.string_at(ctypes.addressof(v)).decode(), db[0].decode()\n"
            "print(read(sys.argv[1]))\n")
    outs = [subprocess.run([sys.executable, "-c", code, p], capture_output=True, text=True,
                           cwd=tmp_path, check=True, timeout=60).stdout
            for p in (system, dropin())]
    assert outs[0] == outs[1]
    assert re.match(r"\('1\.10\.\d+', 'aarp'\)", outs[0]), outs[0]


def test_the_binding_does_not_link_libpcap():
    import pcap_pfring._pfring as ext
    out = subprocess.run(["readelf", "-d", ext.__file__], capture_output=True, text=True,
                         check=True).stdout
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", out)
    assert "libpfring.so.1" in needed
    assert not [n for n in needed if n.startswith("libpcap")]


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _code(name):
    """The text of a C file without its comments."""
    return re.sub(r"/\*.*?\*/", "", open(os.path.join(ROOT, name)).read(), flags=re.S)


@pytest.mark.parametrize("name", ["libpfring/src/bpf.c", "libpcap-pfring/src/syslib.c"])
def test_one_loader(name):
    """Nobody but syspcap.c opens a libpcap: the files that use one get it
    from the loader."""
    text = _code(name)
    assert "pfring_open_system_libpcap" in text
    assert "dlopen(" not in text


def test_the_binding_uses_no_libpcap():
    """The extension's C helpers are ring primitives: no libpcap, loaded or
    included (pfsend and pfdump read and write files with pcap_pfring.pcapfile)."""
    text = _code("pcap_pfring/_cffi_src/helpers.c")
    for word in ("pfring_open_system_libpcap", "dlopen(", "dlsym(", "pcap.h", "pcap_"):
        assert word not in text, word
