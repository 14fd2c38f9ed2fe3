"""pcap and pcapng files, in pure Python (standard library only).

``read_pcap(path)`` reads a classic libpcap file in either byte order, with
microsecond (0xA1B2C3D4) or nanosecond (0xA1B23C4D) timestamps, and returns
its link type and its records exactly as stored, timestamps in seconds.

``read_pcapng(path)`` reads a pcapng file of Ethernet packets: its Section
Header, Interface Description, Enhanced Packet and Simple Packet blocks, in
either byte order (each section has its own), several sections one after
the other, each interface's time stamp resolution (``if_tsresol``) and
offset (``if_tsoffset``).  Other known block types that hold no packets
(name resolution, interface statistics, custom, ...) are skipped, as the
format asks of readers.  Records are ``(ts_ns, caplen, len, bytes)`` with
integer nanoseconds; a Simple Packet Block has no time stamp (0, as libpcap
reads it).

``read_packets(path)`` reads either format (told apart by the first four
bytes) with records as ``read_pcapng`` gives them.

A file that is not what it should be (another format, a block or record cut
short, lengths that disagree, a link type other than Ethernet in a pcapng
file, ...) raises ValueError with one line that names the file and says what
is wrong.

``write_pcap(path, frames, link=1)`` writes a little-endian microsecond file
of whole frames; ``PcapWriter`` writes records one at a time (pfdump).
"""
import struct

MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
LINKTYPE_ETHERNET = 1

_HEADER = 24          # magic, version, thiszone, sigfigs, snaplen, link type
_RECORD = 16          # seconds, fraction, captured length, original length

# pcapng block types
_IDB, _OPB, _SPB, _EPB = 1, 2, 3, 6
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_OPT_ENDOFOPT, _OPT_TSRESOL, _OPT_TSOFFSET = 0, 9, 14


# -- classic pcap -------------------------------------------------------------

def _pcap_records(data, path):
    """(link, ns per fraction unit, [(sec, frac, caplen, len, bytes)])."""
    if len(data) < 4:
        raise ValueError(f"{path}: {len(data)} bytes, not a pcap file")
    for order in "<>":
        magic, = struct.unpack(order + "I", data[:4])
        if magic in (MAGIC_USEC, MAGIC_NSEC):
            break
    else:
        raise ValueError(f"{path}: not a pcap file (magic {data[:4].hex()})")
    if len(data) < _HEADER:
        raise ValueError(f"{path}: truncated pcap file: {len(data)} bytes, "
                         f"shorter than the {_HEADER}-byte file header")
    link = struct.unpack(order + "I", data[20:24])[0] & 0x0FFFFFFF
    records, off = [], _HEADER
    while off < len(data):
        if off + _RECORD > len(data):
            raise ValueError(f"{path}: truncated pcap file: record {len(records) + 1} at byte "
                             f"{off} has {len(data) - off} of its {_RECORD} header bytes")
        sec, frac, incl, orig = struct.unpack(order + "IIII", data[off:off + _RECORD])
        body = data[off + _RECORD:off + _RECORD + incl]
        if len(body) < incl:
            raise ValueError(f"{path}: truncated pcap file: record {len(records) + 1} at byte "
                             f"{off} has {len(body)} of its {incl} captured bytes")
        records.append((sec, frac, incl, orig, body))
        off += _RECORD + incl
    return link, (1000 if magic == MAGIC_USEC else 1), records


def read_pcap(path):
    """(link type, [(seconds, caplen, len, bytes)]) of a pcap file of either
    byte order, in µs or ns."""
    with open(path, "rb") as f:
        data = f.read()
    link, unit, records = _pcap_records(data, path)
    scale = 1e-6 if unit == 1000 else 1e-9
    return link, [(sec + frac * scale, incl, orig, body) for sec, frac, incl, orig, body in records]


# -- pcapng -------------------------------------------------------------------

class _Interface:
    __slots__ = ("link", "snaplen", "num", "den", "offset_ns")

    def __init__(self, link, snaplen):
        self.link = link
        self.snaplen = snaplen
        self.num, self.den = 1000, 1      # ns per time stamp unit: µs by default
        self.offset_ns = 0

    def ts_ns(self, units):
        return units * self.num // self.den + self.offset_ns


