"""scapy on PF_RING rings (pcap_pfring.scapy), in the test's process.

The test thread runs inside namespace a (``in_a``), where scapy's interface
list and routes are reloaded, with ``install()`` in effect; frames come from
plain AF_PACKET sockets in namespace b (or go to them).  IPv6 is off in the
namespaces, so the only traffic is the tests' own, except where a test
answers ARP or ICMP on purpose.
"""
import os
import re
import socket
import time

import pytest

pytest.importorskip("scapy", reason="scapy is installed by make setup (requirements-dev.txt)")

from scapy.all import (  # noqa: E402
    ARP,
    ICMP,
    IP,
    UDP,
    AsyncSniffer,
    Dot1Q,
    Ether,
    Raw,
    conf,
    sendp,
    sniff,
    sr1,
    srp,
    srp1,
)
from scapy.interfaces import resolve_iface  # noqa: E402
from scapy.utils import EDecimal  # noqa: E402

from pcap_pfring import InvalidStatusError, status  # noqa: E402
from pcap_pfring import scapy as pfscapy  # noqa: E402
from pcap_pfring.testing.fixtures import frame, send_from_b  # noqa: E402

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5
ETH_OTHER = 0x88B6


def numbered(pair, n, start=0, ethertype=ETH_TEST, dst=None, vlan=None):
    """n distinct frames from b to a (payload: the number, then filler)."""
    return [frame(dst or pair.mac_a, pair.mac_b, ethertype,
                  i.to_bytes(4, "big") + bytes([i & 0xFF]) * 20, vlan=vlan)
            for i in range(start, start + n)]


def rx_socket(ns, ifname):
    """An AF_PACKET socket receiving everything on ifname in ns (2 s timeout)."""
    with ns.enter():
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        s.bind((ifname, 0x0003))
    s.settimeout(2)
    return s


def _reload():
    """scapy's view of the current namespace: interfaces, routes, no ARP
    entries left from other tests' namespaces (same addresses, new MACs)."""
    conf.ifaces.reload()
    conf.route.resync()
    conf.netcache.flush()


@pytest.fixture
def in_a(veth_pair):
    """install(), the thread in namespace a, scapy's view of a's network
    and conf.iface = a's veth; all undone afterwards."""
    old_iface, old_promisc, old_except = conf.iface, conf.sniff_promisc, conf.except_filter
    assert pfscapy.install()
    try:
        with veth_pair.a.enter():
            _reload()
            conf.iface = veth_pair.if_a
            try:
                yield veth_pair
            finally:
                conf.except_filter = old_except
                conf.sniff_promisc = old_promisc
    finally:
        pfscapy.uninstall()
        _reload()
        conf.iface = old_iface


def sniff_sending(pair, frames, **kw):
    """sniff(**kw) while ``frames`` are sent from b once the sockets are open."""
    return sniff(started_callback=lambda: send_from_b(pair, frames), **kw)


def assert_times(pkts, before, after):
    """Kernel nanosecond time stamps: EDecimal, in order, within the run."""
    stamps = [p.time for p in pkts]
    assert all(isinstance(t, EDecimal) for t in stamps)
    assert stamps == sorted(stamps)
    assert before - 1 <= stamps[0] <= stamps[-1] <= after + 1
    assert all(t == EDecimal(int(t * 10**9)) / 10**9 for t in stamps)
    assert any(int(t * 10**9) % 1000 for t in stamps)     # digits beyond the microsecond


# -- sniff --------------------------------------------------------------------

def test_sniff_by_name_exact_frames_and_nanosecond_times(in_a):
    frames = numbered(in_a, 20)
    before = time.time()
    got = sniff_sending(in_a, frames, iface=in_a.if_a, count=20, timeout=10)
    after = time.time()
    assert [bytes(p) for p in got] == frames
    assert all(type(p) is Ether for p in got)
    assert all(p.sniffed_on == in_a.if_a for p in got)
    assert_times(got, before, after)


def test_sniff_network_interface_object_and_default_iface(in_a):
    frames = numbered(in_a, 5)
    got = sniff_sending(in_a, frames, iface=resolve_iface(in_a.if_a), count=5, timeout=10)
    assert [bytes(p) for p in got] == frames
    more = numbered(in_a, 5, start=100)
    got = sniff_sending(in_a, more, count=5, timeout=10)      # iface=None: conf.iface
    assert [bytes(p) for p in got] == more


