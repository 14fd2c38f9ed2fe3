"""A cluster member process for the live tests.

    python -m pcap_pfring.testing.member DEVICE CLUSTER_ID TYPE OUT [LIFETIME]

Joins cluster CLUSTER_ID with TYPE (a ``ClusterType`` number) on DEVICE,
prints ``ready`` once the ring is enabled (so a member of the kernel's
fanout group), then writes every packet it receives to the file OUT, one hex
line each, flushed after every batch.  Commands on stdin, one a line:

    close   drain the ring (until it is empty for 0.3 s), close it, print
            ``closed N`` (packets written so far) and keep running
    stop    drain the ring (if still open), print ``done N`` and exit 0

End of stdin counts as ``stop``.  Whatever happens, the process exits with
status 3 after LIFETIME seconds (default 60), so a broken test cannot leave
it behind.  Usage errors exit with status 2.
"""
import os
import select
import sys
import time

from pcap_pfring import ClusterType, Ring

QUIET = 0.3
USAGE = "usage: python -m pcap_pfring.testing.member DEVICE CLUSTER_ID TYPE OUT [LIFETIME]"


def _drain(ring, out, quiet=QUIET):
    n = 0
    while True:
        got = ring.recv_batch(1024, timeout=quiet)
        if not got:
            return n
        out.write("".join(data.hex() + "\n" for _, data in got))
        out.flush()
        n += len(got)


def _commands(buf):
    """Complete lines read from stdin without blocking; None at end of input."""
    data = os.read(0, 4096)
    if not data:
        return None
    buf += data
    *lines, rest = buf.split(b"\n")
    buf[:] = rest
    return [line.decode().strip() for line in lines]


def main(argv):
    if len(argv) not in (4, 5):
        print(USAGE, file=sys.stderr)
        return 2
    device, cluster_id, ctype, path = argv[0], int(argv[1]), ClusterType(int(argv[2])), argv[3]
    deadline = time.monotonic() + (float(argv[4]) if len(argv) == 5 else 60.0)
    ring = Ring(device, appname="member")
    ring.set_cluster(cluster_id, ctype)
    ring.enable()
    count, buf = 0, bytearray()
    with open(path, "w") as out:
        print("ready", flush=True)
        while time.monotonic() < deadline:
            if ring is not None:
                got = ring.recv_batch(256, timeout=0.05)
                if got:
                    out.write("".join(data.hex() + "\n" for _, data in got))
                    out.flush()
                    count += len(got)
            ready, _, _ = select.select([0], [], [], 0 if ring is not None else 0.1)
            if not ready:
                continue
            commands = _commands(buf)
            for cmd in commands if commands is not None else ["stop"]:
                if cmd in ("close", "stop") and ring is not None:
                    count += _drain(ring, out)
                    ring.close()
                    ring = None
                if cmd == "close":
                    print(f"closed {count}", flush=True)
                elif cmd == "stop":
                    print(f"done {count}", flush=True)
                    return 0
                elif cmd:
                    print(f"member: unknown command {cmd!r}", file=sys.stderr, flush=True)
    print("member: lifetime over", file=sys.stderr, flush=True)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
