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
    rows = {"ceiling_256k_8ms": row([run(1000)], 1000, [run(1000, cpu_s=100e-6)]),
            "pfcount": row([run(1000)], 1000, [run(1000, cpu_s=130e-6)])}
    by_key = {t["key"]: t for t in report.evaluate(rows, {})}
    cpu = by_key["pfcount_cpu"]
    assert cpu["ok"] is False
    assert cpu["consumers"] == ["pfcount", "ceiling_256k_8ms"]
    assert cpu["line"] == ("- pfcount CPU per packet / ceiling_256k_8ms: 1.30 (130 ns / 100 ns) "
                           "(target <= 1.2) MISSED by 8.3%")
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
        "- tcpdump via libpcap-pfring / stock: captured pps: 0.90 (90,000 pps / 100,000 pps); "
        "both captured all that was offered (generator-bound), so judged on one-core capacity "
        "(1e9 / CPU ns per packet in the same max-rate runs): 1.25 (2,500,000 pps / "
        "2,000,000 pps); captured shares 1.00 (target >= 1.0) met")
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
        "- 2 clustered scapy / 1 scapy on rings: captured pps: 1.80 (540 pps / 300 pps) "
        "(target >= 1.7) met")
    assert by_key["pfcount_sys"]["ok"] is False
    assert by_key["ring_loop_sys"]["line"] == (
        "- Ring.loop system calls per captured packet: 0.0045 (900 calls / 200,000 packets) "
        "(target < 0.01) met")


def test_every_consumer_is_compared_with_its_own_ceiling():
    report_rows = {n: row([run(1000)], 1000, [run(1000, cpu_s=cpu)]) for n, cpu in (
        ("ceiling_256k_8ms", 40e-6), ("ceiling_256k_1s", 30e-6), ("ceiling_1m_1s", 25e-6),
        ("ring_loop", 200e-6), ("tcpdump", 75e-6), ("tcpdump_pfring", 70e-6),
        ("ring_batch", 90e-6))}
    by_key = {t["key"]: t for t in report.evaluate(report_rows, {})}
    for name, ceiling in report.CEILING_OF.items():
        matching = [t for t in by_key.values() if t["consumers"] == [name, ceiling]]
        assert matching, name
    assert by_key["loop_cpu"]["line"] == (
        "- Ring.loop CPU per packet / ceiling_256k_8ms: 5.00 (200 ns / 40 ns) (no target)")
    assert by_key["loop_cpu"]["ok"] is None
    assert by_key["tcpdump_ceiling_cpu"]["consumers"] == ["tcpdump", "ceiling_256k_1s"]
    assert round(by_key["tcpdump_pfring_ceiling_cpu"]["value"], 2) == 2.8
    batch = by_key["batch_cpu"]
    assert (batch["ok"], batch["line"]) == (True, (
        "- Ring.recv_batch CPU per packet / ceiling_256k_8ms: 2.25 (90 ns / 40 ns) "
        "(target <= 2.5) met"))
    assert by_key["pcapy_pfring_ceiling_cpu"]["line"].endswith(": not measured")


def drained(*runs):
    return {"drain": [(c, sec, cpu) for c, sec, cpu in runs], "drain_count": 1000}


def test_drain_rates_and_cpu():
    runs = [(1000, 0.001, 0.0005), (1000, 0.002, 0.001)]
    assert report.drain_pps(runs) == [1_000_000.0, 500_000.0]
    assert report.drain_cpu_per_pkt(runs) == [500.0, 1000.0]


def test_drain_targets_state_their_ratios_and_figures():
    rows = {"ceiling_256k_8ms": drained((800_000, 0.02, 0.02), (800_000, 0.04, 0.02),
                                        (800_000, 0.03, 0.02)),
            "pfcount": drained((800_000, 0.04, 0.04)),
            "ring_batch": drained((800_000, 0.1, 0.1)),
            "tcpdump": drained((800_000, 0.1, 0.1)),
            "tcpdump_pfring": drained((800_000, 0.125, 0.1))}
    by_key = {t["key"]: t for t in report.evaluate(rows, {})}
    # 20 Mpps against the ceiling's median of 26.67 Mpps (40, 20, 26.67)
    assert by_key["pfcount_drain"]["line"] == (
        "- pfcount drain pps / ceiling_256k_8ms: 0.75 (20.00 Mpps / 26.67 Mpps) "
        "(target >= 0.8) MISSED by 6.2%")
    assert by_key["batch_drain"]["line"] == (
        "- Ring.recv_batch drain pps: 8.00 Mpps (target >= 5 Mpps) met")
    assert by_key["batch_drain_tcpdump"]["ok"] is True
    assert by_key["tcpdump_drain"]["line"] == (
        "- tcpdump via libpcap-pfring / stock: drain pps: 0.80 (6.40 Mpps / 8.00 Mpps) "
        "(target >= 1.0) MISSED by 20%")
    # rows without traffic runs: those targets are not measured, not errors
    assert by_key["pfcount_cpu"]["line"].endswith(": not measured")
    del rows["tcpdump"]
    by_key = {t["key"]: t for t in report.evaluate(rows, {})}
    assert by_key["tcpdump_drain"]["ok"] is None
    assert by_key["tcpdump_drain"]["line"].endswith(": not measured")
