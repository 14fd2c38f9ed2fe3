"""The status tree reader (pcap_pfring.status) and pfring-info on crafted
trees; no privilege needed."""
import fcntl
import json
import os
import subprocess

import pytest

from pcap_pfring import status
from pcap_pfring.cli import pfring_info

# Our layout: labels padded to 23 columns, then ": " (PF_RING 5.6-8.x).
RING_TEXT = """\
Bound Device(s)        : eth0,eth1
Active                 : 1
Appl. Name             : probe: east : 2
Filtering Sampling Rate: 1
Channel Id Mask        : 0xFFFFFFFFFFFFFFFF
Tot Packets            : 1234
TX: Send Ok            : 0
Reflect: Fwd Errors    : 0
"""

# PF_RING 6.6 padded to 19 columns, so the longest label touches the colon.
OLD_RING_TEXT = """\
Bound Device(s)    : eth7
Appl. Name         : pfcount
Sw Filt Hash Match : 0
Reflect: Fwd Ok    : 0
Reflect: Fwd Errors: 0
"""

INFO_TEXT = """\
PF_RING Version          : 5.6.2 (pcap-pfring 0.1.0)
Total rings              : 2

Standard (non ZC) Options
Ring slots               : 4096
Capture TX               : Yes [RX+TX]
Cluster Fragment Discard : 0
"""

# dev files put the colon right after the label.
DEV_TEXT = """\
Name:         eth0
Address:      00:0C:29:C3:06:40
Polling Mode: NAPI
# Bound Sockets:  2
RX Queues:    4
"""


def test_ring_fields_keep_colons_in_labels_and_values():
    fields = status.parse_fields(RING_TEXT)
    assert fields == {
        "Bound Device(s)": "eth0,eth1",
        "Active": "1",
        "Appl. Name": "probe: east : 2",
        "Filtering Sampling Rate": "1",
        "Channel Id Mask": "0xFFFFFFFFFFFFFFFF",
        "Tot Packets": "1234",
        "TX: Send Ok": "0",
        "Reflect: Fwd Errors": "0",
    }
    assert list(fields) == ["Bound Device(s)", "Active", "Appl. Name", "Filtering Sampling Rate",
                            "Channel Id Mask", "Tot Packets", "TX: Send Ok", "Reflect: Fwd Errors"]


def test_a_narrower_padding_is_found_from_the_file():
    assert status.parse_fields(OLD_RING_TEXT) == {
        "Bound Device(s)": "eth7", "Appl. Name": "pfcount", "Sw Filt Hash Match": "0",
        "Reflect: Fwd Ok": "0", "Reflect: Fwd Errors": "0"}


def test_info_skips_blank_lines_and_headings():
    assert status.parse_fields(INFO_TEXT) == {
        "PF_RING Version": "5.6.2 (pcap-pfring 0.1.0)", "Total rings": "2",
        "Ring slots": "4096", "Capture TX": "Yes [RX+TX]", "Cluster Fragment Discard": "0"}


def test_dev_fields_split_at_the_first_colon():
    assert status.parse_fields(DEV_TEXT) == {
        "Name": "eth0", "Address": "00:0C:29:C3:06:40", "Polling Mode": "NAPI",
        "# Bound Sockets": "2", "RX Queues": "4"}


@pytest.mark.parametrize("text, expected", [
    ("", {}),
    (None, {}),
    ("no colon here\n", {}),
    ("   indented : 1\n", {}),
    (": no label\n", {}),
    ("Appl. Name             : \n", {"Appl. Name": ""}),
    ("Appl. Name             :\n", {"Appl. Name": ""}),
    ("Label: value\r\nOther : x\n", {"Label": "value", "Other": "x"}),
    ("Same : 1\nSame : 2\n", {"Same": "2"}),
])
def test_odd_lines(text, expected):
    assert status.parse_fields(text) == expected


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


@pytest.fixture
def tree(tmp_path):
    """A crafted tree: two rings (one with stats), info, dev/, and files
    that are not rings."""
    d = tmp_path / "tree"
    write(str(d / "info"), INFO_TEXT)
    write(str(d / "200-eth0.100.12"), RING_TEXT)
    write(str(d / "100-any.3"), OLD_RING_TEXT)
    write(str(d / "stats" / "100-any.3"), "Packets: 5\n")
    write(str(d / ".tmp.100.1"), RING_TEXT)
    write(str(d / ".ring_id"), "12\n")
    write(str(d / "100-eth0"), RING_TEXT)
    write(str(d / "dev" / "eth0" / "info"), DEV_TEXT)
    os.makedirs(d / "dev" / "empty")
    return str(d)


