"""A DNA Cluster slave process for the live tests.

    python -m pcap_pfring.testing.dna_slave DEVICE OUT [LIFETIME]

Opens DEVICE (``dnacluster:ID@APP``) with ``Ring``, prints ``ready``, then
writes every packet it receives to the file OUT, one hex line each, flushed
after every batch.  Commands on stdin, one a line:

    stop    drain the ring, print ``done N recv=R drop=D`` (packets written,
            the ring's stats) and exit 0

End of stdin counts as ``stop``.  A receive that fails prints ``error:
<message>`` and exits with status 1.  After LIFETIME seconds (default 60)
the process exits with status 3.  A failed open prints ``error: <message>``
and exits with status 1; usage errors exit with status 2.
"""
import select
import sys
import time

from pcap_pfring import Ring
from pcap_pfring.errors import PFRingError
from pcap_pfring.testing.member import _commands, _drain

USAGE = "usage: python -m pcap_pfring.testing.dna_slave DEVICE OUT [LIFETIME]"


def main(argv):
    if len(argv) not in (2, 3):
        print(USAGE, file=sys.stderr)
        return 2
    device, path = argv[0], argv[1]
    deadline = time.monotonic() + (float(argv[2]) if len(argv) == 3 else 60.0)
    try:
        ring = Ring(device, appname="dna_slave")
        ring.enable()
    except PFRingError as e:
        print(f"error: {e}", flush=True)
        return 1
    count, buf = 0, bytearray()
    with open(path, "w") as out:
        print("ready", flush=True)
        try:
            while time.monotonic() < deadline:
                got = ring.recv_batch(256, timeout=0.05)
                if got:
                    out.write("".join(data.hex() + "\n" for _, data in got))
                    out.flush()
                    count += len(got)
                ready, _, _ = select.select([0], [], [], 0)
                if not ready:
                    continue
                commands = _commands(buf)
                if commands is None or "stop" in commands:
                    count += _drain(ring, out)
                    st = ring.stats()
                    print(f"done {count} recv={st.recv} drop={st.drop}", flush=True)
                    ring.close()
                    return 0
        except PFRingError as e:
            print(f"error: {e}", flush=True)
            return 1
    print("dna_slave: lifetime over", file=sys.stderr, flush=True)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