def test_sniff_two_interfaces(in_a):
    in_a.add_link("pfr2", "pfr3")
    _reload()
    one, two = numbered(in_a, 4), numbered(in_a, 4, start=50)

    def send_both():
        send_from_b(in_a, one)
        send_from_b(in_a, two, ifname="pfr3")

    got = sniff(iface=[in_a.if_a, "pfr2"], count=8, timeout=10, started_callback=send_both)
    by_iface = {name: [bytes(p) for p in got if p.sniffed_on == name]
                for name in (in_a.if_a, "pfr2")}
    assert by_iface == {in_a.if_a: one, "pfr2": two}


def test_filter_runs_in_the_kernel(in_a):
    wanted = numbered(in_a, 6)
    other = numbered(in_a, 6, start=10, ethertype=ETH_OTHER)
    mixed = [f for pair in zip(other, wanted) for f in pair]
    sock = conf.L2listen(iface=in_a.if_a, filter=f"ether proto {ETH_TEST:#x}")
    try:
        send_from_b(in_a, mixed)
        got = sniff(opened_socket=sock, count=6, timeout=10)
        assert [bytes(p) for p in got] == wanted
        assert list(sniff(opened_socket=sock, timeout=0.3)) == []
        assert [r.fields["BPF Filtering"] for r in status.list_rings()
                if r.pid == os.getpid() and r.ring_id == sock.ring.ring_id] == ["Enabled"]
    finally:
        sock.close()


def test_except_filter_is_added_as_scapy_does(in_a):
    conf.except_filter = f"ether proto {ETH_OTHER:#x}"
    wanted = numbered(in_a, 4)
    got = sniff_sending(in_a, numbered(in_a, 4, start=10, ethertype=ETH_OTHER) + wanted,
                        iface=in_a.if_a, count=4, timeout=10)
    assert [bytes(p) for p in got] == wanted


def test_timeout_without_traffic_returns_on_time_and_empty(in_a):
    t0 = time.monotonic()
    got = sniff(iface=in_a.if_a, filter=f"ether proto {ETH_TEST:#x}", timeout=0.5)
    took = time.monotonic() - t0
    assert len(got) == 0
    assert 0.5 <= took < 1.5


def test_store_false_prn_lfilter(in_a):
    frames = numbered(in_a, 10)
    seen = []
    got = sniff_sending(in_a, frames, iface=in_a.if_a, count=5, timeout=10, store=False,
                        lfilter=lambda p: bytes(p)[17] % 2 == 0, prn=lambda p: seen.append(bytes(p)))
    assert len(got) == 0
    assert seen == frames[0::2]


def test_stop_filter_stops_after_the_marker(in_a):
    frames = numbered(in_a, 10)
    got = sniff_sending(in_a, frames, iface=in_a.if_a, timeout=10,
                        stop_filter=lambda p: bytes(p)[17] == 3)
    assert [bytes(p) for p in got] == frames[:4]


def _promiscuity(pair):
    out = pair.a.run(["ip", "-d", "link", "show", pair.if_a]).stdout
    return int(re.search(r"promiscuity (\d+)", out).group(1))


@pytest.mark.parametrize("kwargs, conf_promisc, expected", [
    ({}, True, 1), ({}, False, 0), ({"promisc": True}, False, 1), ({"promisc": False}, True, 0),
])
def test_promisc(in_a, kwargs, conf_promisc, expected):
    conf.sniff_promisc = conf_promisc
    seen = []
    sniff(iface=in_a.if_a, timeout=0.2, started_callback=lambda: seen.append(_promiscuity(in_a)),
          **kwargs)
    assert seen == [expected]
    assert _promiscuity(in_a) == 0          # given back at close


def test_vlan_tag_is_in_the_frame(in_a):
    frames = numbered(in_a, 3, vlan=42)
    # The kernel filter sees a received frame without its tag (the tag is
    # in the packet's metadata), as libpcap's own kernel filters do.
    got = sniff_sending(in_a, frames, iface=in_a.if_a, count=3, timeout=10,
                        filter=f"ether proto {ETH_TEST:#x}")
    assert [bytes(p) for p in got] == frames
    assert [p[Dot1Q].vlan for p in got] == [42, 42, 42]


def test_vlan_filter_matches_the_tag(in_a):
    """filter="vlan 42" matches tagged frames as scapy's native sockets and
    libpcap do (the ring runs such expressions in user space)."""
    tagged = numbered(in_a, 3, vlan=42)
    other = numbered(in_a, 3, start=10, vlan=43)
    plain = numbered(in_a, 3, start=20)
    got = sniff_sending(in_a, [f for t in zip(other, plain, tagged) for f in t],
                        iface=in_a.if_a, count=3, timeout=10, filter="vlan 42")
    assert [bytes(p) for p in got] == tagged


