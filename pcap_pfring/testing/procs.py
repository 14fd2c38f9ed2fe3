"""Processes of the live tests, run inside a namespace.

``Process(ns, argv)`` starts ``argv`` under ``ip netns exec``; threads read
its stdout and stderr line by line, so waiting for a line never blocks on a
pipe.  Every wait is bounded; ``kill`` (also on leaving a ``with`` block)
ends the process by its pid if it is still running.
"""
import os
import signal
import subprocess
import threading
import time


class Process:
    """``argv`` running in namespace ``ns``; ``stdin=True`` gives it a pipe
    for :meth:`send`."""

    def __init__(self, ns, argv, name=None, stdin=False):
        self.name = name or os.path.basename(argv[0])
        self.p = ns.popen(argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out, self.err = [], []
        self.cond = threading.Condition()
        self.threads = [threading.Thread(target=self._read, args=(s, buf), daemon=True)
                        for s, buf in ((self.p.stdout, self.out), (self.p.stderr, self.err))]
        for t in self.threads:
            t.start()

    @property
    def pid(self):
        return self.p.pid

    def _read(self, stream, buf):
        for line in stream:
            with self.cond:
                buf.append(line)
                self.cond.notify_all()

    def _wait(self, buf, what, text, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in buf:
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise AssertionError(f"{self.name}: no '{text}' on {what}: "
                                         f"{''.join(buf)}{''.join(self.err) if what != 'stderr' else ''}")
                self.cond.wait(min(left, 0.1))

    def wait_out(self, text, timeout=15):
        """The first stdout line holding ``text``, waiting up to ``timeout`` s."""
        return self._wait(self.out, "stdout", text, timeout)

    def wait_err(self, text, timeout=15):
        """The first stderr line holding ``text``, waiting up to ``timeout`` s."""
        return self._wait(self.err, "stderr", text, timeout)

    def ask(self, command, prefix, timeout=10):
        """Sends ``command`` and returns the first line the program prints
        after it that starts with ``prefix``."""
        before = len(self.out)
        self.send(command)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = [s for s in self.out[before:] if s.startswith(prefix)]
            if lines:
                return lines[0]
            time.sleep(0.02)
        raise AssertionError(f"no {prefix!r} line from {self.name} after {command!r}: "
                             f"{''.join(self.err)}")

    def send(self, line):
        """One line on the process's stdin."""
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def finish(self, timeout=30, sig=None):
        """Wait for the exit (after sending ``sig``); (returncode, stdout, stderr)."""
        if sig is not None:
            os.kill(self.p.pid, sig)
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not stop: {''.join(self.err)}") from None
        for t in self.threads:
            t.join(10)
        return self.p.returncode, "".join(self.out), "".join(self.err)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        if self.p.stdin:
            try:
                self.p.stdin.close()
            except BrokenPipeError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


class Tcpdump(Process):
    """``tcpdump -w out -c count`` on ``device`` through the libpcap in
    ``drop_in`` (a directory put first in LD_LIBRARY_PATH).  It is returned
    once tcpdump says it is listening: its ring is enabled and its filter
    set, so every frame sent from then on is its to see."""

    def __init__(self, ns, drop_in, device, out, count, expr=None, timeout=20):
        argv = ["env", f"LD_LIBRARY_PATH={drop_in}", "tcpdump", "-n", "-U", "-i", device,
                "-w", str(out), "-c", str(count)] + ([expr] if expr else [])
        super().__init__(ns, argv, name="tcpdump")
        self.out_path, self.count = out, count
        try:
            self.wait_err(f"listening on {device},", timeout=timeout)
        except BaseException:
            self.kill()
            raise

    def records(self, timeout=20):
        """The frames it wrote, once it has stopped at its count; if it has
        not within ``timeout`` s, it is interrupted and the error says how
        many it had."""
        from pcap_pfring.pcapfile import read_packets
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _, _, err = self.finish(10, signal.SIGINT)
            n = len(read_packets(self.out_path)[1]) if os.path.getsize(self.out_path) else 0
            raise AssertionError(f"tcpdump wrote {n} of {self.count} frames in {timeout} s: "
                                 f"{err}") from None
        rc, _, err = self.finish(10)
        assert rc == 0, err
        return [body for *_, body in read_packets(self.out_path)[1]]
