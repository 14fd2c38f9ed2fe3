"""The status tree under attack: what it refuses, what it never follows,
what it never deletes, and values that cannot forge lines.

Set-uid programs write the tree, so a symlink planted in it must be
replaced or refused, never followed; a tree (or .ring_id) that someone
other than root or the process's own user may write is not used at all
(ring ids are process-local, nothing is written, one debug message through
the print callback); and the sweep deletes only regular files of the tree's
owner whose names have the exact forms the tree writes.

Each case runs a real ring in a child process whose PF_RING_STATUS_DIR is a
tree the test built (the configuration is read once per process), and
compares everything under the test's directory before and after.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from pcap_pfring import Ring, status
from pcap_pfring.testing import childlog
from pcap_pfring.testing.compat import tcpdump
from pcap_pfring.testing.status_labels import RING_LABELS

pytestmark = pytest.mark.needs_root

LOCAL_ID = 1000001              # the first process-local ring id
OTHER_UID = 12345
THIRD_UID = 23456
NOT_USED = "(ring ids are process-local and nothing is written)"

# A ring on argv[1] (unless it is "-"), application stats argv[2] (if not
# empty), a refresh, the close; what was logged at any level.  argv[3], if
# given, is the uid to run as (after the library is loaded).
CHILD = childlog.PRELUDE + r"""
import json, os, sys
from pcap_pfring import Ring, status

ifname, stats = sys.argv[1], sys.argv[2]
if len(sys.argv) > 3:
    uid = int(sys.argv[3])
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
ring_id = None
ring = None if ifname == "-" else Ring(ifname)
if ring is not None:
    ring_id = ring.ring_id
    if stats:
        ring.set_application_stats(stats)
refreshed = status.refresh()
if ring is not None:
    ring.close()
