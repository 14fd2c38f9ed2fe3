"""Liveness across PID namespaces: a ring file, and a cluster member, is
alive while its writer holds the flock of its ring file, whatever PID
namespace the writer, the sweeper or the joiner lives in.

A pid means nothing across PID namespaces: an owner in a new namespace
(``unshare --pid --fork``) may have a pid that no process has here (so
kill(pid, 0) here says it is gone while it runs), or pid 1 (so kill(1, 0)
here says it runs long after it died).  The owners below are real
processes with real rings on a veth pair; they are killed with SIGKILL.

The tree is the run's private one (tests/conftest.py sets PF_RING_STATUS_DIR).
"""
import os
import re
import signal
import sys

import pytest

from pcap_pfring import ClusterType, InvalidArgumentError, Ring, status
from pcap_pfring.testing.procs import Process

pytestmark = pytest.mark.needs_root

UNSHARE = ["unshare", "--pid", "--fork", "--kill-child"]

# The ring owner: argv = ifname, wanted pid (1: the namespace's init itself,
# else a child forked with that pid), cluster id (0: none), cluster type.
OWNER = r"""
import os, sys, time
from pcap_pfring import ClusterType, Ring
ifname, wanted, cluster_id, cluster_type = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if wanted != 1:
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(wanted - 1))
    child = os.fork()
    if child:                     # init: waits for the owner, then ends the namespace
        os.waitpid(child, 0)
        os._exit(0)
ring = Ring(ifname, appname="inner")
ring.set_application_stats("Packets: 1")
if cluster_id:
    ring.set_cluster(cluster_id, ClusterType[cluster_type])
print("owner", os.getpid(), os.readlink("/proc/self"), ring.ring_id, flush=True)
time.sleep(120)
"""


def tree(*parts):
    return os.path.join(os.environ["PF_RING_STATUS_DIR"], *parts)


def free_pid():
    """A pid that no process has here (and below pid_max)."""
    with open("/proc/sys/kernel/pid_max") as f:
        top = min(int(f.read()), 1 << 22) - 64
    for pid in range(top, top - 4096, -1):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
    raise AssertionError(f"all of pids {top - 4095}..{top} are in use: cannot pick a dead owner")


