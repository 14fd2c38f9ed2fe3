"""pfsend: send synthetic IPv4/IPv6 UDP frames (many flows) or replay a pcap
file, like PF_RING's pfsend.

The send loop is C (``pp_send_loop`` for the synthetic frames,
``pp_send_frames`` for a pcap file read by the system libpcap) in a worker
thread; the main thread prints the TX rate every second and stops the loop
through a stop flag on SIGINT/SIGTERM or -d.

Output on stdout, as PF_RING's pfsend (on stderr instead with --json, whose
one JSON object is then all that stdout gets).
"""
import argparse
import ipaddress
import json
import struct
import sys

from .._ffi import ffi, lib
from ..errors import check
from ..ring import Ring, SocketMode
from . import _common

TOOL = "pfsend"
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


def load_pcap(path):
    """The frames of a pcap/pcapng file, read by the system libpcap in C:
    a ``struct pp_frames *`` freed with the returned object."""
    out = ffi.new("struct pp_frames **")
    errbuf = ffi.new("char[]", 512)
    if lib.pp_frames_load_pcap(path.encode(), out, errbuf, 512) != 0:
        raise ValueError(ffi.string(errbuf).decode("utf-8", "replace"))
    return ffi.gc(out[0], lib.pp_frames_free)


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
        handle = ring._h()
        if replay is None:
            src_mac = args.src_mac or bytes.fromhex(ring.bound_device_address.replace(":", ""))
            frames = build_frames(args.length, src_mac, args.dst_mac, args.src_ip, args.dst_ip,
                                  args.num_src, args.num_dst, args.num_ports, args.ip_version)
            buf = ffi.new("u_char[]", b"".join(frames))
            avg_len = args.length
        else:
            avg_len = replay.bytes / replay.n
        pps = args.pps or 0.0
        if args.gbps is not None and args.gbps > 0:
            pps = pps_for_gbps(args.gbps, avg_len)
        timing = int(args.gbps == -1)
        if not args.quiet:
            print(f"Using PF_RING v.{ring.version} on {args.device}", file=human)
            print(f"Sending packets on {args.device}", file=human, flush=True)

        counters = ffi.new("struct pp_counters *")
        stop = ffi.new("int *")

        def work():
            if replay is None:
                return lib.pp_send_loop(handle, buf, args.length, len(frames), args.count, pps,
                                        counters, stop)
            return lib.pp_send_frames(handle, replay, args.count, pps, timing, counters, stop)

        last = [0.0, 0, 0]

        def tick():
            now, n, b = runner.elapsed, counters.pkts, counters.bytes
            if not args.quiet:
                print(tx_rate_line(now, n, b, last), file=human, flush=True)
            last[:] = [now, n, b]

        runner = _common.Runner(work, lambda: stop.__setitem__(0, 1), period=1.0,
                                duration=args.duration, tick=tick)
        check(runner.run(), handle)
        dur = runner.elapsed
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
