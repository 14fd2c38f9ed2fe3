"""pfsend: send synthetic frames (many flows) or replay a pcap file.

The send loop is C (``pp_send_loop``) in a worker thread; this thread prints
the TX rate every second and stops the loop on SIGINT/SIGTERM.
"""
import ipaddress
import json
import struct
import sys
import threading
import time

from .._ffi import ffi, lib
from ..errors import check
from ..ring import Ring, SocketMode
from . import _common

TOOL = "pfsend"


def build_parser():
    p = _common.make_parser(TOOL, "Send packets on a PF_RING ring.")
    _common.add_options(p, "device", "json", "duration", "quiet")
    p.add_argument("-l", dest="length", type=int, default=60, help="frame length (min 60)")
    p.add_argument("-n", dest="count", type=int, default=0, help="packets to send (0 = forever)")
    p.add_argument("-r", dest="gbps", type=float, default=0.0, help="rate in Gbit/s")
    p.add_argument("-p", dest="pps", type=float, default=0.0, help="rate in packets/s")
    p.add_argument("-b", dest="num_src", type=int, default=1, help="distinct source IPs")
    p.add_argument("-c", dest="num_dst", type=int, default=1, help="distinct destination IPs")
    p.add_argument("-t", dest="num_ports", type=int, default=1, help="distinct source ports")
    p.add_argument("-S", dest="src_ip", default="10.0.0.1", help="first source IP")
    p.add_argument("-D", dest="dst_ip", default="192.168.0.1", help="first destination IP")
    p.add_argument("-M", dest="dst_mac", default="02:00:00:00:00:02", help="destination MAC")
    p.add_argument("-m", dest="src_mac", help="source MAC (default: the device's)")
    p.add_argument("-f", dest="pcap", help="replay the frames of this pcap file")
    return p


def _mac(text):
    raw = bytes.fromhex(text.replace(":", ""))
    if len(raw) != 6:
        raise ValueError(f"bad MAC address '{text}'")
    return raw


def ip_checksum(header):
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_frames(length, src_mac, dst_mac, src_ip, dst_ip, num_src=1, num_dst=1, num_ports=1):
    """num_src x num_dst x num_ports IPv4/UDP frames of ``length`` bytes."""
    if length < 60:
        raise ValueError(f"frame length {length} is below the minimum of 60")
    if min(num_src, num_dst, num_ports) < 1:
        raise ValueError("-b, -c and -t must be at least 1")
    s0, d0 = int(ipaddress.IPv4Address(src_ip)), int(ipaddress.IPv4Address(dst_ip))
    ip_len = length - 14
    frames = []
    for si in range(num_src):
        for di in range(num_dst):
            for pi in range(num_ports):
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, 0, 0x4000, 64, 17, 0,
                                 (s0 + si).to_bytes(4, "big"), (d0 + di).to_bytes(4, "big"))
                ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
                udp = struct.pack("!HHHH", 10000 + pi, 9, ip_len - 20, 0)
                payload = bytes(ip_len - 28)
                frames.append(dst_mac + src_mac + b"\x08\x00" + ip + udp + payload)
    return frames


def read_pcap(path):
    """The frames of a pcap file (classic format, either byte order)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: not a pcap file")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a pcap file (pcapng is not supported)")
    frames, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    if not frames:
        raise ValueError(f"{path}: no packets")
    return frames


def main(argv=None):
    args = build_parser().parse_args(argv)
    out = sys.stdout
    with Ring(args.device) as ring:
        ring.set_socket_mode(SocketMode.SEND_ONLY)
        ring.set_application_name(TOOL)
        ring.enable()
        if args.pcap:
            frames = read_pcap(args.pcap)
        else:
            src_mac = _mac(args.src_mac) if args.src_mac else _mac(ring.bound_device_address)
            frames = build_frames(args.length, src_mac, _mac(args.dst_mac), args.src_ip,
                                  args.dst_ip, args.num_src, args.num_dst, args.num_ports)
        # One flat buffer of equally sized slots; the C loop walks it.
        size = max(len(f) for f in frames)
        if len({len(f) for f in frames}) != 1:
            frames_sized = frames
        else:
            frames_sized = None
        pps = args.pps
        if args.gbps > 0:
            pps = args.gbps * 1e9 / ((size + 24) * 8)
        if not args.quiet and not args.json:
            print(f"Using PF_RING v.{ring.version} on {args.device}", file=out)
            print(f"Sending packets on {args.device}", file=out, flush=True)
        counters = ffi.new("struct pp_counters *")
        stop = ffi.new("int *")
        stopper = _common.Stopper(lambda: stop.__setitem__(0, 1))
        result = {}

        def worker():
            try:
                if frames_sized is None:
                    buf = ffi.new("u_char[]", b"".join(frames))
                    result["rc"] = lib.pp_send_loop(ring._ring, buf, size, len(frames),
                                                    args.count, pps, counters, stop)
                else:   # replayed frames of different lengths: one at a time
                    result["rc"] = _send_varied(ring, frames_sized, args.count, pps, counters, stop)
            except BaseException as exc:
                result["exc"] = exc
            finally:
                stopper.event.set()

        start = time.monotonic()
        t = threading.Thread(target=worker, daemon=True)
        t.start()
        deadline = start + args.duration if args.duration else None
        last_t, last_n = start, 0
        while not stopper.event.wait(1 if deadline is None else max(0, min(1, deadline - time.monotonic()))):
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                stopper.stop()
                break
            n = counters.pkts
            if not args.quiet and not args.json:
                cur = (n - last_n) / (now - last_t)
                avg = n / (now - start)
                print(f"TX rate: [current {_common.fmt(cur, True)} pps/"
                      f"{cur * (size + 24) * 8 / 1e9:.2f} Gbps][average {_common.fmt(avg, True)} pps/"
                      f"{avg * (size + 24) * 8 / 1e9:.2f} Gbps][total {_common.fmt(n)} pkts]",
                      file=out, flush=True)
            last_t, last_n = now, n
        stop[0] = 1
        t.join()
        if "exc" in result:
            raise result["exc"]
        check(result.get("rc", 0), ring._ring)
        dur = time.monotonic() - start
        if args.json:
            print(json.dumps({"sent": counters.pkts, "bytes": counters.bytes,
                              "duration_s": round(dur, 3),
                              "pps": round(counters.pkts / dur, 1) if dur else 0.0}))
        else:
            print(f"Sent {counters.pkts} packets", file=out, flush=True)
    return 0


def _send_varied(ring, frames, count, pps, counters, stop):
    """Frames of different sizes: the C loop once per frame, in order."""
    i = 0
    start = time.monotonic()
    while not stop[0] and (count == 0 or counters.pkts < count):
        f = frames[i % len(frames)]
        one = ffi.new("struct pp_counters *")
        rc = lib.pp_send_loop(ring._ring, f, len(f), 1, 1, 0.0, one, stop)
        if rc < 0:
            return rc
        counters.pkts += one.pkts
        counters.bytes += one.bytes
        i += 1
        if pps > 0:
            delay = start + counters.pkts / pps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    return 0


main = _common.run_main(TOOL, main)


def run():
    sys.exit(main())