class Owner:
    """OWNER in a new PID namespace inside the pair's namespace a."""

    def __init__(self, pair, pid, cluster_id=0, cluster_type="PER_FLOW_5_TUPLE"):
        self.proc = Process(pair.a, [*UNSHARE, sys.executable, "-c", OWNER, pair.if_a,
                                     str(pid), str(cluster_id), cluster_type], name="owner")
        _, inner, host, ring_id = self.proc.wait_out("owner ", timeout=30).split()
        self.pid, self.host_pid, self.ring_id = int(inner), int(host), int(ring_id)
        self.name = f"{self.pid}-{pair.if_a}.{self.ring_id}"

    def kill(self):
        """SIGKILL to the ring owner; returns once its namespace has ended."""
        os.kill(self.host_pid, signal.SIGKILL)
        self.proc.finish(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()


def run_inner(pair, code):
    """Python code in a new PID namespace inside namespace a: its stdout."""
    res = pair.a.run([*UNSHARE, sys.executable, "-c", code], timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    return res.stdout


def registry(pair, cluster_id):
    ino = os.stat(f"/run/netns/{pair.a.name}").st_ino
    return tree("clusters", f"{ino}-{cluster_id}")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


class _closing:
    """A Process killed (by its pid) when the block ends."""

    def __init__(self, proc):
        self.proc = proc

    def __enter__(self):
        return self.proc

    def __exit__(self, *exc):
        self.proc.kill()


def open_in_a(pair, **kw):
    with pair.a.enter():
        return Ring(pair.if_a, **kw)


# -- ring files --------------------------------------------------------------

def test_a_live_owner_in_another_pid_namespace_survives_the_sweep(veth_pair):
    wanted = free_pid()
    with Owner(veth_pair, wanted) as owner:
        assert owner.pid == wanted != owner.host_pid
        with pytest.raises(ProcessLookupError):
            os.kill(owner.pid, 0)           # here, that pid is nobody
        assert status.refresh() >= 1
        assert owner.name in os.listdir(tree())
        assert read(tree("stats", owner.name)) == "Packets: 1\n"
        mine = [r for r in status.list_rings() if r.name == owner.name]
        assert [r.fields["Appl. Name"] for r in mine] == ["inner"]
        owner.kill()
        status.refresh()
        assert owner.name not in os.listdir(tree())
        assert owner.name not in os.listdir(tree("stats"))


def test_a_dead_owner_whose_pid_is_alive_here_is_swept(veth_pair):
    with Owner(veth_pair, 1) as owner:
        assert owner.pid == 1 and owner.name in os.listdir(tree())
        owner.kill()
        os.kill(1, 0)                       # pid 1 runs here
        status.refresh()
        assert owner.name not in os.listdir(tree())
        assert owner.name not in os.listdir(tree("stats"))


def test_a_sweeper_in_another_pid_namespace_keeps_live_rings(veth_pair):
    with open_in_a(veth_pair, appname="outer") as ring:
        ring.set_application_stats("Packets: 2")
        name = f"{os.getpid()}-{veth_pair.if_a}.{ring.ring_id}"
        code = "from pcap_pfring import status\nprint(status.refresh())\n"
        live = int(run_inner(veth_pair, code).split()[-1])
        assert live >= 1
        assert name in os.listdir(tree())
        assert read(tree("stats", name)) == "Packets: 2\n"
        assert [r.fields["Appl. Name"] for r in status.list_rings() if r.name == name] == ["outer"]


def test_a_sweeper_in_another_pid_namespace_deletes_dead_rings(veth_pair):
    code = ("import sys, time\nfrom pcap_pfring import Ring\n"
            f"r = Ring({veth_pair.if_a!r})\nr.set_application_stats('x')\n"
            "import os\nprint('owner', os.getpid(), r.ring_id, flush=True)\ntime.sleep(120)\n")
    with _closing(Process(veth_pair.a, [sys.executable, "-c", code], name="outer-owner")) as p:
        _, pid, ring_id = p.wait_out("owner ", timeout=30).split()
        name = f"{pid}-{veth_pair.if_a}.{ring_id}"
        assert name in os.listdir(tree())
        os.kill(int(pid), signal.SIGKILL)
        p.finish(timeout=30)
    run_inner(veth_pair, "from pcap_pfring import status\nprint(status.refresh())\n")
    assert name not in os.listdir(tree())
    assert name not in os.listdir(tree("stats"))


def test_a_forked_child_does_not_keep_its_parents_ring_alive(veth_pair):
    code = ("import os, sys, time\nfrom pcap_pfring import Ring\n"
            f"r = Ring({veth_pair.if_a!r})\n"
            "child = os.fork()\n"
            "if child == 0:\n"
            "    time.sleep(120)\n"
            "    os._exit(0)\n"
            "print('owner', os.getpid(), child, r.ring_id, flush=True)\n"
            "time.sleep(120)\n")
    with _closing(Process(veth_pair.a, [sys.executable, "-c", code], name="parent")) as p:
        _, parent, child, ring_id = p.wait_out("owner ", timeout=30).split()
        name = f"{parent}-{veth_pair.if_a}.{ring_id}"
        try:
            assert status.refresh() >= 1 and name in os.listdir(tree())
            os.kill(int(parent), signal.SIGKILL)
            p.finish(timeout=30)
            os.kill(int(child), 0)          # the child, holding the parent's fds, runs on
            status.refresh()
            assert name not in os.listdir(tree())
        finally:
            try:
                os.kill(int(child), signal.SIGKILL)
            except ProcessLookupError:
                pass


# -- cluster members ---------------------------------------------------------

def refusal(cluster_id, joiner, member):
    return re.escape(f"cannot join cluster {cluster_id} as {joiner}: its members use {member}")


def test_a_member_in_another_pid_namespace_blocks_another_type(veth_pair):
    with Owner(veth_pair, free_pid(), cluster_id=66) as owner:
        path = registry(veth_pair, 66)
        assert read(path) == f"{owner.pid} {owner.ring_id} {int(ClusterType.PER_FLOW_5_TUPLE)}\n"
        with open_in_a(veth_pair) as ring:
            with pytest.raises(InvalidArgumentError,
                               match=refusal(66, "per_flow_2_tuple", "per_flow_5_tuple")):
                ring.set_cluster(66, ClusterType.PER_FLOW_2_TUPLE)
            ring.set_cluster(66, ClusterType.PER_FLOW_5_TUPLE)
            ring.remove_from_cluster()
            owner.kill()
            ring.set_cluster(66, ClusterType.PER_FLOW_2_TUPLE)
            assert read(path) == f"{os.getpid()} {ring.ring_id} 2\n"
        assert read(path) is None


def test_a_joiner_in_another_pid_namespace_sees_live_members(veth_pair):
    with open_in_a(veth_pair) as ring:
        ring.set_cluster(67, ClusterType.PER_FLOW_5_TUPLE)
        code = ("from pcap_pfring import ClusterType, InvalidArgumentError, Ring\n"
                f"r = Ring({veth_pair.if_a!r})\n"
                "try:\n"
                "    r.set_cluster(67, ClusterType.PER_FLOW_2_TUPLE)\n"
                "    print('joined')\n"
                "except InvalidArgumentError as e:\n"
                "    print(e)\n")
        assert run_inner(veth_pair, code).strip() == \
            "cannot join cluster 67 as per_flow_2_tuple: its members use per_flow_5_tuple"
        assert read(registry(veth_pair, 67)) == f"{os.getpid()} {ring.ring_id} 4\n"


def test_the_entry_of_a_killed_member_goes_away(veth_pair):
    with Owner(veth_pair, free_pid(), cluster_id=70) as owner:
        path = registry(veth_pair, 70)
        assert read(path) == f"{owner.pid} {owner.ring_id} 4\n"
        owner.kill()
        assert read(path) == f"{owner.pid} {owner.ring_id} 4\n"   # until a sweep
        assert status.refresh() >= 0
        assert read(path) is None
        assert owner.name not in os.listdir(tree())


def test_a_stale_member_whose_pid_is_reused_does_not_block_a_join(veth_pair):
    with Owner(veth_pair, 1, cluster_id=68) as owner:
        path = registry(veth_pair, 68)
        owner.kill()
    os.kill(1, 0)                           # "pid 1" runs here: kill(2) calls it alive
    assert read(path) == f"1 {owner.ring_id} 4\n"
    with open_in_a(veth_pair) as ring:
        ring.set_cluster(68, ClusterType.PER_FLOW_2_TUPLE)
        assert read(path) == f"{os.getpid()} {ring.ring_id} 2\n"


def test_a_line_of_a_live_pid_without_its_ring_file_does_not_block_a_join(veth_pair):
    path = registry(veth_pair, 69)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:               # our own, live pid; a ring that is gone
        f.write(f"{os.getpid()} 3999999999 4\n")
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a)
    with ring:
        ring.set_cluster(69, ClusterType.PER_FLOW_2_TUPLE)
        assert read(path) == f"{os.getpid()} {ring.ring_id} 2\n"