def test_list_rings(tree):
    rings = status.list_rings(tree)
    assert [(r.pid, r.device, r.ring_id, r.name) for r in rings] == [
        (100, "any", 3, "100-any.3"), (200, "eth0.100", 12, "200-eth0.100.12")]
    assert rings[0].path == os.path.join(tree, "100-any.3")
    assert rings[0].stats_text == "Packets: 5\n"
    assert rings[1].stats_text is None
    assert rings[1].fields["Appl. Name"] == "probe: east : 2"
    assert rings[1].text == RING_TEXT
    assert rings[0].as_dict() == {"file": "100-any.3", "pid": 100, "device": "any",
                                  "ring_id": 3, "fields": status.parse_fields(OLD_RING_TEXT),
                                  "stats": "Packets: 5\n"}


def test_info_and_devices(tree):
    info = status.read_info(tree)
    assert info.fields["Total rings"] == "2"
    assert info.text == INFO_TEXT
    devices = status.list_devices(tree)
    assert [(d.name, d.fields["Address"]) for d in devices] == [("eth0", "00:0C:29:C3:06:40")]


def test_a_missing_tree_is_empty(tmp_path):
    missing = str(tmp_path / "nothing")
    assert status.list_rings(missing) == []
    assert status.list_devices(missing) == []
    assert status.read_info(missing) is None


def test_status_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PF_RING_STATUS_DIR", str(tmp_path))
    assert status.status_dir() == str(tmp_path)


# pfring-info against the tree of this test run (tests/conftest.py points
# PF_RING_STATUS_DIR at a private directory): a crafted ring file whose
# writer is alive (holds its flock, as libpfring's writers do) stays, one
# that nobody holds is swept by the refresh.

@pytest.fixture
def crafted():
    """Two crafted ring files in the run's tree: ours (locked) and a dead process's."""
    d = os.environ["PF_RING_STATUS_DIR"]
    dead = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    mine = f"{os.getpid()}-eth9.4242421"
    gone = f"{dead_pid}-eth9.4242422"
    paths = [os.path.join(d, mine), os.path.join(d, gone), os.path.join(d, "stats", gone)]
    for p in paths:
        write(p, RING_TEXT)
    with open(paths[0]) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield mine, gone, paths
    for p in paths:
        if os.path.exists(p):
            os.unlink(p)


def test_pfring_info_prints_one_ring(crafted, capsys):
    mine, gone, paths = crafted
    assert pfring_info.main(["4242421"]) == 0
    assert capsys.readouterr().out == f"{mine}\n{RING_TEXT}"
    assert pfring_info.main([mine]) == 0
    assert capsys.readouterr().out == f"{mine}\n{RING_TEXT}"
    assert not os.path.exists(paths[1]) and not os.path.exists(paths[2])


def test_pfring_info_lists_everything(crafted, capsys):
    mine, gone, _ = crafted
    assert pfring_info.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PF_RING Version          : 5.6.2 (pcap-pfring 0.1.0)\n")
    assert f"\n{mine}\n{RING_TEXT}" in out
    assert gone not in out


def test_pfring_info_json(crafted, capsys):
    mine, gone, _ = crafted
    assert pfring_info.main(["--json", "--dev"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dir"] == os.environ["PF_RING_STATUS_DIR"]
    assert doc["info"]["PF_RING Version"] == "5.6.2 (pcap-pfring 0.1.0)"
    assert [r for r in doc["rings"] if r["file"] == mine] == [{
        "file": mine, "pid": os.getpid(), "device": "eth9", "ring_id": 4242421,
        "fields": status.parse_fields(RING_TEXT), "stats": None}]
    assert all(r["file"] != gone for r in doc["rings"])
    assert doc["devices"]["lo"]["Type"] == "Loopback"


def test_pfring_info_unknown_ring_is_one_line(crafted, capsys):
    assert pfring_info.main(["4242422"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"pfring-info: no ring '4242422' in {os.environ['PF_RING_STATUS_DIR']}"]


def test_pfring_info_usage_error_exits_2():
    with pytest.raises(SystemExit) as e:
        pfring_info.build_parser().parse_args(["1", "2"])
    assert e.value.code == 2


class _Rewritten:
    """A file whose successive reads give the texts of ``versions`` (the
    last one for ever after): a ring file rewritten while it is read."""

    def __init__(self, versions):
        self.versions = list(versions)
        self.reads = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        text = self.versions[min(self.reads, len(self.versions) - 1)]
        self.reads += 1
        return text

    def seek(self, pos):
        assert pos == 0


def test_a_read_that_races_a_rewrite_is_read_again_until_two_agree(monkeypatch):
    torn = "Tot Packets            : 12\nTot Read     "
    whole = "Tot Packets            : 12\nTot Read               : 12\n"
    fake = _Rewritten([torn, whole])
    monkeypatch.setattr("builtins.open", lambda path: fake)
    assert status._read("ring") == whole
    assert fake.reads == 3                   # torn, whole, whole again
    steady = _Rewritten([whole])
    monkeypatch.setattr("builtins.open", lambda path: steady)
    assert status._read("ring") == whole and steady.reads == 2
