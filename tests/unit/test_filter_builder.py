"""Golden tests of the ring's socket filter (kernel/filter.c): the expected
instructions, and per-packet verdicts from the classic BPF interpreter."""
import pathlib
import subprocess

import pytest

from pcap_pfring.testing import cbpf

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANY_CH = "ffffffffffffffff"
OUT, HOST = 4, 0          # PACKET_OUTGOING, PACKET_HOST
LOOPBACK = 772


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    exe = tmp_path_factory.mktemp("filter") / "filter_dump"
    subprocess.run(["gcc", "-std=gnu11", "-Wall", "-Werror", f"-I{ROOT}/libpfring/include",
                    f"-I{ROOT}/libpfring/src", "-o", str(exe),
                    str(ROOT / "tests/unit/c/filter_dump.c"), str(ROOT / "kernel/filter.c")],
                   check=True)

    def build(direction=0, loopback=0, vlan=0xFFFF, channels=ANY_CH, drop_all=0, snaplen=1536,
              user_len=0, ifindex=()):
        res = subprocess.run([str(exe), str(direction), str(loopback), str(vlan), channels,
                              str(drop_all), str(snaplen), str(user_len), *map(str, ifindex)],
                             capture_output=True, text=True)
        if res.returncode:
            return res.stdout.strip()
        return [tuple(map(int, line.split())) for line in res.stdout.splitlines()]
    return build


def frame(vlan=None, ethertype=0x0800):
    tag = b"" if vlan is None else b"\x81\x00" + vlan.to_bytes(2, "big")
    return b"\x02" * 6 + b"\x04" * 6 + tag + ethertype.to_bytes(2, "big") + b"\0" * 46


GOLDEN = {
    "plain": (dict(), ["ret #1536"]),
    "rx only": (dict(direction=1), [
        "ld type", "jeq #0x4 jt 2 jf 3", "ret #0", "ret #1536"]),
    "tx only": (dict(direction=2), [
        "ld type", "jeq #0x4 jt 3 jf 2", "ret #0", "ret #1536"]),
    "loopback": (dict(loopback=1), [
        "ld type", "jeq #0x4 jt 2 jf 5", "ld hatype", "jeq #0x304 jt 4 jf 5", "ret #0",
        "ret #1536"]),
    "devices": (dict(ifindex=(3, 5, 9)), [
        "ld ifidx", "jeq #0x3 jt 5 jf 2", "jeq #0x5 jt 5 jf 3", "jeq #0x9 jt 5 jf 4", "ret #0",
        "ret #1536"]),
    "vlan 100": (dict(vlan=100), [
        "ld vlanp", "jeq #0x1 jt 7 jf 2", "ldh [12]", "jeq #0x8100 jt 5 jf 4",
        "jeq #0x88a8 jt 5 jf 10", "ldh [14]", "ja 8", "ld vlan_tci", "and #0xfff",
        "jeq #0x64 jt 11 jf 10", "ret #0", "ret #1536"]),
    "channels 1,3": (dict(channels="a"), [
        "ld queue", "tax", "ld type", "jeq #0x4 jt 8 jf 4", "txa", "jeq #0x0 jt 8 jf 6",
        "sub #0x1", "ja 9", "txa", "jeq #0x1 jt 12 jf 10", "jeq #0x3 jt 12 jf 11", "ret #0",
        "ret #1536"]),
    "drop all": (dict(drop_all=1, direction=1), ["ret #0"]),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_listing(dump, name):
    spec, expected = GOLDEN[name]
    prog = dump(**spec)
    cbpf.check(prog)
    assert cbpf.disasm(prog) == expected


VERDICTS = [
    # spec, packet metadata, frame, kept?
    (dict(direction=1), dict(pkttype=HOST), frame(), True),
    (dict(direction=1), dict(pkttype=OUT), frame(), False),
    (dict(direction=2), dict(pkttype=OUT), frame(), True),
    (dict(direction=2), dict(pkttype=HOST), frame(), False),
    (dict(loopback=1), dict(pkttype=OUT, hatype=LOOPBACK), frame(), False),
    (dict(loopback=1), dict(pkttype=HOST, hatype=LOOPBACK), frame(), True),
    (dict(loopback=1), dict(pkttype=OUT, hatype=1), frame(), True),
    (dict(ifindex=(3, 5)), dict(ifindex=5), frame(), True),
    (dict(ifindex=(3, 5)), dict(ifindex=4), frame(), False),
    (dict(vlan=100), dict(vlan_tci=0x2064), frame(), True),          # metadata, PCP bits set
    (dict(vlan=100), dict(vlan_tci=101), frame(), False),
    (dict(vlan=100), dict(), frame(vlan=100), True),                 # tag still in the data
    (dict(vlan=100), dict(), frame(vlan=7), False),
    (dict(vlan=100), dict(), frame(), False),                        # untagged
    (dict(vlan=0), dict(), frame(), True),                           # untagged only
    (dict(vlan=0), dict(vlan_tci=5), frame(), False),
    (dict(vlan=0), dict(), frame(vlan=5), False),
    (dict(channels="a"), dict(queue=2), frame(), True),              # RX queue 1 (+1)
    (dict(channels="a"), dict(queue=4), frame(), True),              # RX queue 3
    (dict(channels="a"), dict(queue=3), frame(), False),             # RX queue 2
    (dict(channels="a"), dict(queue=1, pkttype=OUT), frame(), True),  # TX queue 1 as is
    (dict(channels="1"), dict(queue=0), frame(), True),              # unrecorded = queue 0
    (dict(channels="8000000000000000"), dict(queue=64), frame(), True),
    (dict(drop_all=1), dict(), frame(), False),
]


@pytest.mark.parametrize("spec, meta, pkt, kept", VERDICTS)
def test_verdicts(dump, spec, meta, pkt, kept):
    assert cbpf.run(dump(**spec), pkt, **meta) == (1536 if kept else 0)


def test_all_checks_together(dump):
    prog = dump(direction=1, loopback=1, vlan=10, channels="3", ifindex=(2, 7))
    good = dict(pkttype=HOST, ifindex=7, vlan_tci=10, queue=2)
    assert cbpf.run(prog, frame(), **good) == 1536
    for change in (dict(pkttype=OUT), dict(ifindex=3), dict(vlan_tci=11), dict(queue=3)):
        assert cbpf.run(prog, frame(), **dict(good, **change)) == 0, change


def test_user_program_is_appended_with_its_jumps(dump):
    prog = dump(direction=1, user_len=300)
    assert len(prog) == 3 + 301
    assert cbpf.run(prog, frame(), pkttype=HOST) == 299      # the user's last "ld #299; ret a"
    assert cbpf.run(prog, frame(), pkttype=OUT) == 0


def test_too_long(dump):
    assert dump(direction=1, user_len=4094) == "error -2"
    assert len(dump(user_len=4095)) == 4096
