"""The ways a program gets libpcap-pfring: pfring-run, and the system-wide
install (an ld.so.conf.d entry), tried in a private mount namespace so that
the machine's linker cache is never touched."""
import glob
import os
import shutil
import subprocess
import sys

import pytest

from pcap_pfring.cli import pfring_run
from pcap_pfring.testing.compat import (
    Program,
    flow_frames,
    read_pcap,
    route_env,
    send,
)

pytestmark = pytest.mark.needs_root

PFRING_RUN = shutil.which("pfring-run") or os.path.join(os.path.dirname(sys.executable),
                                                        "pfring-run")
RING_VERSION = "pcap-pfring: live captures on PF_RING rings"


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, **kw)


def test_pfring_run_sets_the_library_and_the_variables():
    env = route_env("stock", PCAP_PF_RING_USE_CLUSTER_ROUNDROBIN="1")
    out = run([PFRING_RUN, "-c", "12", "-t", "per_flow", "-a", "probe", "--recv-only",
               "sh", "-c", "env | grep -E '^(LD_LIBRARY_PATH|PCAP_)' | sort"], env=env)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split("=", 1) for line in out.stdout.splitlines())
    assert lines["LD_LIBRARY_PATH"].split(":")[0] == pfring_run.libdir()
    assert lines["PCAP_PF_RING_CLUSTER_ID"] == "12"
    assert lines["PCAP_PF_RING_USE_CLUSTER_PER_FLOW"] == "1"
    assert "PCAP_PF_RING_USE_CLUSTER_ROUNDROBIN" not in lines   # -t replaces the type
    assert lines["PCAP_PF_RING_APPNAME"] == "probe"
    assert lines["PCAP_PF_RING_RECV_ONLY"] == "1"
    assert lines["PCAP_PF_RING_RUN"] == "1"


def test_pfring_run_runs_tcpdump_on_rings():
    out = run([PFRING_RUN, "tcpdump", "--version"], env=route_env("stock"))
    assert out.returncode == 0
    assert RING_VERSION in out.stdout


def test_pfring_run_execs_in_place():
    p = subprocess.Popen([PFRING_RUN, "sh", "-c", "echo $$"], stdout=subprocess.PIPE,
                         text=True, env=route_env("stock"))
    assert int(p.communicate(timeout=30)[0]) == p.pid      # same process, no wrapper left


@pytest.mark.parametrize("argv, code, text", [
    (["-c", "0", "true"], 2, "0 is out of range (1..254)"),
    (["-c", "x", "true"], 2, "'x' is not a number"),
    (["-a", "a" * 33, "true"], 2, "must be 1..32 characters (got 33)"),
    (["-t", "per_flow", "true"], 2, "--cluster-type needs --cluster-id"),
    (["-t", "bogus", "-c", "1", "true"], 2, "invalid choice: 'bogus'"),
    ([], 2, "no command to run"),
    (["no-such-program-here"], 127, "no-such-program-here: No such file or directory"),
])
def test_pfring_run_bad_input(argv, code, text):
    out = run([PFRING_RUN, *argv], env=route_env("stock"))
    assert out.returncode == code
    assert text in out.stderr


def test_pfring_run_libdir_links_c_programs(tmp_path):
    libdir = run([PFRING_RUN, "--libdir"]).stdout.strip()
    assert libdir == pfring_run.libdir()
    src = tmp_path / "v.c"
    src.write_text('#include <pcap/pcap.h>\n#include <stdio.h>\n'
                   'int main(void) { puts(pcap_lib_version()); return 0; }\n')
    exe = tmp_path / "v"
    run(["gcc", str(src), "-o", str(exe), "-L" + libdir, "-lpcap", "-Wl,-rpath," + libdir],
        check=True)
    needed = run(["readelf", "-d", str(exe)]).stdout
    assert "[libpcap.so.0.8]" in needed
    out = run([str(exe)], env=route_env("stock"))
    assert RING_VERSION in out.stdout


def test_system_wide_install_through_ld_so_conf_d(tmp_path, veth_pair):
    """00-pcap-pfring.conf in front of the system's ld.so.conf.d files makes
    every libpcap program load the drop-in, without LD_LIBRARY_PATH."""
    confd = tmp_path / "ld.so.conf.d"
    confd.mkdir()
    for f in glob.glob("/etc/ld.so.conf.d/*.conf"):
        shutil.copy(f, confd)
    (confd / "00-pcap-pfring.conf").write_text(pfring_run.libdir() + "\n")
    conf = tmp_path / "ld.so.conf"
    conf.write_text(f"include {confd}/*.conf\n")
    cache = tmp_path / "ld.so.cache"
    run(["ldconfig", "-f", str(conf), "-C", str(cache)], check=True)
    listed = [line for line in run(["ldconfig", "-p", "-C", str(cache)]).stdout.splitlines()
              if "libpcap.so.0.8 " in line]
    assert listed[0].endswith(os.path.join(pfring_run.libdir(), "libpcap.so.0.8"))

    # In a private mount namespace, the cache replaces the machine's.
    env = route_env("stock", PCAP_PF_RING_DEBUG="1")
    rx, _ = flow_frames(veth_pair, 3)
    udp = [f for f in rx if f[23] == 17]
    inner = (f"mount --bind {cache} /etc/ld.so.cache && "
             f"exec ip netns exec {veth_pair.a.name} tcpdump -n -U -i {veth_pair.if_a} "
             f"-w {tmp_path / 'sys.pcap'} -c {len(udp)} udp")
    prog = Program(_Host(), ["unshare", "-m", "sh", "-c", inner], env)
    try:
        prog.wait_for("listening on")
        maps = libpcaps_mapped(prog.proc.pid)
        send(veth_pair.b, veth_pair.if_b, rx)
        assert prog.wait(timeout=10) == 0
    finally:
        prog.stop()
    assert f"pcap-pfring: {veth_pair.if_a}: capturing on a PF_RING ring" in prog.stderr
    # the drop-in's directory comes first in the cache, yet the library it
    # forwards to is the system's
    assert maps == {os.path.realpath(pfring_run.libdir() + "/libpcap.so.0.8"),
                    _system_libpcap_link()[1]}
    assert [r[3] for r in read_pcap(tmp_path / "sys.pcap")[1]] == udp
    version = run(["unshare", "-m", "sh", "-c",
                   f"mount --bind {cache} /etc/ld.so.cache && tcpdump --version"], env=env)
    assert RING_VERSION in version.stdout
    assert RING_VERSION not in run(["tcpdump", "--version"], env=env).stdout


