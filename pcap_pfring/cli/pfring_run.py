"""pfring-run: run an unmodified program on PF_RING rings.

``pfring-run [OPTIONS] CMD [ARGS...]`` puts this package's libpcap
(``pcap_pfring/libpcap``: libpcap.so.0.8 and libpcap.so.1) first on
LD_LIBRARY_PATH and executes CMD in place (same pid, same signals).  Every
program that loads libpcap dynamically (tcpdump, dumpcap, tshark, pcapy-ng,
scapy with ``conf.use_pcap``, any C program linked with ``-lpcap``) then
captures from PF_RING rings.  Python programs that use scapy's native
sockets are routed onto rings by pcap_pfring's scapy support, which
PCAP_PF_RING_RUN=1 (set here) switches on.

The PCAP_PF_RING_* variables of the caller pass through unchanged; the
options below are shorthands that set them.  ``--libdir`` prints the
library directory, for ``-L``/``-Wl,-rpath`` or an ld.so.conf.d entry.
Programs that run set-uid or with file capabilities ignore
LD_LIBRARY_PATH; use the system-wide install for those (see the README).

A program that brings its own libpcap (the pcapy-ng wheel's vendored
``pcapy_ng.libs/libpcap-*.so.1.9.1``, an RPATH to a private build) does not
use the drop-in.  pfring-run adds an LD_AUDIT module that sees every object
the dynamic linker maps and prints one line on stderr naming such a
library.  ``PFRING_RUN_AUDIT=quiet`` silences it, and ``PFRING_RUN_AUDIT=0``
leaves the module out (e.g. beside a preloaded sanitizer runtime, which must
come first).
"""
import argparse
import os
import sys

TOOL = "pfring-run"

# PCAP_PF_RING_USE_CLUSTER_<SUFFIX>, in the order libpfring tests them.
CLUSTER_SUFFIXES = (
    "PER_FLOW", "PER_FLOW_2_TUPLE", "PER_FLOW_4_TUPLE", "PER_FLOW_TCP_5_TUPLE",
    "PER_FLOW_5_TUPLE", "ROUNDROBIN", "PER_INNER_FLOW", "PER_INNER_FLOW_2_TUPLE",
    "PER_INNER_FLOW_4_TUPLE", "PER_INNER_FLOW_5_TUPLE", "PER_INNER_FLOW_TCP_5_TUPLE",
    "PER_FLOW_IP_5_TUPLE", "PER_INNER_FLOW_IP_5_TUPLE", "PER_FLOW_IP_WITH_DUP_TUPLE",
)


def libdir():
    """The directory holding this package's libpcap.so.0.8 and libpcap.so.1."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "libpcap")


def audit_module():
    """pfring-run's LD_AUDIT module (libpcap-pfring/src/audit/audit.c)."""
    return os.path.join(libdir(), "pcap-pfring-audit.so")


def _cluster_id(text):
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 1 <= value <= 254:
        raise argparse.ArgumentTypeError(f"{value} is out of range (1..254)")
    return value


def _appname(text):
    if not 1 <= len(text) <= 32:
        raise argparse.ArgumentTypeError(f"must be 1..32 characters (got {len(text)})")
    return text


def build_parser():
    p = argparse.ArgumentParser(
        prog=TOOL, description="Run an unmodified pcap program or scapy script on PF_RING "
                               "rings (LD_LIBRARY_PATH and the PCAP_PF_RING_* variables).")
    p.add_argument("-c", "--cluster-id", type=_cluster_id, metavar="ID",
                   help="PCAP_PF_RING_CLUSTER_ID: join cluster ID (1..254)")
    p.add_argument("-t", "--cluster-type", metavar="TYPE",
                   choices=[s.lower() for s in CLUSTER_SUFFIXES],
                   help="PCAP_PF_RING_USE_CLUSTER_<TYPE>: per_flow, per_flow_5_tuple, "
                        "roundrobin, ... (default with -c: roundrobin, as in PF_RING 5.6.2)")
    p.add_argument("-a", "--appname", type=_appname, metavar="NAME",
                   help="PCAP_PF_RING_APPNAME: the name in the status view")
    p.add_argument("--rss-rehash", action="store_true", help="PCAP_PF_RING_RSS_REHASH=1")
    p.add_argument("--recv-only", action="store_true", help="PCAP_PF_RING_RECV_ONLY=1")
    p.add_argument("--debug", action="store_true",
                   help="PCAP_PF_RING_DEBUG=1: one line on stderr per capture opened, "
                        "saying whether it runs on a ring or fell back")
    p.add_argument("--libdir", action="store_true", help="print the library directory and exit")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the program and its arguments")
    return p


def environment(args, base):
    """The environment for the command: base plus the library path and the
    variables the options ask for."""
    env = dict(base)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        d for d in (libdir(), base.get("LD_LIBRARY_PATH", "")) if d)
    env["PCAP_PF_RING_RUN"] = "1"
    # A program that loads a libpcap of its own (a wheel's vendored copy)
    # gets one warning from the dynamic linker's audit interface.
    audit = audit_module()
    if base.get("PFRING_RUN_AUDIT") != "0" and os.path.exists(audit):
        env["LD_AUDIT"] = ":".join(d for d in (audit, base.get("LD_AUDIT", "")) if d)
    if args.cluster_id is not None:
        env["PCAP_PF_RING_CLUSTER_ID"] = str(args.cluster_id)
    if args.cluster_type:
        for suffix in CLUSTER_SUFFIXES:
            env.pop(f"PCAP_PF_RING_USE_CLUSTER_{suffix}", None)
        env[f"PCAP_PF_RING_USE_CLUSTER_{args.cluster_type.upper()}"] = "1"
    if args.appname:
        env["PCAP_PF_RING_APPNAME"] = args.appname
    if args.rss_rehash:
        env["PCAP_PF_RING_RSS_REHASH"] = "1"
    if args.recv_only:
        env["PCAP_PF_RING_RECV_ONLY"] = "1"
    if args.debug:
        env["PCAP_PF_RING_DEBUG"] = "1"
    return env


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.libdir:
        print(libdir())
        return 0
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command to run")
    if args.cluster_type and args.cluster_id is None:
        parser.error("--cluster-type needs --cluster-id")
    if not os.path.exists(os.path.join(libdir(), "libpcap.so.0.8")):
        print(f"{TOOL}: the libpcap of pcap-pfring is missing from {libdir()}", file=sys.stderr)
        return 1
    try:
        os.execvpe(args.command[0], args.command, environment(args, os.environ))
    except OSError as exc:
        print(f"{TOOL}: {args.command[0]}: {exc.strerror}", file=sys.stderr)
        return 127 if isinstance(exc, FileNotFoundError) else 126


def run():
    """The console script."""
    sys.exit(main())