def _options(body, order, path, where):
    """{code: value} of a pcapng options list (the first value of each code)."""
    opts, off = {}, 0
    while off + 4 <= len(body):
        code, length = struct.unpack_from(order + "HH", body, off)
        off += 4
        if code == _OPT_ENDOFOPT:
            break
        if off + length > len(body):
            raise ValueError(f"{path}: bad pcapng file: {where}: option {code} has "
                             f"{len(body) - off} of its {length} bytes")
        opts.setdefault(code, body[off:off + length])
        off += (length + 3) & ~3
    return opts


def _interface(body, order, path, where, number):
    if len(body) < 8:
        raise ValueError(f"{path}: bad pcapng file: {where}: an Interface Description Block "
                         f"of {len(body)} body bytes (at least 8)")
    link, _, snaplen = struct.unpack_from(order + "HHI", body)
    if link != LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: interface {number} has link type {link}, "
                         f"only Ethernet ({LINKTYPE_ETHERNET}) is read")
    idb = _Interface(link, snaplen)
    opts = _options(body[8:], order, path, where)
    if _OPT_TSRESOL in opts:
        if len(opts[_OPT_TSRESOL]) != 1:
            raise ValueError(f"{path}: bad pcapng file: {where}: if_tsresol of "
                             f"{len(opts[_OPT_TSRESOL])} bytes (1)")
        res = opts[_OPT_TSRESOL][0]
        if res & 0x80:                       # 2^-n seconds
            if res & 0x7F > 63:
                raise ValueError(f"{path}: bad pcapng file: {where}: if_tsresol 2^-{res & 0x7F}")
            idb.num, idb.den = 1_000_000_000, 1 << (res & 0x7F)
        elif res <= 9:                       # 10^-n seconds
            idb.num, idb.den = 10 ** (9 - res), 1
        elif res <= 18:
            idb.num, idb.den = 1, 10 ** (res - 9)
        else:
            raise ValueError(f"{path}: bad pcapng file: {where}: if_tsresol 10^-{res}")
    if _OPT_TSOFFSET in opts:
        if len(opts[_OPT_TSOFFSET]) != 8:
            raise ValueError(f"{path}: bad pcapng file: {where}: if_tsoffset of "
                             f"{len(opts[_OPT_TSOFFSET])} bytes (8)")
        idb.offset_ns = struct.unpack(order + "q", opts[_OPT_TSOFFSET])[0] * 1_000_000_000
    return idb


def _section_order(data, off, path):
    """The byte order of the section whose header starts at ``off``."""
    if len(data) - off < 12:
        raise ValueError(f"{path}: truncated pcapng file: the Section Header Block at byte "
                         f"{off} has {len(data) - off} of its first 12 bytes")
    bom = data[off + 8:off + 12]
    if bom == struct.pack("<I", _BYTE_ORDER_MAGIC):
        return "<"
    if bom == struct.pack(">I", _BYTE_ORDER_MAGIC):
        return ">"
    raise ValueError(f"{path}: bad pcapng file: the Section Header Block at byte {off} has "
                     f"byte-order magic {bom.hex()}")


