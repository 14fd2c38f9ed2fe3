"""bench/report.py: the arithmetic behind bench/RESULTS.md (no timing here)."""
import importlib.util
import os

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "report.py")
_spec = importlib.util.spec_from_file_location("bench_report", _PATH)
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)


def run(captured, offered=100_000.0, cpu_s=0.1, rss_kb=1024):
    return (captured, offered, cpu_s, rss_kb)


def row(max_runs, count, fixed_runs):
    return {"max": max_runs, "max_count": count, "fixed": fixed_runs,
            "fixed_count": 1000, "rate": 1000}


def test_median_min_max_and_format():
    assert report.median3([3, 1, 2]) == (2, 1, 3)
    assert report.fmt3([1500.4, 999.6, 2000]) == "1,500 (1,000..2,000)"
    assert report.fmt3([0.04, 0.15, 1.0], "{:.1f}") == "0.1 (0.0..1.0)"


def test_per_run_figures():
    runs = [run(500, offered=2000.0, cpu_s=0.25), run(1000, offered=1000.0, cpu_s=0.5)]
    # 1000 frames offered at 2000 pps: a 0.5 s window, 500 captured in it
    assert report.cap_pps(runs, 1000) == [1000.0, 1000.0]
    assert report.drop_pct(runs, 1000) == [50.0, 0.0]
    assert report.busy_pct(runs, 1000) == [50.0, 50.0]
    assert report.cpu_per_pkt(runs) == [500_000.0, 500_000.0]
    assert report.capacity(runs) == [2000.0, 2000.0]


def test_verdicts_say_by_how_much():
    assert report.verdict(1.2, 1.2, "low") == (True, "met")
    assert report.verdict(1.27, 1.2, "low") == (False, "MISSED by 5.8%")
    assert report.verdict(0.5, 1.0, "high") == (False, "MISSED by 50%")
    assert report.verdict(0.01, 0.01, "lt") == (False, "MISSED by 0.0%")
    assert report.verdict(0.0099, 0.01, "lt") == (True, "met")


def test_kept_up():
    assert report.kept_up(row([run(996), run(1000), run(10)], 1000, []))
    assert not report.kept_up(row([run(994), run(1000), run(10)], 1000, []))


def test_evaluate_cpu_and_unmeasured():
    rows = {"ceiling": row([run(1000)], 1000, [run(1000, cpu_s=100e-6)]),
            "pfcount": row([run(1000)], 1000, [run(1000, cpu_s=130e-6)])}
    by_key = {t["key"]: t for t in report.evaluate(rows, {})}
    cpu = by_key["pfcount_cpu"]
    assert cpu["ok"] is False
    assert cpu["consumers"] == ["pfcount", "ceiling"]
    assert cpu["line"] == ("- pfcount CPU per packet / ceiling: 1.30 (target <= 1.2) "
                           "MISSED by 8.3%")
    assert by_key["tcpdump_cpu"]["ok"] is None
    assert by_key["tcpdump_cpu"]["line"].endswith(": not measured")
    assert by_key["pfcount_sys"]["ok"] is None


def test_evaluate_pps_generator_bound_uses_capacity():
    # both captured all (or almost all) frames: the generator's speed differs
    # between the runs, so what a core could capture at each one's CPU cost
    # is compared; the captured shares are shown
    rows = {"tcpdump_pfring": row([run(1000, offered=90_000.0, cpu_s=0.4e-3)], 1000,
                                  [run(1000, cpu_s=9e-3)]),
            "tcpdump": row([run(1000, cpu_s=0.5e-3)], 1000, [run(1000, cpu_s=1e-3)])}
    t = {t["key"]: t for t in report.evaluate(rows, {})}["tcpdump_pps"]
    assert t["value"] == 1.25          # from the max-rate runs, not the fixed-rate ones
    assert t["ok"] is True
    assert t["line"] == (
        "- tcpdump via libpcap-pfring / stock: captured pps: 0.90; both captured all that was "
        "offered (generator-bound), so judged on one-core capacity (1e9 / CPU ns per packet "
        "in the same max-rate runs): 1.25; captured shares 1.00 (target >= 1.0) met")
    rows["tcpdump_pfring"]["max"] = [run(996, offered=90_000.0, cpu_s=2e-3)]
    t = {t["key"]: t for t in report.evaluate(rows, {})}["tcpdump_pps"]
    assert (t["ok"], round(t["value"], 3)) == (False, 0.249)
    assert t["line"].endswith("(target >= 1.0) MISSED by 75%")


def test_evaluate_pps_consumer_bound_and_syscalls():
    rows = {"scapy_pfring": row([run(300, offered=1000.0)], 1000, [run(300)]),
            "scapy_cluster2": row([run(540, offered=1000.0)], 1000, [run(540)])}
    strace = {"pfcount": (2000, 200_000, 0.01, []), "ring_loop": (900, 200_000, 0.0045, [])}
    by_key = {t["key"]: t for t in report.evaluate(rows, strace)}
    assert by_key["scapy_cluster"]["line"] == (
        "- 2 clustered scapy / 1 scapy on rings: captured pps: 1.80 (target >= 1.7) met")
    assert by_key["pfcount_sys"]["ok"] is False
    assert by_key["ring_loop_sys"]["line"] == (
        "- Ring.loop system calls per captured packet: 0.0045 (target < 0.01) met")
