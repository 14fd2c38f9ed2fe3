"""The arithmetic and the text of bench/RESULTS.md, apart from measuring.

A run is a tuple ``(captured, offered_pps, cpu_s, max_rss_kb)``; a row is
one consumer's runs::

    {"max": [run, ...], "max_count": N,          # 64-byte frames, full speed
     "max1500": [run, ...],                       # 1500-byte frames (optional)
     "fixed": [run, ...], "fixed_count": N, "rate": PPS}

Nothing here touches the system, so tests/unit checks it without root.
"""
import statistics

# A consumer that captured at least this share of what was offered kept up
# with the generator: its pps says how fast pfsend went, not how fast it reads.
KEPT_UP = 0.995


def median3(values):
    """(median, min, max)."""
    return statistics.median(values), min(values), max(values)


def med(values):
    return statistics.median(values)


def fmt3(values, f="{:,.0f}"):
    m, lo, hi = median3(values)
    return f"{f.format(m)} ({f.format(lo)}..{f.format(hi)})"


def cap_pps(runs, count):
    """Captured packets per second of each run, over the sending window."""
    return [c * o / count for c, o, _, _ in runs]


def drop_pct(runs, count):
    return [100.0 * (count - c) / count for c, _, _, _ in runs]


def busy_pct(runs, count):
    """The consumer's CPU time as a share of the sending window (100 = a
    whole core)."""
    return [100.0 * cpu * o / count for _, o, cpu, _ in runs]


def cpu_per_pkt(runs):
    """CPU ns per captured packet of each run."""
    return [1e9 * cpu / max(c, 1) for c, _, cpu, _ in runs]


def capacity(runs):
    """What one core would capture at that CPU cost per packet: 1e9 / ns."""
    return [1e9 / max(ns, 1e-9) for ns in cpu_per_pkt(runs)]


def capture_share(row):
    """Median share of the offered frames captured at max rate."""
    return med([c / row["max_count"] for c, _, _, _ in row["max"]])


def kept_up(row):
    """True if the median max-rate run captured (almost) all it was offered."""
    return capture_share(row) >= KEPT_UP


def verdict(value, target, better):
    """'met' or 'MISSED by N%' for value against target; better is 'high'
    (value >= target) or 'low' (value < target for 'lt', <= for 'low')."""
    if better == "high":
        ok = value >= target
        short = 100.0 * (1 - value / target) if target else 0.0
    elif better == "lt":
        ok = value < target
        short = 100.0 * (value / target - 1) if target else 0.0
    else:
        ok = value <= target
        short = 100.0 * (value / target - 1) if target else 0.0
    if ok:
        return True, "met"
    return False, f"MISSED by {short:.1f}%" if short < 10 else f"MISSED by {short:.0f}%"


def _sign(better):
    return {"high": ">=", "low": "<=", "lt": "<"}[better]


# The ceiling row each consumer is compared with: the minimal reader with
# the same kernel block size and retire timeout (bench/run.py's CEILINGS,
# bench/README.md).  The scapy consumers run at another rate (and scapy's
# own socket has no ring), so they are compared among themselves.
LOW_LATENCY = "ceiling_256k_8ms"     # libpfring's defaults: pfcount, Ring
STOCK = "ceiling_256k_1s"            # stock libpcap as tcpdump and pcapy open it
BATCHED = "ceiling_1m_1s"            # libpcap-pfring without immediate mode
CEILING_OF = {
    "pfcount": LOW_LATENCY, "ring_batch": LOW_LATENCY, "ring_loop": LOW_LATENCY,
    "tcpdump": STOCK, "pcapy_stock": STOCK,
    "tcpdump_pfring": BATCHED, "pcapy_pfring": BATCHED,
}