def _pcapng_records(data, path):
    if len(data) < 4 or struct.unpack("<I", data[:4])[0] != PCAPNG_SHB:
        raise ValueError(f"{path}: not a pcapng file (magic {data[:4].hex()})")
    records, ifaces, order, off = [], [], "<", 0
    while off < len(data):
        if len(data) - off < 8:
            raise ValueError(f"{path}: truncated pcapng file: {len(data) - off} bytes at byte "
                             f"{off}, shorter than a block header")
        if struct.unpack_from("<I", data, off)[0] == PCAPNG_SHB:
            order = _section_order(data, off, path)
        btype, blen = struct.unpack_from(order + "II", data, off)
        where = f"block {btype:#x} at byte {off}"
        if blen < 12 or blen % 4:
            raise ValueError(f"{path}: bad pcapng file: {where} has length {blen} "
                             "(a multiple of 4, at least 12)")
        if off + blen > len(data):
            raise ValueError(f"{path}: truncated pcapng file: {where} has "
                             f"{len(data) - off} of its {blen} bytes")
        tail, = struct.unpack_from(order + "I", data, off + blen - 4)
        if tail != blen:
            raise ValueError(f"{path}: bad pcapng file: {where} has length {blen} at its "
                             f"start and {tail} at its end")
        body = data[off + 8:off + blen - 4]
        if btype == PCAPNG_SHB:
            if len(body) < 16:
                raise ValueError(f"{path}: bad pcapng file: {where}: a Section Header Block "
                                 f"of {len(body)} body bytes (at least 16)")
            major, minor = struct.unpack_from(order + "HH", body, 4)
            if major != 1:
                raise ValueError(f"{path}: pcapng version {major}.{minor}, "
                                 "only version 1 is read")
            ifaces = []                          # interfaces are per section
        elif btype == _IDB:
            ifaces.append(_interface(body, order, path, where, len(ifaces)))
        elif btype == _EPB:
            if len(body) < 20:
                raise ValueError(f"{path}: bad pcapng file: {where}: an Enhanced Packet Block "
                                 f"of {len(body)} body bytes (at least 20)")
            ifx, hi, lo, incl, orig = struct.unpack_from(order + "IIIII", body)
            if ifx >= len(ifaces):
                raise ValueError(f"{path}: bad pcapng file: {where}: packet on interface {ifx}, "
                                 f"the section describes {len(ifaces)}")
            if incl > len(body) - 20:
                raise ValueError(f"{path}: bad pcapng file: {where}: {incl} captured bytes "
                                 f"in a block with room for {len(body) - 20}")
            records.append((ifaces[ifx].ts_ns(hi << 32 | lo), incl, orig, body[20:20 + incl]))
        elif btype == _SPB:
            if not ifaces:
                raise ValueError(f"{path}: bad pcapng file: {where}: a Simple Packet Block "
                                 "before any Interface Description Block")
            if len(body) < 4:
                raise ValueError(f"{path}: bad pcapng file: {where}: a Simple Packet Block "
                                 f"of {len(body)} body bytes (at least 4)")
            orig, = struct.unpack_from(order + "I", body)
            incl = min(orig, len(body) - 4)
            if ifaces[0].snaplen:
                incl = min(incl, ifaces[0].snaplen)
            records.append((0, incl, orig, body[4:4 + incl]))
        elif btype == _OPB:
            raise ValueError(f"{path}: bad pcapng file: {where}: the obsolete Packet Block "
                             "is not read")
        off += blen
    return records


def read_pcapng(path):
    """(link type, [(ts_ns, caplen, len, bytes)]) of a pcapng file of
    Ethernet packets (see the module docstring)."""
    with open(path, "rb") as f:
        data = f.read()
    return LINKTYPE_ETHERNET, _pcapng_records(data, path)


def read_packets(path):
    """(link type, [(ts_ns, caplen, len, bytes)]) of a pcap or pcapng file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == struct.pack("<I", PCAPNG_SHB):
        return LINKTYPE_ETHERNET, _pcapng_records(data, path)
    link, unit, records = _pcap_records(data, path)
    return link, [(sec * 1_000_000_000 + frac * unit, incl, orig, body)
                  for sec, frac, incl, orig, body in records]


# -- writing ------------------------------------------------------------------

def write_pcap(path, frames, link=1):
    """A little-endian µs pcap of frames, 1 ms apart."""
    out = [struct.pack("<IHHiIII", MAGIC_USEC, 2, 4, 0, 0, 262144, link)]
    for i, f in enumerate(frames):
        out.append(struct.pack("<IIII", 1_700_000_000 + i // 1000, (i % 1000) * 1000,
                               len(f), len(f)) + f)
    with open(path, "wb") as fh:
        fh.write(b"".join(out))


_REC = struct.Struct("<IIII")


class PcapWriter:
    """Records into a little-endian µs pcap file (``'-'``: stdout), as
    libpcap's ``pcap_dump`` writes them.  The file is created at once;
    ``write()`` adds one record; ``close()`` (or ``with``) flushes."""

    def __init__(self, path, snaplen, link=LINKTYPE_ETHERNET):
        if path == "-":
            import sys
            self._f, self._own = sys.stdout.buffer, False
        else:
            self._f, self._own = open(path, "wb"), True
        self.path = path
        self._f.write(struct.pack("<IHHiIII", MAGIC_USEC, 2, 4, 0, 0, snaplen, link))

    def write(self, ts_ns, length, data):
        """One record: ``data`` (its bytes as captured), ``length`` on the wire."""
        sec, ns = divmod(ts_ns, 1_000_000_000)
        self._f.write(_REC.pack(sec, ns // 1000, len(data), length))
        self._f.write(data)

    def flush(self):
        self._f.flush()

    def close(self):
        if self._f is None:
            return
        f, self._f = self._f, None
        if self._own:
            f.close()
        else:
            f.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
