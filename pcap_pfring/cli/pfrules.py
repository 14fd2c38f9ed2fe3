"""pfring-rules: load a file of filtering rules into a ring, count what the
ring receives and print each rule's statistics every second.

The rules file has one rule per line, in ``Rule.parse``'s syntax
(comma-separated ``field=value`` items of ``pcap_pfring.rules.Rule``); a
line that starts with ``hash:`` is a hash rule, with the field names of
``pcap_pfring.rules.HashRule``; ``#`` starts a comment, blank lines are
skipped::

    # drop DNS from one network, count the rest of UDP
    rule_id=1,proto=17,shost=10.0.0.0/8,dport=53,rule_action=DONT_FORWARD_AND_STOP
    rule_id=9,proto=17,rule_action=EXECUTE_AND_CONTINUE
    hash:host_peer_a=10.0.0.3,host_peer_b=192.168.0.1,proto=17,port_peer_a=10000,port_peer_b=9

Every rule is added before the ring is enabled: a line that cannot be read
or that libpfring refuses ends the run with ``FILE:LINE: reason`` and exit
status 2, and the ring is closed without having received anything.  The
packets are counted in C (``Ring.recv_count``, as pfcount does) and
discarded.

Output: the startup lines and ``Leaving...`` on stderr; every second (not
with -q) and at the end, the ring's counters and one line per rule on
stdout, or with --json one JSON object per line (the last with
``"final": true``).
"""
import dataclasses
import json
import sys

from ..errors import PFRingError
from ..ring import Direction, Ring, SocketMode
from ..rules import HashRule, Rule, RuleAction
from . import _common
from .pfcount import Counters, count

TOOL = "pfring-rules"
HASH_PREFIX = "hash:"
CAPLEN = 128                 # counting only: the rules see whole frames anyway


class RulesFileError(Exception):
    """A line of the rules file that cannot be used (exit status 2)."""


def build_parser():
    p = _common.make_parser(TOOL, "Load filtering rules from a file into a ring and print "
                                  "each rule's statistics every second.")
    _common.add_options(p, "device", "direction", "duration", "quiet")
    p.add_argument("-f", dest="rules_file", required=True, metavar="RULES_FILE",
                   help="the rules, one per line: Rule.parse's field=value items, or "
                        "'hash:' and HashRule's fields; '#' comments")
    p.add_argument("--policy", choices=("accept", "drop"),
                   help="what happens to a packet no rule decides (default accept)")
    p.add_argument("--json", dest="json", action="store_true",
                   help="one JSON object per second and at the end, one per line, on stdout")
    return p


# -- the rules file -----------------------------------------------------------------

_HASH_TEXT = {"host_peer_a", "host_peer_b", "reflector_device_name"}


def parse_hash_rule(text):
    """A :class:`HashRule` from ``field=value`` items with its field names
    (numbers decimal or 0x hex, ``rule_action`` a RuleAction name)."""
    fields = {f.name for f in dataclasses.fields(HashRule)}
    kw = {}
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        name, sep, value = (s.strip() for s in item.partition("="))
        if name not in fields:
            raise ValueError(f"no hash rule field {name!r} (fields: {', '.join(sorted(fields))})")
        if name in kw:
            raise ValueError(f"{name} is given twice")
        if not sep or not value:
            raise ValueError(f"{name} needs a value")
        if name in _HASH_TEXT:
            kw[name] = value
        elif name == "rule_action":
            try:
                kw[name] = RuleAction[value.upper()]
            except KeyError:
                raise ValueError(f"rule_action {value!r} is not one of "
                                 f"{', '.join(a.name for a in RuleAction)}") from None
        else:
            try:
                kw[name] = int(value, 0)
            except ValueError:
                raise ValueError(f"{name}={value!r} is not a number") from None
    for name in ("host_peer_a", "host_peer_b"):
        if name not in kw:
            raise ValueError(f"a hash rule needs {name}")
    return HashRule(**kw)


@dataclasses.dataclass
class Entry:
    line: int                # 1-based line in the file
    rule: object             # Rule or HashRule


