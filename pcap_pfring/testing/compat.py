"""Helpers for running unmodified pcap programs on rings and on stock libpcap.

A *route* says which libpcap a program gets:

- ``"ring"``: this package's libpcap drop-in first on LD_LIBRARY_PATH (what
  ``pfring-run`` does), captures on PF_RING rings;
- ``"fallback"``: the drop-in, with PCAP_NO_PF_RING set;
- ``"stock"``: the system libpcap, untouched.

Traffic is built here with real checksums (so tcpdump prints it like any
other traffic) and sent from AF_PACKET sockets inside the test's namespaces.
"""
import os
import signal
import struct
import subprocess
import threading
import time

from ..cli.pfring_run import libdir
from ..netns import default_sigint, send_frames
from ..pcapfile import read_pcap, write_pcap  # noqa: F401  (re-exported for the suites)

ROUTES = ("ring", "fallback", "stock")
# The two routes most tests compare, and what the drop-in says on the ring route
# (PCAP_PF_RING_DEBUG=1).
TWO_ROUTES = ("ring", "stock")
ON_RING = "capturing on a PF_RING ring"


def route_env(route, base=None, **variables):
    """The environment of a program run on ``route``, plus ``variables``
    (None removes a variable)."""
    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}")
    env = dict(os.environ if base is None else base)
    env.pop("PCAP_NO_PF_RING", None)
    if route in ("ring", "fallback"):
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            d for d in (libdir(), env.get("LD_LIBRARY_PATH", "")) if d)
        env["PCAP_PF_RING_RUN"] = "1"
    else:
        env.pop("LD_LIBRARY_PATH", None)
    if route == "fallback":
        env["PCAP_NO_PF_RING"] = "1"
    for k, v in variables.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


# -- frames ----------------------------------------------------------------

def checksum(data):
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(text):
    return bytes(int(x) for x in text.split("."))


def ipv4_frame(dst_mac, src_mac, src, dst, proto, sport, dport, payload=b"", vlan=None,
               ident=1):
    """An Ethernet/IPv4 frame with a UDP (17) or TCP (6) header, checksums set;
    ``vlan`` adds an 802.1Q tag."""
    s, d = ip4(src), ip4(dst)
    if proto == 17:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        pseudo = s + d + struct.pack("!BBH", 0, 17, len(l4))
        l4 = l4[:6] + struct.pack("!H", checksum(pseudo + l4) or 0xFFFF) + l4[8:]
    elif proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, ident, 0, 5 << 4, 0x18, 8192, 0, 0) + payload
        pseudo = s + d + struct.pack("!BBH", 0, 6, len(l4))
        l4 = l4[:16] + struct.pack("!H", checksum(pseudo + l4)) + l4[18:]
    else:
        raise ValueError("proto must be 6 or 17")
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident & 0xFFFF, 0x4000, 64,
                      proto, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    tag = b"" if vlan is None else struct.pack("!HH", 0x8100, vlan)
    f = dst_mac + src_mac + tag + b"\x08\x00" + hdr + l4
    return f + b"\0" * max(0, 60 - len(f))


def flow_frames(pair, flows, per_direction=2, tcp_every=3):
    """Frames of ``flows`` flows in both directions across ``pair``:
    ``(rx, tx)`` lists, rx sent from b to a, tx sent from a to b.  Flow i runs
    between 10.1.<i>.1 and 10.2.<i>.2, TCP for every ``tcp_every``-th flow
    and UDP otherwise, with ports 20000+i and 80 or 53; each frame's payload
    names its flow, direction and number."""
    rx, tx = [], []
    for i in range(flows):
        a, b = f"10.2.{i // 250}.{i % 250 + 1}", f"10.1.{i // 250}.{i % 250 + 1}"
        proto, port = (6, 80) if i % tcp_every == 0 else (17, 53)
        for k in range(per_direction):
            rx.append(ipv4_frame(pair.mac_a, pair.mac_b, b, a, proto, 20000 + i, port,
                                 f"flow {i} rx {k}".encode(), ident=i * 16 + k))
            tx.append(ipv4_frame(pair.mac_b, pair.mac_a, a, b, proto, port, 20000 + i,
                                 f"flow {i} tx {k}".encode(), ident=i * 16 + 8 + k))
    return rx, tx


def flow_of(frame):
    """The flow number written in a frame by flow_frames, or None."""
    text = frame[frame.find(b"flow "):]
    if not text.startswith(b"flow "):
        return None
    return int(text.split(b" ")[1])


send = send_frames     # the compat suites' name for it


