"""A short capture through a Python binding of libpcap, for
test_python_bindings.py, run in a namespace on one route.

``pcap_bindings_probe.py BINDING IFNAME FILTER COUNT``: BINDING is ``pypcap``
(PyPI pypcap, imported as ``pcap``) or ``libpcap`` (PyPI libpcap, a ctypes
binding).  The probe opens IFNAME, sets FILTER, prints ``ready``, captures
COUNT packets, then prints one JSON line: the frames (hex), the handle's
stats, pcap_lib_version() and the libpcap files the process mapped.
"""
import ctypes
import json
import sys


def libpcap_files():
    with open("/proc/self/maps") as f:
        return sorted({line.split()[-1] for line in f if "libpcap.so" in line})


def with_pypcap(ifname, expr, count):
    import pcap

    # A read timeout, as most users set: with none (or with immediate mode)
    # pypcap's pcap_next-then-select() loop on the system libpcap 1.10.3
    # often stops short with packets still queued (on the ring it does not).
    pc = pcap.pcap(name=ifname, snaplen=65535, promisc=True, timeout_ms=100)
    pc.setfilter(expr)
    print("ready", flush=True)
    frames = []
    for _, pkt in pc:
        frames.append(bytes(pkt).hex())
        if len(frames) == count:
            break
    recv, drop, ifdrop = pc.stats()
    version = ctypes.CDLL("libpcap.so.0.8").pcap_lib_version
    version.restype = ctypes.c_char_p
    return frames, [recv, drop], version().decode()


def with_libpcap(ifname, expr, count):
    import libpcap as pcap

    errbuf = ctypes.create_string_buffer(pcap.PCAP_ERRBUF_SIZE)
    pd = pcap.open_live(ifname.encode(), 65535, 1, 100, errbuf)
    if not pd:
        raise SystemExit(f"open_live: {errbuf.value.decode()}")
    code = pcap.bpf_program()
    if pcap.compile(pd, ctypes.byref(code), expr.encode(), 1, pcap.PCAP_NETMASK_UNKNOWN) < 0 \
            or pcap.setfilter(pd, ctypes.byref(code)) < 0:
        raise SystemExit(f"filter: {pcap.geterr(pd).decode()}")
    pcap.freecode(ctypes.byref(code))
    print("ready", flush=True)
    hdr = ctypes.POINTER(pcap.pkthdr)()
    data = ctypes.POINTER(ctypes.c_ubyte)()
    frames = []
    while len(frames) < count:
        rc = pcap.next_ex(pd, ctypes.byref(hdr), ctypes.byref(data))
        if rc < 0:
            raise SystemExit(f"next_ex: {rc} {pcap.geterr(pd).decode()}")
        if rc == 1:
            frames.append(bytes(data[:hdr.contents.caplen]).hex())
    st = pcap.stat()
    if pcap.stats(pd, ctypes.byref(st)) < 0:
        raise SystemExit(f"stats: {pcap.geterr(pd).decode()}")
    version = pcap.lib_version().decode()
    pcap.close(pd)
    return frames, [st.ps_recv, st.ps_drop], version


def main():
    binding, ifname, expr, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    run = {"pypcap": with_pypcap, "libpcap": with_libpcap}.get(binding)
    if run is None:
        raise SystemExit(f"BINDING must be pypcap or libpcap, not {binding!r}")
    frames, stats, version = run(ifname, expr, count)
    print(json.dumps({"frames": frames, "stats": stats, "version": version,
                      "maps": libpcap_files()}), flush=True)


if __name__ == "__main__":
    main()