def test_async_sniffer_start_stop_join(in_a):
    t = AsyncSniffer(iface=in_a.if_a, filter=f"ether proto {ETH_TEST:#x}")
    t.start()
    deadline = time.monotonic() + 5
    while not getattr(t, "continue_sniff", False) and time.monotonic() < deadline:
        time.sleep(0.01)
    frames = numbered(in_a, 7)
    send_from_b(in_a, frames)
    time.sleep(0.3)
    got = t.stop()
    assert [bytes(p) for p in got] == frames
    t2 = AsyncSniffer(iface=in_a.if_a, count=3, filter=f"ether proto {ETH_TEST:#x}",
                      started_callback=lambda: send_from_b(in_a, numbered(in_a, 5, start=20)))
    t2.start()
    t2.join(10)
    assert not t2.running
    assert [bytes(p) for p in t2.results] == numbered(in_a, 3, start=20)


# -- sending --------------------------------------------------------------------

def test_sendp_frames_arrive_exactly(in_a):
    frames = [Ether(dst=in_a.mac_b, src=in_a.mac_a, type=ETH_TEST) / Raw(bytes([i]) * 46)
              for i in range(5)]
    rx = rx_socket(in_a.b, in_a.if_b)
    try:
        sendp(frames, iface=in_a.if_a, verbose=False)
        got = []
        while len(got) < 5:
            data = rx.recv(2048)
            if data[12:14] == ETH_TEST.to_bytes(2, "big"):
                got.append(data)
    finally:
        rx.close()
    assert got == [bytes(f) for f in frames]


def test_sendp_pads_short_frames(in_a):
    rx = rx_socket(in_a.b, in_a.if_b)
    try:
        sendp(Ether(dst=in_a.mac_b, src=in_a.mac_a, type=ETH_TEST) / b"x", iface=in_a.if_a,
              verbose=False)
        data = rx.recv(2048)
    finally:
        rx.close()
    assert data == frame(in_a.mac_b, in_a.mac_a, ETH_TEST, b"x")


def test_srp_and_srp1_arp_to_the_peer(in_a):
    ans = srp1(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=in_a.ip_b), iface=in_a.if_a,
               timeout=3, verbose=False)
    assert ans is not None
    assert (ans[ARP].op, ans[ARP].psrc, ans[ARP].hwsrc) == (2, in_a.ip_b, _mac(in_a.mac_b))
    assert ans[Ether].dst == _mac(in_a.mac_a)
    answered, unanswered = srp(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=[in_a.ip_b, "10.77.0.9"]),
                               iface=in_a.if_a, timeout=1, verbose=False)
    assert [r[ARP].psrc for _, r in answered] == [in_a.ip_b]
    assert [s[ARP].pdst for s in unanswered] == ["10.77.0.9"]


def test_sr1_icmp_layer3_over_the_ring(in_a):
    before = time.time()
    reply = sr1(IP(dst=in_a.ip_b) / ICMP(id=77, seq=5) / b"pfring", timeout=3, verbose=False)
    assert reply is not None
    assert type(reply) is IP
    assert (reply.src, reply.dst) == (in_a.ip_b, in_a.ip_a)
    assert (reply[ICMP].type, reply[ICMP].id, reply[ICMP].seq) == (0, 77, 5)
    assert reply[Raw].load == b"pfring"
    assert before <= reply.time <= time.time()
    assert isinstance(conf.L3socket(iface=in_a.if_a), pfscapy.PFRingL3Socket)


def test_udp_sent_at_layer3_arrives(in_a):
    rx = rx_socket(in_a.b, in_a.if_b)
    try:
        s = conf.L3socket(iface=in_a.if_a)
        try:
            s.send(IP(dst=in_a.ip_b) / UDP(sport=4000, dport=4001) / b"l3")
        finally:
            s.close()
        while True:
            data = rx.recv(2048)
            if data[12:14] == b"\x08\x00":
                break
    finally:
        rx.close()
    pkt = Ether(data)
    assert (pkt[Ether].dst, pkt[IP].dst, pkt[UDP].dport, pkt[Raw].load) == \
        (_mac(in_a.mac_b), in_a.ip_b, 4001, b"l3")


def _mac(raw):
    return ":".join(f"{b:02x}" for b in raw)


# -- sockets directly -----------------------------------------------------------

