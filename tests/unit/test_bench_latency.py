"""bench/report.py's latency figures and section (no timing here)."""
import importlib.util
import os

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "report.py")
_spec = importlib.util.spec_from_file_location("bench_report_latency", _PATH)
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)


def test_nearest_rank_percentiles():
    values = list(range(100, 0, -1))            # 1..100, unsorted
    assert report.percentile(values, 50) == 50
    assert report.percentile(values, 99) == 99
    assert report.percentile(values, 100) == 100
    assert report.percentile([7], 99) == 7
    assert report.percentile([1, 2, 3], 50) == 2


def test_figures_are_microseconds_per_run_and_skip_empty_runs():
    runs = [[1000, 2000, 3000], [], [10_000] * 99 + [500_000]]
    meds, p99s, got = report.latency_figures(runs)
    assert meds == [2.0, 10.0]
    assert p99s == [3.0, 10.0]
    assert got == [3, 100]


def test_section_rows_and_target_verdicts_on_every_probe():
    lat = {"pcap_stock": [[100_000] * 10, [60_000] * 9 + [300_000]],
           "pcap_pfring": [[90_000] * 10, [50_000] * 10],
           "ring_immediate": [[150_000] * 10]}
    lines = report.latency_lines(lat, 10, 5)
    text = "\n".join(lines)
    assert lines[0] == "## Latency: one packet at a time"
    # every probe: 20 of stock's, median the 10th (100 us), p99 the 20th (300 us)
    assert ("| pcap_stock | 100.0 | 300.0 | 80.0 (60.0..100.0) | 200.0 (100.0..300.0) | "
            "10 (10..10) |") in text
    assert "| ring_immediate | 150.0 | 150.0 | 150.0 (150.0..150.0) |" in text
    assert "ring_batched" not in text                 # not measured: no row
    assert lines[-2] == ("- libpcap-pfring / stock libpcap, immediate mode: median delay: "
                         "0.50 (50.0 µs / 100.0 µs, all probes) (target <= 1.0) met")
    assert lines[-1] == ("- libpcap-pfring / stock libpcap, immediate mode: p99 delay: "
                         "0.30 (90.0 µs / 300.0 µs, all probes) (target <= 1.0) met")
    slower = dict(lat, pcap_pfring=[[150_000] * 20])
    assert report.latency_lines(slower, 10, 5)[-2].endswith("MISSED by 50%")
    assert report.latency_lines({}, 10, 5)[-2].endswith("median delay: not measured")
    assert report.latency_lines({}, 10, 5)[-1].endswith("p99 delay: not measured")


def test_nmap_os_time_line():
    lat = {"nmap_os": {"stock": [11.5, 11.7, 11.6], "ring": [11.8, 11.6, 11.7]}}
    lines = report.latency_lines(lat, 10, 5)
    assert lines[-1] == ("- nmap -O time, libpcap-pfring / stock: 1.01 (11.70 s / 11.60 s) "
                         "(target <= 1.05) met")
    assert "stock 11.60 (11.50..11.70), through libpcap-pfring 11.70 (11.60..11.80)" in \
        "\n".join(lines)
    slow = {"nmap_os": {"stock": [11.5], "ring": [14.1]}}
    assert report.latency_lines(slow, 10, 5)[-1].endswith("MISSED by 17%")
    assert not any("nmap" in line for line in report.latency_lines({"nmap_os": {}}, 10, 5))
