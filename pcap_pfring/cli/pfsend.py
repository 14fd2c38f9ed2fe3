"""pfsend: send synthetic IPv4/IPv6 UDP frames (many flows) or replay a pcap
file, like PF_RING's pfsend.

The frames (built by ``build_frames``, or read from a pcap/pcapng file by
``pcap_pfring.pcapfile``) are packed once into a ``Frames`` table, and one
loop (``send()``) hands them to ``Ring.send_many`` in chunks: at full speed
chunks of ``CHUNK`` frames, paced (-p, -r, or -r -1 for the file's own
timing) as many frames as are due, then a sleep until the next one is.
Between chunks ``_common.Run`` prints the TX rate every second;
SIGINT/SIGTERM, -n and -d end the loop.

Output on stdout, as PF_RING's pfsend (on stderr instead with --json, whose
one JSON object is then all that stdout gets).
"""
import argparse
import bisect
import ipaddress
import json
import struct
import sys
import time

from ..pcapfile import LINKTYPE_ETHERNET, read_packets
from ..ring import Frames, Ring, SocketMode
from . import _common

TOOL = "pfsend"
CHUNK = 4096                # frames per send_many call at most
AHEAD = 50e-6               # a frame due within this is sent now, not slept for
TX_FULL_PAUSE = 100e-6      # the sleep when the TX ring is full
LINK_NAMES = {0: "NULL", 1: "EN10MB", 101: "RAW", 105: "IEEE802_11", 113: "LINUX_SLL",
              127: "IEEE802_11_RADIO", 276: "LINUX_SLL2"}
WIRE_OVERHEAD = 24          # preamble 8 + FCS 4 + inter-frame gap 12 bytes
MIN_LEN = {4: 60, 6: 62}    # Ethernet + IP + UDP headers, padded to 60
DEFAULT_IPS = {4: ("10.0.0.1", "192.168.0.1"), 6: ("fd00::10:0:0:1", "fd00::192:168:0:1")}
SRC_PORT, DST_PORT = 10000, 9


def mac_address(text):
    """argparse type: aa:bb:cc:dd:ee:ff (or with '-') -> 6 bytes."""
    try:
        raw = bytes.fromhex(text.replace(":", "").replace("-", ""))
    except ValueError:
        raw = b""
    if len(raw) != 6:
        raise argparse.ArgumentTypeError(f"bad MAC address '{text}'")
    return raw


def build_parser():
    p = _common.make_parser(TOOL, "Send packets on a PF_RING ring (PF_RING's pfsend): "
                                  "UDP frames of many flows, or the frames of a pcap file.")
    _common.add_options(p, "device", "count", "duration", "quiet", "json",
                        count={"flags": ("-n",), "help": "packets to send (0: no limit, "
                                                         "the default)"})
    p.add_argument("-l", dest="length", type=_common.positive_int, metavar="LEN",
                   help="frame length without FCS (default and minimum 60, IPv6 62)")
    p.add_argument("-r", dest="gbps", type=float, metavar="GBPS",
                   help="rate in Gbit/s on the wire (-1 with -f: the pcap's own timing)")
    p.add_argument("-p", dest="pps", type=_common.positive_float, metavar="PPS",
                   help="rate in packets per second")
    p.add_argument("-b", dest="num_src", type=_common.positive_int, default=1, metavar="N",
                   help="N distinct source IP addresses (default 1)")
    p.add_argument("-c", dest="num_dst", type=_common.positive_int, default=1, metavar="N",
                   help="N distinct destination IP addresses (default 1)")
    p.add_argument("-t", dest="num_ports", type=_common.positive_int, default=1, metavar="N",
                   help=f"N distinct UDP source ports from {SRC_PORT} (default 1)")
    p.add_argument("-S", dest="src_ip", metavar="IP",
                   help="first source IP (default 10.0.0.1; IPv6 fd00::10:0:0:1)")
    p.add_argument("-D", dest="dst_ip", metavar="IP",
                   help="first destination IP (default 192.168.0.1; IPv6 fd00::192:168:0:1)")
    p.add_argument("-M", dest="dst_mac", type=mac_address, default=mac_address("02:00:00:00:00:02"),
                   metavar="MAC", help="destination MAC (default 02:00:00:00:00:02)")
    p.add_argument("-m", dest="src_mac", type=mac_address, metavar="MAC",
                   help="source MAC (default: the device's)")
    p.add_argument("-V", dest="ip_version", type=int, choices=(4, 6), default=4,
                   help="IP version of the synthetic frames (default 4)")
    p.add_argument("-f", dest="pcap", metavar="FILE",
                   help="send the frames of this pcap/pcapng file (round robin with -n)")
    return p


# -- frames ----------------------------------------------------------------

def _fold(total):
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def ip_checksum(data):
    """The Internet checksum (RFC 1071) of ``data``; 0 over a correct header."""
    if len(data) % 2:
        data += b"\0"
    return ~_fold(sum(struct.unpack(f"!{len(data) // 2}H", data))) & 0xFFFF


