"""A real privileged-by-exec program, run by an unprivileged user whose
environment names things the user controls.

The program is the kind the README's system-wide install is for: a small
C capture program linked with the libpcap drop-in, owned by root and
set-uid (or given file capabilities), run as ``nobody``.  The kernel sets
AT_SECURE for it, and libpfring must then ignore every variable that names
a path or a library (PF_RING_CONFIG, PF_RING_STATUS_DIR,
PF_RING_SYSTEM_LIBPCAP): no foreign library is loaded, no line of a file
the user cannot read reaches the output, no file of the user's choosing is
written, truncated or deleted.

Each attack is first run against the same program without the privilege
(root runs it plainly, AT_SECURE is 0), where the variables are honoured:
that control proves that the attack would have worked, so the privileged
run's silence means the variables were ignored.

Everything lives in one directory the test creates (mode 0755, so that
``nobody`` can reach the program and its libraries) and removes.
"""
import os
import pathlib
import shutil
import stat
import subprocess
import tempfile

import pytest

from pcap_pfring.cli.pfring_run import libdir
from pcap_pfring.testing import sanitizers

pytestmark = pytest.mark.needs_root

NOBODY = 65534
SECRET = "TOPSECRET-7f3a9c1e"
RING_LINE = "capturing on a PF_RING ring"   # PCAP_PF_RING_DEBUG=1
PF_RING_VARS = ("PF_RING_CONFIG", "PF_RING_STATUS_DIR", "PF_RING_SYSTEM_LIBPCAP")

# A capture program as tcpdump is one: a live capture on argv[1], a filter
# compiled (the system libpcap is loaded for it), the ring closed.  It says
# what it ran as and whether a library named "evil" is mapped.
PROGRAM = r"""
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  char err[PCAP_ERRBUF_SIZE] = "", line[4096];
  struct bpf_program prog;
  pcap_t *p;
  FILE *maps;
  int evil = 0;

  if (argc < 2)
    return 2;
  printf("ruid=%d euid=%d secure=%lu\n", (int)getuid(), (int)geteuid(),
         getauxval(AT_SECURE));
  p = pcap_open_live(argv[1], 256, 0, 100, err);
  if (!p) {
    printf("open failed: %s\n", err);
    return 3;
  }
  if (pcap_compile(p, &prog, "udp", 1, PCAP_NETMASK_UNKNOWN) == 0) {
    if (pcap_setfilter(p, &prog) != 0)
      printf("setfilter: %s\n", pcap_geterr(p));
    pcap_freecode(&prog);
  } else {
    printf("compile: %s\n", pcap_geterr(p));
  }
  maps = fopen("/proc/self/maps", "r");
  while (maps && fgets(line, sizeof(line), maps))
    if (strstr(line, "evil"))
      evil = 1;
  if (maps)
    fclose(maps);
  printf("evil mapped=%d\n", evil);
  printf("version: %s\n", pcap_lib_version());
  pcap_close(p);
  return 0;
}
"""

# The attacker's library: it leaves a mark when it is loaded.
EVIL = r"""
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void)
{
  int fd = open(MARKER, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    (void)!write(fd, "loaded\n", 7);
    close(fd);
  }
}
"""