def test_nonblock_recv_and_recv(in_a):
    sock = conf.L2listen(iface=in_a.if_a, filter=f"ether proto {ETH_TEST:#x}")
    try:
        assert sock.nonblock_recv() is None
        frames = numbered(in_a, 2)
        send_from_b(in_a, frames)
        first = sock.recv()
        deadline = time.monotonic() + 2
        second = None
        while second is None and time.monotonic() < deadline:
            second = sock.nonblock_recv()
        assert [bytes(first), bytes(second)] == frames
        assert sock.stats().recv == 2
    finally:
        sock.close()


def test_use_after_close_raises(in_a):
    sock = conf.L2listen(iface=in_a.if_a)
    sock.close()
    sock.close()
    for call in (sock.recv, sock.nonblock_recv, sock.fileno, sock.stats):
        with pytest.raises(InvalidStatusError, match="after close"):
            call()
    out = conf.L2socket(iface=in_a.if_a)
    out.close()
    with pytest.raises(InvalidStatusError, match="after close"):
        out.send(Ether() / b"late")


def test_listen_socket_cannot_send(in_a):
    with conf.L2listen(iface=in_a.if_a) as sock:
        with pytest.raises(Exception, match="Can't send"):
            sock.send(Ether())


def test_bad_filter_carries_the_compilers_message(in_a):
    with pytest.raises(Exception, match=r"Cannot set filter: .*'tcp port and': .*syntax error"):
        sniff(iface=in_a.if_a, filter="tcp port and", count=1, timeout=1)
    assert [r for r in status.list_rings() if r.pid == os.getpid()] == []


def test_nonexistent_interface_is_named(in_a):
    with pytest.raises(OSError, match="no such interface 'nope0'"):
        conf.L2listen(iface="nope0")
    with pytest.raises(ValueError, match="nope0"):
        sniff(iface="nope0", timeout=1)


def test_sockets_show_in_the_status_tree_with_the_scripts_name(in_a):
    with conf.L2listen(iface=in_a.if_a) as sock:
        mine = [r for r in status.list_rings() if r.pid == os.getpid()]
        assert [(r.device, r.ring_id) for r in mine] == [(in_a.if_a, sock.ring.ring_id)]
        assert mine[0].fields["Appl. Name"] == pfscapy.default_appname()
        assert mine[0].fields["Active"] == "1"


def test_appname_and_cluster_from_the_environment(in_a, monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_APPNAME", "scapy-live")
    monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "17")
    monkeypatch.setenv("PCAP_PF_RING_USE_CLUSTER_PER_FLOW_2_TUPLE", "1")
    with conf.L2listen(iface=in_a.if_a) as sock:
        f = [r.fields for r in status.list_rings() if r.ring_id == sock.ring.ring_id][0]
        assert f["Appl. Name"] == "scapy-live"
        assert f["Cluster Id"] == "17"
    # Sending sockets name themselves but join no cluster (replies must come back).
    with conf.L2socket(iface=in_a.if_a) as sock:
        f = [r.fields for r in status.list_rings() if r.ring_id == sock.ring.ring_id][0]
        assert f["Appl. Name"] == "scapy-live"
        assert f.get("Cluster Id", "0") in ("0", "")