class _Host:
    """A Program target that runs commands in the host's namespaces."""

    @staticmethod
    def cmd(argv):
        return list(argv)


def test_system_libpcap_path_leading_back_to_the_drop_in_is_refused():
    """The forwarding target is never this library itself."""
    own = os.path.join(pfring_run.libdir(), "libpcap.so.0.8")
    out = run(["tcpdump", "--version"], env=route_env("ring", PF_RING_SYSTEM_LIBPCAP=own))
    assert (f"pcap-pfring: the system libpcap '{own}' is this PF_RING libpcap itself; set "
            "PF_RING_SYSTEM_LIBPCAP to the distribution's libpcap") in out.stderr
    assert out.returncode == 0      # tcpdump --version still prints; nothing crashes


def test_missing_system_libpcap_is_a_clear_error(tmp_path):
    missing = str(tmp_path / "nope.so")
    out = run(["tcpdump", "-D"], env=route_env("ring", PF_RING_SYSTEM_LIBPCAP=missing))
    assert f"pcap-pfring: cannot load the system libpcap '{missing}'" in out.stderr
    assert out.returncode != 0


def libpcaps_mapped(pid):
    """The libpcap files a running program has mapped (sh and ip exec in
    place, so the pid is tcpdump's once it listens)."""
    with open(f"/proc/{pid}/maps") as f:
        return {line.split(None, 5)[5].strip() for line in f
                if len(line.split(None, 5)) == 6 and "/libpcap.so" in line}


def _system_libpcap_link():
    """The system libpcap's soname link and the real file it names."""
    out = run(["ldconfig", "-p"]).stdout
    paths = [line.split("=>")[1].strip() for line in out.splitlines()
             if line.strip().startswith("libpcap.so.0.8 ")]
    link = next(p for p in paths if not p.startswith(pfring_run.libdir()))
    return link, os.path.realpath(link)


def test_system_libpcap_upgrade_that_renames_the_real_file(tmp_path, veth_pair):
    """A libpcap upgrade gives the real file another version name (as in
    1.10.3 -> 1.10.4) and moves the soname link; ldconfig updates the cache.
    Done in a private mount namespace (an overlay on the library directory
    and the new cache over /etc/ld.so.cache), so the machine is untouched.
    tcpdump under pfring-run still captures on a ring, through the new file."""
    link, real = _system_libpcap_link()
    libdir = os.path.dirname(real)
    renamed = os.path.join(libdir, "libpcap.so.1.10.99")
    assert not os.path.exists(renamed)
    upper, work, cache = tmp_path / "upper", tmp_path / "work", tmp_path / "ld.so.cache"
    upper.mkdir()
    work.mkdir()
    rx, _ = flow_frames(veth_pair, 3)
    udp = [f for f in rx if f[23] == 17]
    out = tmp_path / "up.pcap"
    inner = " && ".join([
        f"mount -t overlay overlay -o lowerdir={libdir},upperdir={upper},workdir={work} {libdir}",
        f"mv {real} {renamed}",
        f"ln -sfn {os.path.basename(renamed)} {os.path.join(libdir, 'libpcap.so.0.8')}",
        f"ldconfig -C {cache}",
        f"mount --bind {cache} /etc/ld.so.cache",
        f"test ! -e {real}",
        f"ldconfig -p | grep -q 'libpcap.so.0.8 .*=> {link}$'",
        f"exec ip netns exec {veth_pair.a.name} {PFRING_RUN} tcpdump -n -U "
        f"-i {veth_pair.if_a} -w {out} -c {len(udp)} udp",
    ])
    prog = Program(_Host(), ["unshare", "-m", "sh", "-c", inner],
                   route_env("stock", PCAP_PF_RING_DEBUG="1"))
    try:
        prog.wait_for("listening on")
        maps = libpcaps_mapped(prog.proc.pid)
        send(veth_pair.b, veth_pair.if_b, rx)
        assert prog.wait(timeout=10) == 0, prog.stderr
    finally:
        prog.stop()
    # the drop-in forwards to the renamed file, reached through the soname link
    assert maps == {os.path.realpath(pfring_run.libdir() + "/libpcap.so.0.8"), renamed}
    assert f"pcap-pfring: {veth_pair.if_a}: capturing on a PF_RING ring" in prog.stderr
    assert "cannot load the system libpcap" not in prog.stderr
    assert [r[3] for r in read_pcap(out)[1]] == udp
    assert os.path.exists(real) and not os.path.exists(renamed)    # the host is untouched