def udp_checksum(src, dst, segment):
    """UDP checksum over the IPv4 or IPv6 pseudo-header (src/dst: packed)."""
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, 17, len(segment))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(segment), 17)
    return ip_checksum(pseudo + segment) or 0xFFFF


def build_frames(length, src_mac, dst_mac, src_ip, dst_ip, num_src=1, num_dst=1, num_ports=1,
                 ip_version=4):
    """``num_src * num_dst * num_ports`` distinct UDP frames of ``length``
    bytes (no FCS): source addresses from ``src_ip`` up, destinations from
    ``dst_ip`` up, source ports from 10000 up; valid IP and UDP checksums."""
    if ip_version not in MIN_LEN:
        raise ValueError(f"IP version must be 4 or 6, not {ip_version}")
    if length < MIN_LEN[ip_version]:
        raise ValueError(f"frame length {length} is below the minimum of {MIN_LEN[ip_version]}"
                         f" for IPv{ip_version}")
    if min(num_src, num_dst, num_ports) < 1:
        raise ValueError("-b, -c and -t must be at least 1")
    if SRC_PORT + num_ports - 1 > 0xFFFF:
        raise ValueError(f"-t {num_ports}: more ports than there are")
    s0, d0 = ipaddress.ip_address(src_ip), ipaddress.ip_address(dst_ip)
    if s0.version != ip_version or d0.version != ip_version:
        raise ValueError(f"-S/-D must be IPv{ip_version} addresses")
    srcs = [(s0 + i).packed for i in range(num_src)]      # OverflowError past the end
    dsts = [(d0 + i).packed for i in range(num_dst)]
    l3_len = length - 14
    hdr_len = 20 if ip_version == 4 else 40
    udp_len = l3_len - hdr_len
    payload = bytes(udp_len - 8)
    ethertype = b"\x08\x00" if ip_version == 4 else b"\x86\xdd"
    eth = dst_mac + src_mac + ethertype
    frames = []
    for src in srcs:
        for dst in dsts:
            for port in range(SRC_PORT, SRC_PORT + num_ports):
                udp = struct.pack("!HHHH", port, DST_PORT, udp_len, 0) + payload
                udp = udp[:6] + struct.pack("!H", udp_checksum(src, dst, udp)) + udp[8:]
                if ip_version == 4:
                    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, l3_len, 0, 0x4000, 64, 17, 0,
                                     src, dst)
                    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
                else:
                    ip = struct.pack("!IHBB16s16s", 6 << 28, udp_len, 17, 64, src, dst)
                frames.append(eth + ip + udp)
    return frames


def pps_for_gbps(gbps, frame_len):
    """Packets per second that make ``gbps`` on the wire (FCS, preamble and
    gap included) with frames of ``frame_len`` bytes."""
    return gbps * 1e9 / ((frame_len + WIRE_OVERHEAD) * 8)


class Replay:
    """The frames of a capture file: ``frames`` (a ``Frames`` table) and
    ``offsets_ns``, when each frame is due after the first one by the
    file's time stamps (never earlier than the frame before it)."""

    __slots__ = ("frames", "offsets_ns")

    def __init__(self, frames, offsets_ns):
        self.frames = frames
        self.offsets_ns = offsets_ns


def load_pcap(path):
    """The frames of a pcap or pcapng file of Ethernet packets, as a
    ``Replay``.  A file pfsend cannot send raises ValueError (OSError when it
    cannot be read)."""
    link, records = read_packets(path)
    if link != LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: link type {LINK_NAMES.get(link, link)}, only Ethernet "
                         "(EN10MB) can be sent")
    if not records:
        raise ValueError(f"{path}: no packets")
    for i, (_, caplen, _, _) in enumerate(records):
        if caplen == 0:
            raise ValueError(f"{path}: packet {i + 1} has no bytes")
    t0, due, offsets = records[0][0], 0, []
    for ts, _, _, _ in records:
        due = max(due, ts - t0)
        offsets.append(due)
    return Replay(Frames([r[3] for r in records]), offsets)


class Counters:
    __slots__ = ("pkts", "bytes")

    def __init__(self):
        self.pkts = 0
        self.bytes = 0


