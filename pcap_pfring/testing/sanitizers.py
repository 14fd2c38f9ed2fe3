"""The suites under `make asan` (a pytest plugin, loaded by testing.plugin).

`make asan` runs the suites on a pcap_pfring built with AddressSanitizer and
UBSan, with libasan preloaded into every process and ASAN_OPTIONS naming a
log_path: each report, of this process or of any program a test starts,
becomes a file in that directory.  This plugin is inert unless ASAN_OPTIONS
has a log_path.  Then it

- refuses to run on a package that was not built with the sanitizers;
- fails a test during which a report file appears (at its teardown), with
  the reports' summary lines;
- skips the tests in NOT_UNDER_ASAN, each with its reason;
- gives the C programs that tests build the same flags (c_flags) and leak
  checking (c_env), since no CPython allocation is involved there.

The last step of `make asan` (tools/asan-logs) prints every report in full
and fails the run if there is one.
"""
import os

import pytest

# Tests that cannot mean anything under make asan: node id prefix -> reason.
NOT_UNDER_ASAN = {
    "compat-tests/test_tcpdump.py::test_status_counters_stay_live_after_tcpdump_drops_privileges":
        "runs ps, which hangs with libasan preloaded",
    "compat-tests/test_bundled_libpcap.py::":
        "pfring-run's LD_AUDIT module would map a C library before the preloaded "
        "runtime (make asan sets PFRING_RUN_AUDIT=0)",
    "tests/live/test_secure_exec.py::test_without_privilege_the_variables_are_honoured":
        "its program is built without the sanitizer runtime, which refuses to be preloaded "
        "into it; run with privilege (the other tests of the file) the preload is dropped",
    "compat-tests/test_wireshark.py::test_tshark_count_writes_what_stock_writes":
        "tshark hangs with libasan preloaded, on stock libpcap too",
    "compat-tests/test_wireshark.py::test_interface_listing_is_the_stock_listing[argv1]":
        "tshark hangs with libasan preloaded, on stock libpcap too",
}


def _options(name):
    opts = {}
    for item in os.environ.get(name, "").replace(" ", ":").split(":"):
        key, sep, value = item.partition("=")
        if sep:
            opts[key] = value
    return opts


def log_dir():
    """The directory of make asan's report files, or None outside make asan."""
    path = _options("ASAN_OPTIONS").get("log_path")
    return os.path.dirname(path) if path else None


def c_flags():
    """Compiler flags for C programs the tests build: make asan's
    sanitizer flags under make asan, else none.  UBSan's checks change what
    gcc knows of value ranges, and -Wformat-truncation then warns about
    snprintf calls that the plain build finds bounded: a warning, not an
    error, for programs built with -Werror."""
    if not log_dir():
        return []
    return [*os.environ.get("SANITIZER_CFLAGS", "").split(), "-Wno-error=format-truncation"]


def c_env(env):
    """``env`` for running a C program built with c_flags(): leak checking
    on (the program is all ours), the reports still in log_dir()."""
    if not log_dir():
        return env
    env = dict(env)
    opts = _options("ASAN_OPTIONS")
    opts["detect_leaks"] = "1"
    env["ASAN_OPTIONS"] = ":".join(f"{k}={v}" for k, v in opts.items())
    for k in ("UBSAN_OPTIONS", "LD_PRELOAD"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def _reports(directory):
    try:
        return set(os.listdir(directory))
    except FileNotFoundError:
        return set()


def _summary(path):
    """The report's SUMMARY lines (the first line if it has none)."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as e:
        return [str(e)]
    summary = [line for line in lines if line.startswith("SUMMARY:") or "runtime error:" in line]
    return summary or lines[:1]


def _mapped(fragment):
    with open("/proc/self/maps") as f:
        return sorted({line.split()[-1] for line in f if fragment in line.split()[-1]})


def pytest_configure(config):
    directory = log_dir()
    if directory is None:
        return
    import pcap_pfring._pfring as ext
    if not _mapped("libasan"):
        raise pytest.UsageError("ASAN_OPTIONS names a log_path, but libasan is not loaded "
                                "(make asan preloads it)")
    parts = [ext.__file__, *_mapped("libpfring.so")]
    for path in parts:
        with open(path, "rb") as f:
            if b"__asan_init" not in f.read():
                raise pytest.UsageError(f"{path} is not built with AddressSanitizer "
                                        "(make asan puts its build first on PYTHONPATH)")
    config._sanitizer_line = (f"sanitizers: {os.path.dirname(ext.__file__)} (ASan+UBSan), "
                              f"reports in {directory}")


def pytest_report_header(config):
    line = getattr(config, "_sanitizer_line", None)
    return [line] if line else []


def pytest_collection_modifyitems(config, items):
    if log_dir() is None:
        return
    for item in items:
        for prefix, reason in NOT_UNDER_ASAN.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.skip(reason=f"not under make asan: {reason}"))


@pytest.fixture(autouse=True)
def _no_sanitizer_report():
    directory = log_dir()
    if directory is None:
        yield
        return
    before = _reports(directory)
    yield
    new = sorted(_reports(directory) - before)
    if new:
        lines = [f"{name}: {s}" for name in new for s in _summary(os.path.join(directory, name))]
        pytest.fail("sanitizer reports during this test (in full: tools/asan-logs "
                    f"{directory}):\n" + "\n".join(lines), pytrace=False)