print(json.dumps({"ring_id": ring_id, "refresh": refreshed, "logged": logged}))
"""


def run_child(tree, pair=None, stats="", uid=None):
    """CHILD with PF_RING_STATUS_DIR=tree, in pair's namespace a (a ring on
    its veth) or, without a pair, here (no ring)."""
    env = dict(os.environ, PF_RING_STATUS_DIR=str(tree))
    argv = [sys.executable, "-c", CHILD, pair.if_a if pair else "-", stats]
    if uid is not None:
        argv.append(str(uid))
    if pair:
        res = pair.a.run(argv, env=env, timeout=60, check=False)
    else:
        res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def snapshot(top):
    """Everything under top, symlinks not followed: {relative path: what}."""
    seen = {}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, top)
            if os.path.islink(path):
                seen[rel] = ("link", os.readlink(path), st.st_uid)
            elif os.path.isdir(path):
                seen[rel] = ("dir", st.st_mode & 0o7777, st.st_uid)
            elif os.path.isfile(path):
                seen[rel] = ("file", open(path, "rb").read(), st.st_uid)
            else:
                seen[rel] = ("other", st.st_mode, st.st_uid)
    return seen


def dead_pid():
    """The pid of a process that has exited."""
    p = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True)
    return int(p.stdout)


def make_tree(tmp_path, mode=0o755):
    tree = tmp_path / "pf_ring"
    tree.mkdir()
    os.chmod(tree, mode)
    return tree


def refused(tree, why, rel=None):
    where = f"{rel}: " if rel else ""
    return [[3, f"status tree: {tree} is not used: {where}{why} {NOT_USED}"]]


# -- symlinks ----------------------------------------------------------------

def test_a_ring_id_symlink_refuses_the_tree(veth_pair, tmp_path):
    tree = make_tree(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("41\n")
    (tree / ".ring_id").symlink_to(victim)
    before = snapshot(tmp_path)
    out = run_child(tree, veth_pair, stats="Packets: 1")
    assert out == {"ring_id": LOCAL_ID, "refresh": -1,
                   "logged": refused(tree, "it is a symbolic link", ".ring_id")}
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("sub", ["stats", "dev", "clusters"])
def test_a_directory_symlink_refuses_the_tree(veth_pair, tmp_path, sub):
    tree = make_tree(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dead = dead_pid()
    (elsewhere / "victim").write_text("keep\n")
    (elsewhere / f"{dead}-eth9.7").write_text("not a ring file\n")
    (elsewhere / "lo").mkdir()
    (tree / sub).symlink_to(elsewhere)
    before = snapshot(tmp_path)
    out = run_child(tree, veth_pair, stats="Packets: 1")
    assert out == {"ring_id": LOCAL_ID, "refresh": -1,
                   "logged": refused(tree, "it is a symbolic link", sub)}
    assert snapshot(tmp_path) == before


def test_an_interface_directory_symlink_is_not_followed(veth_pair, tmp_path):
    tree = make_tree(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "info").write_text("keep\n")
    (tree / "dev").mkdir()
    (tree / "dev" / "lo").symlink_to(elsewhere)
    out = run_child(tree, veth_pair)
    assert out["logged"] == refused(tree, "it is a symbolic link", "dev/lo")
    assert out["refresh"] == -1
    assert snapshot(elsewhere) == {"info": ("file", b"keep\n", 0)}
    assert os.readlink(tree / "dev" / "lo") == str(elsewhere)


def test_symlinks_in_a_trusted_tree_are_replaced_or_left_never_followed(veth_pair, tmp_path):
    tree = make_tree(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("secret\n")
    dead = dead_pid()
    planted = [f"{dead}-eth9.7", f".tmp.{dead}.1", f"stats/{dead}-eth9.7",
               f"stats/.tmp.{dead}.2"]
    (tree / "stats").mkdir()
    for name in planted + ["info"]:
        (tree / name).symlink_to(victim)
    out = run_child(tree, veth_pair, stats="Packets: 1")
    assert out == {"ring_id": 1, "refresh": 1, "logged": []}
    assert victim.read_text() == "secret\n"
    # The sweep deletes no symlink (it is not a file the tree made) ...
    assert all(os.readlink(tree / name) == str(victim) for name in planted)
    # ... and a file the tree writes replaces the symlink in its place.
    assert not os.path.islink(tree / "info")
    assert (tree / "info").read_text().startswith("PF_RING Version          : 5.6.2")
    assert (tree / ".ring_id").read_text() == "1\n"
    rings = [n for n in os.listdir(tree) if n.endswith(f"-{veth_pair.if_a}.1")]
    assert rings == []                    # the child closed its ring


# -- who owns the tree -------------------------------------------------------

@pytest.mark.parametrize("mode, uid, why", [
    (0o775, 0, "it is writable by its group (mode 0775)"),
    (0o757, 0, "it is writable by others (mode 0757)"),
    (0o1777, 0, "it is writable by others (mode 1777)"),
    (0o755, OTHER_UID, f"it belongs to uid {OTHER_UID}, neither root nor uid 0"),
])
def test_a_tree_others_may_write_is_not_used(veth_pair, tmp_path, mode, uid, why):
    tree = make_tree(tmp_path, mode)
    os.chown(tree, uid, uid)
    dead = dead_pid()
    for name in (f"{dead}-eth9.7", ".tmp.1.1"):
        (tree / name).write_text("a dead process's file\n")
        os.chown(tree / name, uid, uid)
    (tree / ".ring_id").write_text("41\n")
    before = snapshot(tmp_path)
    out = run_child(tree, veth_pair, stats="Packets: 1")
    assert out == {"ring_id": LOCAL_ID, "refresh": -1, "logged": refused(tree, why)}
    assert snapshot(tmp_path) == before


def test_a_ring_in_a_refused_tree_keeps_working_with_local_ids(veth_pair, tmp_path):
    tree = make_tree(tmp_path, 0o775)
    code = ("import pcap_pfring, sys\n"
            f"a = pcap_pfring.Ring({veth_pair.if_a!r}, appname='a')\n"
            f"b = pcap_pfring.Ring({veth_pair.if_a!r})\n"
            "b.set_cluster(9)\n"
            "print(a.ring_id, b.ring_id)\n")
    res = veth_pair.a.run([sys.executable, "-c", code], timeout=60, check=False,
                          env=dict(os.environ, PF_RING_STATUS_DIR=str(tree)))
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str(LOCAL_ID), str(LOCAL_ID + 1)]
    assert os.listdir(tree) == []


@pytest.mark.parametrize("kind, why", [
    ("group", "it is writable by its group (mode 0664)"),
    ("uid", f"it belongs to uid {OTHER_UID}, neither root nor uid 0"),
    ("fifo", "it is not a regular file"),
    ("dir", "it is a directory"),
])
def test_an_untrusted_ring_id_file_refuses_the_tree(veth_pair, tmp_path, kind, why):
    tree = make_tree(tmp_path)
    counter = tree / ".ring_id"
    if kind == "fifo":
        os.mkfifo(counter, 0o644)
    elif kind == "dir":
        counter.mkdir()
    else:
        counter.write_text("41\n")
        os.chmod(counter, 0o664 if kind == "group" else 0o644)
        if kind == "uid":
            os.chown(counter, OTHER_UID, OTHER_UID)
    before = snapshot(tmp_path)
    out = run_child(tree, veth_pair)
    assert out == {"ring_id": LOCAL_ID, "refresh": -1,
                   "logged": refused(tree, why, ".ring_id")}
    assert snapshot(tmp_path) == before


def test_an_unprivileged_process_trusts_root_and_itself_only():
    # pytest's tmp_path is root's alone (0700): the trees live in /tmp.
    top = tempfile.mkdtemp(prefix="pfring-sec-", dir="/tmp")
    try:
        os.chmod(top, 0o755)
        own, other, rooted = (os.path.join(top, n) for n in ("own", "other", "root"))
        for path, uid in ((own, OTHER_UID), (other, THIRD_UID), (rooted, 0)):
            os.mkdir(path, 0o755)
            os.chown(path, uid, uid)
        out = run_child(own, uid=OTHER_UID)
        assert out == {"ring_id": None, "refresh": 0, "logged": []}
        assert os.stat(os.path.join(own, "info")).st_uid == OTHER_UID
        out = run_child(other, uid=OTHER_UID)
        assert out == {"ring_id": None, "refresh": -1, "logged": refused(
            other, f"it belongs to uid {THIRD_UID}, neither root nor uid {OTHER_UID}")}
        assert os.listdir(other) == []
        # Root's tree is trusted; this user just cannot write it.
        out = run_child(rooted, uid=OTHER_UID)
        assert out == {"ring_id": None, "refresh": 0, "logged": [[3, (
            f"status tree: cannot write {rooted}/info: Permission denied (the tree is best "
            "effort; further failures are not reported)")]]}
        assert os.listdir(rooted) == []
    finally:
        shutil.rmtree(top, ignore_errors=True)


# -- what the sweep deletes --------------------------------------------------

def test_the_sweep_deletes_only_dead_files_of_the_exact_forms_and_owner(veth_pair, tmp_path):
    tree = make_tree(tmp_path)
    (tree / "stats").mkdir()
    dead = dead_pid()
    gone = [f"{dead}-eth9.7", f"stats/{dead}-eth9.7", f".tmp.{dead}.3", f"stats/.tmp.{dead}.4",
            f"stats/{dead}-eth9.70"]          # a stats file whose ring has no file
    kept = [f"{dead}-eth9.8", f"stats/{dead}-eth9.8",      # another uid's
            "notes", f"{dead}-eth9", f"0{dead}-eth9.7", f"{dead}-eth9.7.bak",
            f"{dead}-eth9.7~", f"{dead}-.7", f".tmp.{dead}", f".tmp.{dead}.1.x", f"x{dead}-eth9.7",
            "stats/notes"]
    for name in gone + kept:
        (tree / name).write_text("x\n")
    for name in kept[:2]:
        os.chown(tree / name, OTHER_UID, OTHER_UID)
    os.mkdir(tree / f"{dead}-eth9.9")
    os.mkfifo(tree / f"{dead}-eth9.10")      # never opened (it would block)
    before = snapshot(tmp_path)
    out = run_child(tree, veth_pair)
    assert out["logged"] == [] and out["refresh"] == 1
    after = snapshot(tmp_path)
    assert {k for k in before if k not in after} == {f"pf_ring/{n}" for n in gone}
    assert all(after[f"pf_ring/{n}"] == before[f"pf_ring/{n}"] for n in kept)
    assert after[f"pf_ring/{dead}-eth9.9"][0] == "dir"
    assert after[f"pf_ring/{dead}-eth9.10"][0] == "other"


# -- one field, one line -----------------------------------------------------



@pytest.mark.parametrize("name, shown", [
    ("evil\nCluster Id : 66", r"evil\nCluster Id : 66"),
    ("cr\rtab\tend", r"cr\rtab\tend"),
    ("back\\slash\\n", r"back\\slash\\n"),
    ("\x01\x1b[31m\x7f\x00x", r"\x01\x1b[31m\x7f"),
    ("caf\u00e9 \u2713", "caf\u00e9 \u2713"),
])
def test_control_characters_in_the_application_name_stay_on_one_line(veth_pair, name, shown):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a)
    with ring:
        ring.set_application_name(name.split("\x00")[0])
        path = os.path.join(status.status_dir(), f"{os.getpid()}-{veth_pair.if_a}.{ring.ring_id}")
        text = open(path, encoding="utf-8").read()
        assert text.splitlines()[3] == f"Appl. Name             : {shown}"
        fields = status.parse_fields(text)
        assert list(fields) == RING_LABELS
        assert fields["Appl. Name"] == shown


def test_control_characters_in_pcap_pf_ring_appname(veth_pair, tmp_path, status_dir):
    assert shutil.which("tcpdump"), "tcpdump is missing: make setup installs it"
    env = {"PCAP_PF_RING_APPNAME": "td\nCluster Id : 66\r\\", "PF_RING_STATUS_DIR": status_dir}
    p = tcpdump(veth_pair.a, "ring", veth_pair.if_a, tmp_path / "s.pcap", "udp", env=env)
    try:
        rings = status.list_rings(str(status_dir))
        assert len(rings) == 1
        lines = rings[0].text.splitlines()
        assert lines[3] == r"Appl. Name             : td\nCluster Id : 66\r\\"
        assert list(rings[0].fields) == RING_LABELS
        assert rings[0].fields["Appl. Name"] == r"td\nCluster Id : 66\r\\"
    finally:
        p.stop()