# (key, text, numerator, denominator, measure, target, better)
# measure: "pps" (captured pps at max rate), "cpu" (CPU ns per packet at the
# fixed rate), "syscalls" (per packet, numerator only), "drain" (packets per
# second draining a pre-filled ring; denominator None: the target is in pps).
# A target of None only states the ratio.
TARGETS = [
    ("pfcount_cpu", "pfcount CPU per packet", "pfcount", LOW_LATENCY, "cpu", 1.2,
     "low"),
    ("pfcount_pps", "pfcount captured pps at max rate", "pfcount", LOW_LATENCY, "pps",
     0.95, "high"),
    ("batch_cpu", "Ring.recv_batch CPU per packet", "ring_batch", LOW_LATENCY, "cpu",
     2.5, "low"),
    ("loop_cpu", "Ring.loop CPU per packet", "ring_loop", LOW_LATENCY, "cpu", None,
     "low"),
    ("tcpdump_ceiling_cpu", "tcpdump (stock) CPU per packet", "tcpdump", STOCK,
     "cpu", None, "low"),
    ("pcapy_ceiling_cpu", "pcapy-ng (stock) CPU per packet", "pcapy_stock", STOCK,
     "cpu", None, "low"),
    ("tcpdump_pfring_ceiling_cpu", "tcpdump via libpcap-pfring CPU per packet",
     "tcpdump_pfring", BATCHED, "cpu", None, "low"),
    ("pcapy_pfring_ceiling_cpu", "pcapy-ng via libpcap-pfring CPU per packet",
     "pcapy_pfring", BATCHED, "cpu", None, "low"),
    ("tcpdump_pps", "tcpdump via libpcap-pfring / stock: captured pps", "tcpdump_pfring",
     "tcpdump", "pps", 1.0, "high"),
    ("tcpdump_cpu", "tcpdump via libpcap-pfring / stock: CPU per packet", "tcpdump_pfring",
     "tcpdump", "cpu", 1.0, "low"),
    ("batch_pfcount", "Ring.recv_batch / pfcount: captured pps", "ring_batch", "pfcount", "pps",
     0.5, "high"),
    ("batch_pcapy", "Ring.recv_batch / pcapy-ng on stock libpcap: captured pps", "ring_batch",
     "pcapy_stock", "pps", 3.0, "high"),
    ("scapy_cpu", "scapy on rings / scapy's own socket: CPU per packet", "scapy_pfring",
     "scapy_native", "cpu", 1.0, "low"),
    ("scapy_cluster", "2 clustered scapy / 1 scapy on rings: captured pps", "scapy_cluster2",
     "scapy_pfring", "pps", 1.7, "high"),
    ("pfcount_sys", "pfcount system calls per captured packet", "pfcount", None, "syscalls",
     0.01, "lt"),
    ("ring_loop_sys", "Ring.loop system calls per captured packet", "ring_loop", None, "syscalls",
     0.01, "lt"),
]


def _figure(value, unit):
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.3g} {unit}"


def evaluate(rows, strace):
    """One dict per target: key, text, line (for RESULTS.md), ok (None when
    not measured or when there is no target, only a ratio) and the
    consumers a profile of a miss should look at.  Each line gives the ratio
    and the two figures it comes from."""
    out = []
    for key, text, a, b, measure, target, better in TARGETS:
        if b is not None and b.startswith("ceiling"):
            text = f"{text} / {b}"
        res = {"key": key, "text": text, "consumers": [a] if b is None else [a, b], "ok": None}
        note = ""
        if measure == "syscalls":
            if a not in strace:
                res["line"] = f"- {text}: not measured"
                out.append(res)
                continue
            value = strace[a][2]
            shown = f"{value:.4f} ({strace[a][0]:,} calls / {strace[a][1]:,} packets)"
        elif a not in rows or b not in rows:
            res["line"] = f"- {text}: not measured"
            out.append(res)
            continue
        elif measure == "cpu":
            fa, fb = med(cpu_per_pkt(rows[a]["fixed"])), med(cpu_per_pkt(rows[b]["fixed"]))
            value = fa / fb
            shown = f"{value:.2f} ({_figure(fa, 'ns')} / {_figure(fb, 'ns')})"
        else:
            ra, rb = rows[a], rows[b]
            fa, fb = med(cap_pps(ra["max"], ra["max_count"])), med(cap_pps(rb["max"], rb["max_count"]))
            value = fa / fb
            shown = f"{value:.2f} ({_figure(fa, 'pps')} / {_figure(fb, 'pps')})"
            if kept_up(ra) and kept_up(rb):
                # Both read all the generator gave them: the pps ratio only
                # compares pfsend's speed in two sets of runs.  Judge on what
                # one core would capture at each one's CPU cost per packet,
                # and show the captured shares beside it.
                share = capture_share(ra) / capture_share(rb)
                ca, cb = med(capacity(ra["max"])), med(capacity(rb["max"]))
                value = ca / cb
                note = (f"; both captured all that was offered (generator-bound), so judged on "
                        f"one-core capacity (1e9 / CPU ns per packet in the same max-rate "
                        f"runs): {value:.2f} ({_figure(ca, 'pps')} / {_figure(cb, 'pps')}); "
                        f"captured shares {share:.2f}")
        res["value"] = value
        if target is None:
            res["line"] = f"- {text}: {shown}{note} (no target)"
            out.append(res)
            continue
        ok, word = verdict(value, target, better)
        res.update(ok=ok, line=f"- {text}: {shown}{note} (target {_sign(better)} {target}) {word}")
        out.append(res)
    return out