def collect_with_traffic(pair, progs, collect, rx, tx=()):
    """Frames for programs already capturing on a's veth: ``rx`` sent from b,
    ``tx`` from a.  Then ``collect(name, program)`` of each program in
    ``progs`` (a dict), as a dict; every program is stopped whatever happens."""
    try:
        send_frames(pair.b, pair.if_b, rx)
        send_frames(pair.a, pair.if_a, tx)
        return {name: collect(name, p) for name, p in progs.items()}
    finally:
        for p in progs.values():
            p.stop()


# -- pcap files (read_pcap and write_pcap are pcap_pfring.pcapfile's) -------

def wait_records(path, n, timeout=10.0):
    """Wait until the pcap file at path holds at least n packets; its frames.
    The file is read at least once (timeout 0 reads it now); a file not
    created yet, or caught in the middle of a record, is read again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            frames = [r[3] for r in read_pcap(path)[1]]
        except (OSError, ValueError):
            frames = []
        if len(frames) >= n or time.monotonic() >= deadline:
            return frames
        time.sleep(0.05)


# -- programs --------------------------------------------------------------

class Program:
    """A program started in a namespace; stderr and stdout are collected by
    threads so that a chatty program never blocks."""

    def __init__(self, ns, argv, env, cwd=None):
        self.argv = argv
        self.proc = subprocess.Popen(ns.cmd(argv), env=env, cwd=cwd, preexec_fn=default_sigint,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.out, self.err = [], []
        self._threads = [threading.Thread(target=self._pump, args=(s, buf), daemon=True)
                         for s, buf in ((self.proc.stdout, self.out),
                                        (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(stream, buf):
        for line in iter(stream.readline, b""):
            buf.append(line.decode("utf-8", "replace"))

    @property
    def stderr(self):
        return "".join(self.err)

    @property
    def stdout(self):
        return "".join(self.out)

    def wait_for(self, text, timeout=10.0, stream="err"):
        """Wait until ``text`` appears on stderr (or stdout); AssertionError
        with what the program said if it does not, or if it exits first."""
        buf = self.err if stream == "err" else self.out
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in "".join(buf):
                return
            if self.proc.poll() is not None:
                time.sleep(0.1)
                if text in "".join(buf):
                    return
                break
            time.sleep(0.02)
        self.stop()
        raise AssertionError(f"{self.argv[0]} never printed {text!r}; "
                             f"exit {self.proc.returncode}, stderr: {self.stderr!r}")

    def wait(self, timeout=10.0):
        """The exit status; the program is killed if it outlives timeout."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"{self.argv[0]} did not exit within {timeout} s; "
                                 f"stderr: {self.stderr!r}") from None
        for t in self._threads:
            t.join(2)
        return self.proc.returncode

    def stop(self, sig=signal.SIGINT, timeout=5.0):
        """Send sig, then SIGKILL after timeout; the exit status."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        for t in self._threads:
            t.join(2)
        return self.proc.returncode


def tcpdump(ns, route, ifname, out, *args, env=None):
    """tcpdump -w out on ifname in ns, on route, started and listening."""
    p = Program(ns, ["tcpdump", "-n", "-U", "-i", ifname, "-w", str(out), *args],
                route_env(route, **(env or {})))
    p.wait_for("listening on")
    return p


def packet_sockets(ns, ifname=None):
    """The capturing packet sockets in ns (bound for ETH_P_ALL and running),
    from /proc/net/packet; only those bound to ifname if given."""
    index = None
    if ifname is not None:
        index = int(ns.run(["cat", f"/sys/class/net/{ifname}/ifindex"]).stdout)
    rows = ns.run(["cat", "/proc/net/packet"]).stdout.splitlines()[1:]
    found = []
    for row in rows:
        f = row.split()
        if f[3] == "0003" and f[5] == "1" and (index is None or int(f[4]) == index):
            found.append(int(f[8]))
    return found


def wait_packet_sockets(ns, n, ifname=None, timeout=10.0):
    """Wait until ns has at least n capturing packet sockets (on ifname):
    for programs that say they capture before their capture is open."""
    deadline = time.monotonic() + timeout
    while True:
        found = packet_sockets(ns, ifname)
        if len(found) >= n:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"{len(found)} capturing packet sockets in {ns.name}, "
                                 f"not {n}, after {timeout} s")
        time.sleep(0.05)


def stock_filter(tmp_path, frames, expr):
    """The frames that stock libpcap's compiled ``expr`` selects, in order:
    frames written to a pcap under tmp_path and read back by tcpdump -r."""
    write_pcap(tmp_path / "sent.pcap", frames)
    subprocess.run(["tcpdump", "-r", str(tmp_path / "sent.pcap"), "-w",
                    str(tmp_path / "selected.pcap"), expr], env=route_env("stock"),
                   capture_output=True, check=True, timeout=30)
    return [r[3] for r in read_pcap(tmp_path / "selected.pcap")[1]]
