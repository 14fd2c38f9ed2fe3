"""Classic libpcap files, in pure Python (standard library only).

``read_pcap(path)`` reads a file in either byte order, with microsecond
(0xA1B2C3D4) or nanosecond (0xA1B23C4D) timestamps, and returns its link
type and its records exactly as stored.  A file that is not a pcap file, or
that ends inside its header or a record, raises ValueError saying so.

``write_pcap(path, frames, link=1)`` writes a little-endian microsecond file.
pcapng is not read.
"""
import struct

MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D
LINKTYPE_ETHERNET = 1

_HEADER = 24          # magic, version, thiszone, sigfigs, snaplen, link type
_RECORD = 16          # seconds, fraction, captured length, original length


def read_pcap(path):
    """(link type, [(seconds, caplen, len, bytes)]) of a pcap file of either
    byte order, in µs or ns."""
    with open(path, "rb") as f:
        data = f.read()
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
    scale = 1e-6 if magic == MAGIC_USEC else 1e-9
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
        records.append((sec + frac * scale, incl, orig, body))
        off += _RECORD + incl
    return link, records


def write_pcap(path, frames, link=1):
    """A little-endian µs pcap of frames, 1 ms apart."""
    out = [struct.pack("<IHHiIII", MAGIC_USEC, 2, 4, 0, 0, 262144, link)]
    for i, f in enumerate(frames):
        out.append(struct.pack("<IIII", 1_700_000_000 + i // 1000, (i % 1000) * 1000,
                               len(f), len(f)) + f)
    with open(path, "wb") as fh:
        fh.write(b"".join(out))