def send(ring, frames, run, counters, count=0, pps=0.0, offsets_ns=None):
    """Send ``frames`` (a ``Frames``) round robin until ``run`` stops or
    ``count`` frames (0: no limit), counting into ``counters``.  Full speed,
    or ``pps`` frames per second, or (``offsets_ns``) at the times of a
    capture, each pass starting when the one before ended."""
    n = len(frames)
    i = 0                              # the next frame
    start = pass_start = time.monotonic()
    while not run.stopped and (count == 0 or counters.pkts < count):
        want = CHUNK if count == 0 else min(CHUNK, count - counters.pkts)
        if offsets_ns is not None:
            now_ns = int((time.monotonic() - pass_start) * 1e9 + AHEAD * 1e9)
            due = bisect.bisect_right(offsets_ns, now_ns, i) - i
            if due == 0:
                run.sleep_until(pass_start + offsets_ns[i] / 1e9)
                continue
            want = min(want, due)
        elif pps > 0:
            due = int((time.monotonic() + AHEAD - start) * pps) + 1 - counters.pkts
            if due <= 0:
                run.sleep_until(start + counters.pkts / pps)
                continue
            want = min(want, due)
        sent, nbytes = ring.send_many(frames, i, want)
        counters.pkts += sent
        counters.bytes += nbytes
        i = (i + sent) % n
        if offsets_ns is not None and sent and i == 0:
            pass_start = time.monotonic()
        if sent == 0:                  # the TX ring is full
            run.sleep_until(time.monotonic() + TX_FULL_PAUSE)
        else:
            run.service()


# -- the tool --------------------------------------------------------------

def _check_args(parser, args):
    if args.gbps is not None and args.pps is not None:
        parser.error("-r and -p both set the rate; use one")
    if args.gbps is not None and args.gbps <= 0 and not (args.gbps == -1 and args.pcap):
        parser.error("-r must be a positive rate (or -1 with -f for the pcap's timing)")
    v = args.ip_version
    if args.length is None:
        args.length = MIN_LEN[v]
    elif args.length < MIN_LEN[v] and not args.pcap:
        parser.error(f"-l {args.length} is below the minimum of {MIN_LEN[v]} for IPv{v}")
    args.src_ip = args.src_ip or DEFAULT_IPS[v][0]
    args.dst_ip = args.dst_ip or DEFAULT_IPS[v][1]
    for flag, text, n in (("-S", args.src_ip, args.num_src), ("-D", args.dst_ip, args.num_dst)):
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            parser.error(f"{flag} {text}: not an IP address")
        if addr.version != v:
            parser.error(f"{flag} {text}: not an IPv{v} address (see -V)")
        if int(addr) + n - 1 > int(addr.max_prefixlen * "1", 2):
            parser.error(f"{flag} {text}: no room for {n} addresses from there")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    human = sys.stderr if args.json else sys.stdout
    replay = load_pcap(args.pcap) if args.pcap else None

    with Ring(args.device) as ring:
        ring.set_socket_mode(SocketMode.SEND_ONLY)
        ring.set_application_name(TOOL)
        ring.enable()
        offsets = None
        if replay is None:
            src_mac = args.src_mac or bytes.fromhex(ring.bound_device_address.replace(":", ""))
            frames = Frames(build_frames(args.length, src_mac, args.dst_mac, args.src_ip,
                                         args.dst_ip, args.num_src, args.num_dst,
                                         args.num_ports, args.ip_version))
        else:
            frames = replay.frames
            if args.gbps == -1:
                offsets = replay.offsets_ns
        pps = args.pps or 0.0
        if args.gbps is not None and args.gbps > 0:
            pps = pps_for_gbps(args.gbps, frames.bytes / len(frames))
        if not args.quiet:
            print(f"Using PF_RING v.{ring.version} on {args.device}", file=human)
            print(f"Sending packets on {args.device}", file=human, flush=True)

        counters = Counters()
        last = [0.0, 0, 0]

        def tick():
            now, n, b = run.elapsed, counters.pkts, counters.bytes
            if not args.quiet:
                print(tx_rate_line(now, n, b, last), file=human, flush=True)
            last[:] = [now, n, b]

        run = _common.Run(period=1.0, duration=args.duration, tick=tick)
        with run:
            send(ring, frames, run, counters, args.count, pps, offsets)
        dur = run.elapsed
        if args.json:
            print(json.dumps({"device": args.device, "sent": counters.pkts,
                              "bytes": counters.bytes, "duration_s": round(dur, 3),
                              "pps": round(counters.pkts / dur, 1) if dur > 0 else 0.0,
                              "gbps": round(_gbps(counters.pkts, counters.bytes, dur), 6)}),
                  flush=True)
        else:
            print(f"Sent {counters.pkts} packets", flush=True)
    return 0


def _gbps(pkts, nbytes, secs):
    return (nbytes + WIRE_OVERHEAD * pkts) * 8 / secs / 1e9 if secs > 0 else 0.0


def tx_rate_line(now, pkts, nbytes, last):
    """PF_RING's per-second line; ``last`` is (time, pkts, bytes) before."""
    fmt = _common.fmt
    t0, p0, b0 = last
    dt = now - t0
    cur = (pkts - p0) / dt if dt > 0 else 0.0
    avg = pkts / now if now > 0 else 0.0
    return (f"TX rate: [current {fmt(cur, True)} pps/{fmt(_gbps(pkts - p0, nbytes - b0, dt), True)}"
            f" Gbps][average {fmt(avg, True)} pps/{fmt(_gbps(pkts, nbytes, now), True)} Gbps]"
            f"[total {fmt(pkts)} pkts]")


main = _common.run_main(TOOL, main)


def run():
    sys.exit(main())