def read_rules(path):
    """The rules of the file at ``path``, each checked as far as Python
    can (the struct is built); raises :class:`RulesFileError`."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RulesFileError(f"{path}: {reason}") from None
    out = []
    for n, raw in enumerate(lines, 1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            if text.startswith(HASH_PREFIX):
                rule = parse_hash_rule(text[len(HASH_PREFIX):])
            else:
                rule = Rule.parse(text)
            rule.to_c()
        except (PFRingError, ValueError, TypeError) as exc:
            raise RulesFileError(f"{path}:{n}: {exc}") from None
        out.append(Entry(n, rule))
    if not out:
        raise RulesFileError(f"{path}: no rules in the file")
    return out


def install(ring, path, entries):
    """Adds every rule; the first refusal raises :class:`RulesFileError`
    (the ring is not enabled yet, so it has received nothing)."""
    for e in entries:
        try:
            if isinstance(e.rule, HashRule):
                ring.add_hash_rule(e.rule)
            else:
                e.rule.rule_id = ring.add_rule(e.rule)
        except PFRingError as exc:
            raise RulesFileError(f"{path}:{e.line}: {exc}") from None


# -- statistics ---------------------------------------------------------------------

def _flow(r):
    return f"{r.host_peer_a}:{r.port_peer_a} <-> {r.host_peer_b}:{r.port_peer_b} proto {r.proto}"


class Report:
    """The ring's counters and each rule's statistics, as text or JSON."""

    def __init__(self, ring, entries, counters, clock):
        self.ring = ring
        self.entries = entries
        self.c = counters
        self.clock = clock

    def snapshot(self, final=False):
        rules, hashes = [], []
        for e in self.entries:
            r = e.rule
            if isinstance(r, HashRule):
                st = self.ring.hash_rule_stats(r)
                hashes.append({"line": e.line, "flow": _flow(r),
                               "action": RuleAction(r.rule_action).name, "match": st.match,
                               "filtered": st.filtered, "match_forward": st.match_forward,
                               "bytes": st.match_bytes})
            else:
                st = self.ring.rule_stats(r.rule_id)
                row = {"rule_id": r.rule_id, "line": e.line,
                       "action": RuleAction(r.rule_action).name, "match": st.match,
                       "filtered": st.filtered, "match_forward": st.match_forward,
                       "bytes": st.match_bytes}
                if r.rule_action == RuleAction.FORWARD_ADD_RULE_AND_STOP:
                    row["hash_added"] = st.hash_rules_added
                    row["hash_refused"] = st.hash_rules_refused
                elif r.rule_action == RuleAction.FORWARD_DEL_RULE_AND_STOP:
                    row["hash_deleted"] = st.hash_rules_deleted
                rules.append(row)
        return {"time_s": round(self.clock(), 3), "recv": self.c.pkts, "bytes": self.c.bytes,
                "drop": self.ring.stats().drop, "rules": rules, "hash_rules": hashes,
                "final": final}

    @staticmethod
    def text(snap):
        fmt = _common.fmt
        lines = ["=========================",
                 f"Ring: [{fmt(snap['recv'])} pkts rcvd][{fmt(snap['bytes'])} bytes rcvd]"
                 f"[{fmt(snap['drop'])} pkts dropped][{fmt(snap['time_s'] * 1000, True)} ms]"]
        for r in snap["rules"]:
            lines.append(f"Rule {r['rule_id']} [{r['action']}]: {_counts(r)}")
        for r in snap["hash_rules"]:
            lines.append(f"Hash rule {r['flow']} [{r['action']}]: {_counts(r)}")
        lines.append("=========================")
        return "\n".join(lines) + "\n"


def _counts(r):
    fmt = _common.fmt
    text = (f"[{fmt(r['match'])} pkts matched][{fmt(r['bytes'])} bytes]"
            f"[{fmt(r['filtered'])} dropped][{fmt(r['match_forward'])} forwarded]")
    for key, what in (("hash_added", "hash rules added"), ("hash_refused", "refused"),
                      ("hash_deleted", "hash rules deleted")):
        if key in r:
            text += f"[{fmt(r[key])} {what}]"
    return text


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    err, out = sys.stderr, sys.stdout
    try:
        entries = read_rules(args.rules_file)
    except RulesFileError as exc:
        print(f"{TOOL}: {exc}", file=err, flush=True)
        return 2
    with Ring(args.device, caplen=CAPLEN) as ring:
        ring.set_application_name(TOOL)
        ring.set_socket_mode(SocketMode.RECV_ONLY)
        ring.set_direction(Direction(args.direction))
        try:
            install(ring, args.rules_file, entries)
        except RulesFileError as exc:
            print(f"{TOOL}: {exc}", file=err, flush=True)
            return 2
        if args.policy:
            ring.set_policy(args.policy == "accept")
        ring.enable()
        if not args.quiet:
            print(f"Using PF_RING v.{ring.version}", file=err)
            print(f"Capturing from {args.device}", file=err)
            print(f"{len(entries)} rules from {args.rules_file}"
                  f" (policy: {args.policy or 'accept'})", file=err, flush=True)

        counters = Counters()

        def emit(final=False):
            snap = report.snapshot(final)
            out.write(json.dumps(snap) + "\n" if args.json else Report.text(snap))
            out.flush()

        run = _common.Run(ring.breakloop, period=1.0, duration=args.duration,
                          tick=None if args.quiet else emit)
        report = Report(ring, entries, counters, lambda: run.elapsed)
        with run:
            count(ring, run, counters)
        print("Leaving...", file=err, flush=True)
        emit(final=True)
    return 0


main = _common.run_main(TOOL, main)


def run():
    sys.exit(main())