class Lab:
    """The test's directory: the program, its libraries, the attacker's
    things and the victims."""

    def __init__(self):
        self.top = pathlib.Path(tempfile.mkdtemp(prefix="pfring-secure-"))
        os.chmod(self.top, 0o755)
        self.lib = self.top / "lib"
        self.lib.mkdir(mode=0o755)
        # The drop-in and libpfring, found through the program's DT_RPATH
        # (a set-uid program ignores LD_LIBRARY_PATH and the drop-in's
        # $ORIGIN run path, but takes an absolute one of the program's).
        drop_in = pathlib.Path(libdir())
        for name in ("libpcap.so.0.8",):
            shutil.copy2(drop_in / name, self.lib / name)
        libpfring = (drop_in / ".." / "lib" / "libpfring.so.1").resolve()
        shutil.copy2(libpfring, self.lib / "libpfring.so.1")
        src = self.top / "capture.c"
        src.write_text(PROGRAM)
        self.program = self.top / "capture"
        self._cc([str(src), "-o", str(self.program), f"-L{self.lib}", "-l:libpcap.so.0.8",
                  "-Wl,--disable-new-dtags", f"-Wl,-rpath,{self.lib}"])
        self.marker = self.top / "evil-was-loaded"
        evil_src = self.top / "evil.c"
        evil_src.write_text(EVIL)
        self.evil = self.top / "evil.so"
        self._cc(["-shared", "-fPIC", f'-DMARKER="{self.marker}"', str(evil_src),
                  "-o", str(self.evil)])
        # What root alone may read: a configuration whose lines would load
        # the attacker's library and show a secret.
        self.tree = self.top / "tree"          # root's, so it would be used
        self.tree.mkdir(mode=0o755)
        self.secret_conf = self.top / "root-only.conf"
        self.secret_conf.write_text(f"system_libpcap={self.evil}\n{SECRET}\n{SECRET}=1\n")
        os.chmod(self.secret_conf, 0o600)
        # The attacker's status tree: symlinks to a victim file and a
        # victim directory, and a file named as a dead ring's would be.
        self.victim = self.top / "victim"
        self.victim.write_text("41\n")
        self.victim_dir = self.top / "victim-dir"
        self.victim_dir.mkdir(mode=0o755)
        (self.victim_dir / "precious").write_text("keep\n")
        self.evil_tree = self.top / "evil-tree"
        self.evil_tree.mkdir(mode=0o755)
        (self.evil_tree / ".ring_id").symlink_to(self.victim)
        (self.evil_tree / "stats").symlink_to(self.victim_dir)
        (self.evil_tree / "dev").symlink_to(self.victim_dir)
        for p in (self.evil_tree, *self.evil_tree.iterdir()):
            os.lchown(p, NOBODY, NOBODY)

    @staticmethod
    def _cc(args):
        cmd = ["gcc", "-O1", "-Wall", *sanitizers.c_flags(), *args]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stderr}"

    def privileged_copy(self, how):
        """A copy of the program that runs privileged: set-uid root, or
        with file capabilities."""
        exe = self.top / f"capture-{how}"
        shutil.copy2(self.program, exe)
        os.chown(exe, 0, 0)
        if how == "setuid":
            os.chmod(exe, 0o4755)
        else:
            os.chmod(exe, 0o755)
            # The capture, and root's power over files: what a careless
            # install gives, so that a followed path would do harm.
            res = subprocess.run(["setcap", "cap_net_raw,cap_net_admin,cap_dac_override+ep",
                                  str(exe)], capture_output=True, text=True, timeout=30)
            assert res.returncode == 0, f"setcap failed: {res.stderr}"
        return exe

    def snapshot(self):
        """Everything under the directory but the programs' outputs,
        symlinks not followed."""
        seen = {}
        for root, dirs, files in os.walk(self.top):
            for name in dirs + files:
                path = pathlib.Path(root, name)
                st = os.lstat(path)
                rel = str(path.relative_to(self.top))
                if stat.S_ISLNK(st.st_mode):
                    seen[rel] = ("link", os.readlink(path), st.st_uid)
                elif stat.S_ISDIR(st.st_mode):
                    seen[rel] = ("dir", st.st_mode, st.st_uid)
                else:
                    seen[rel] = ("file", path.read_bytes(), st.st_mode, st.st_uid)
        return seen

    def remove(self):
        shutil.rmtree(self.top, ignore_errors=True)


@pytest.fixture
def lab():
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed (make setup installs it)")
    lab = Lab()
    try:
        yield lab
    finally:
        lab.remove()


ATTACKS = {
    # the variables themselves
    "library": lambda lab: {"PF_RING_SYSTEM_LIBPCAP": str(lab.evil)},
    "status-dir": lambda lab: {"PF_RING_STATUS_DIR": str(lab.tree)},
    # a file only root may read, as the configuration
    "config": lambda lab: {"PF_RING_CONFIG": str(lab.secret_conf)},
    # a status tree of symlinks to the victims
    "status-symlinks": lambda lab: {"PF_RING_STATUS_DIR": str(lab.evil_tree)},
}


def run(pair, exe, env_vars, as_nobody):
    env = {k: v for k, v in os.environ.items() if k not in PF_RING_VARS}
    env.update(sanitizers.c_env({}))
    env.update(env_vars)
    env.pop("LD_LIBRARY_PATH", None)
    env["PCAP_PF_RING_DEBUG"] = "1"
    argv = [str(exe), pair.if_a]
    if as_nobody:
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                "--inh-caps=-all", *argv]
    res = pair.a.run(argv, env=env, timeout=60, check=False)
    return res


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_without_privilege_the_variables_are_honoured(veth_pair, lab, attack):
    """The control: root runs the program plainly, so the attack works."""
    before = lab.snapshot()
    res = run(veth_pair, lab.program, ATTACKS[attack](lab), as_nobody=False)
    out = res.stdout + res.stderr
    assert "ruid=0 euid=0 secure=0" in out
    if attack in ("library", "config"):
        # the foreign library was loaded (and, having no libpcap in it, the
        # capture failed for want of its functions)
        assert lab.marker.exists(), out
        assert res.returncode == 3, out
    else:
        assert res.returncode == 0, out
    if attack == "config":
        assert SECRET in out, out                # the root-only file's lines shown
    if attack == "status-dir":
        # the ring's file was written under the named tree (and removed at
        # close); the tree's ring-id counter stays behind
        assert (lab.tree / ".ring_id").is_file(), out
        assert RING_LINE in out, out
    if attack == "status-symlinks":
        # a tree the user owns is refused even here; nothing is followed
        assert res.returncode == 0, out
        assert lab.snapshot() == before


@pytest.mark.parametrize("how", ["setuid", "filecaps"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_privileged_program_ignores_path_variables(veth_pair, lab, attack, how):
    exe = lab.privileged_copy(how)
    before = lab.snapshot()
    res = run(veth_pair, exe, ATTACKS[attack](lab), as_nobody=True)
    out = res.stdout + res.stderr
    want = f"ruid={NOBODY} euid={0 if how == 'setuid' else NOBODY} secure=1"
    assert want in out, out
    assert res.returncode == 0, out
    assert RING_LINE in out, out
    assert "evil mapped=0" in out, out
    assert not lab.marker.exists(), out
    assert SECRET not in out, out
    assert str(lab.secret_conf) not in out, out
    # Nothing under the test's directory changed: no ring file or counter in
    # the named trees, the victims intact, the symlinks where they were.
    assert lab.snapshot() == before, out