def test_recv_only_from_the_environment(in_a, monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_RECV_ONLY", "")
    with conf.L2listen(iface=in_a.if_a) as sock:
        f = [r.fields for r in status.list_rings() if r.ring_id == sock.ring.ring_id][0]
        assert f["Socket Mode"] == "RX only"
        frames = numbered(in_a, 3)
        send_from_b(in_a, frames)
        assert [bytes(p) for p in sniff(opened_socket=sock, count=3, timeout=5)] == frames


def test_rss_rehash_from_the_environment(in_a, monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_RSS_REHASH", "1")
    frames = numbered(in_a, 3)
    got = sniff_sending(in_a, frames, iface=in_a.if_a, count=3, timeout=5)
    assert [bytes(p) for p in got] == frames


def test_no_pf_ring_leaves_scapys_sockets(in_a, monkeypatch):
    pfscapy.uninstall()
    monkeypatch.setenv("PCAP_NO_PF_RING", "1")
    assert pfscapy.install() is False
    assert conf.L2listen.__module__ == "scapy.arch.linux"


# -- install ----------------------------------------------------------------------

def test_install_survives_use_pcap_and_use_bpf(in_a):
    ours = (pfscapy.PFRingListenSocket, pfscapy.PFRingSocket, pfscapy.PFRingL3Socket)
    assert (conf.L2listen, conf.L2socket, conf.L3socket) == ours
    conf.use_bpf = False
    assert (conf.L2listen, conf.L2socket, conf.L3socket) == ours
    with pytest.raises(Exception, match="BSD"):
        conf.use_bpf = True
    assert (conf.L2listen, conf.L2socket, conf.L3socket) == ours
    conf.use_pcap = False
    assert (conf.L2listen, conf.L2socket, conf.L3socket) == ours
    try:
        conf.use_pcap = True          # the user asks for libpcap: scapy's libpcap sockets
        assert conf.L2listen.__name__ == "L2pcapListenSocket"
    finally:
        conf.use_pcap = False
    assert (conf.L2listen, conf.L2socket, conf.L3socket) == ours
    assert pfscapy.install()          # twice: one wrapper
    import scapy.config
    assert not hasattr(scapy.config._set_conf_sockets._pcap_pfring_base, "_pcap_pfring_base")
    frames = numbered(in_a, 3)
    got = sniff_sending(in_a, frames, iface=in_a.if_a, count=3, timeout=5)
    assert [bytes(p) for p in got] == frames


def test_uninstall_gives_scapys_sockets_back(in_a):
    pfscapy.uninstall()
    assert not pfscapy.installed()
    assert conf.L2listen.__name__ == "L2ListenSocket"
    conf.use_pcap = False
    assert conf.L2listen.__name__ == "L2ListenSocket"
    import scapy.config
    assert not hasattr(scapy.config._set_conf_sockets, "_pcap_pfring_base")
    pfscapy.install()
    assert conf.L2listen is pfscapy.PFRingListenSocket


def test_select_is_one_function_for_all_classes():
    assert pfscapy.PFRingListenSocket.select is pfscapy.PFRingSocket.select \
        is pfscapy.PFRingL3Socket.select



def test_sr_over_routes_through_two_interfaces_gets_every_answer(in_a):
    """sr() to addresses behind two interfaces: the L3 socket opens a ring on
    the second interface when the first packet is routed there, and its
    select(), waiting in sr()'s receiving thread, starts waiting on that
    ring at once (scapy's own L3 socket keeps waiting on the interfaces it
    had, and can miss those answers).  Every probe is answered."""
    from scapy.all import sr
    in_a.add_link("pfr2", "pfr3")
    in_a.a.run(["ip", "addr", "add", "10.78.0.1/24", "dev", "pfr2"])
    in_a.b.run(["ip", "addr", "add", "10.78.0.2/24", "dev", "pfr3"])
    _reload()
    probes = [IP(dst=in_a.ip_b) / ICMP(id=1, seq=1), IP(dst="10.78.0.2") / ICMP(id=2, seq=1),
              IP(dst="10.78.0.2") / ICMP(id=3, seq=1), IP(dst=in_a.ip_b) / ICMP(id=4, seq=1)]
    assert isinstance(conf.L3socket(iface=in_a.if_a), pfscapy.PFRingL3Socket)
    ans, unans = sr(probes, timeout=3, verbose=False)
    assert sorted((s[ICMP].id, r.src, r[ICMP].type) for s, r in ans) == \
        [(1, in_a.ip_b, 0), (2, "10.78.0.2", 0), (3, "10.78.0.2", 0), (4, in_a.ip_b, 0)]
    assert len(unans) == 0


def test_a_socket_on_any_gets_every_interfaces_frames_as_ethernet(in_a):
    """A listening socket on "any" (scapy resolves sniff(iface=...) among
    its interfaces, which have no "any", so it is opened and handed to
    sniff): one ring on every interface of the namespace, with PF_RING's
    Ethernet framing (Ring.link_type), so each frame is the Ether packet
    that was sent, whichever interface it came in on."""
    in_a.add_link("pfr2", "pfr3")
    _reload()
    one, two = numbered(in_a, 4), numbered(in_a, 4, start=50)

    def send_both():
        send_from_b(in_a, one)
        send_from_b(in_a, two, ifname="pfr3")

    sock = pfscapy.PFRingListenSocket(iface="any")
    try:
        assert (sock.LL, sock.lvl, sock.ring.link_type.dlt) == (Ether, 2, 1)
        got = sniff(opened_socket=sock, count=8, timeout=10, started_callback=send_both,
                    lfilter=lambda p: Ether in p and p[Ether].type == ETH_TEST)
    finally:
        sock.close()
    assert all(type(p) is Ether for p in got)
    assert sorted(bytes(p) for p in got) == sorted(one + two)
