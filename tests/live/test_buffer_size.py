"""pfring_set_buffer_size (Ring.set_buffer_size, libpcap's
pcap_set_buffer_size): the kernel ring really has the size asked for,
rounded up to whole blocks, as the status file's "Tot Memory" says, and bad
values or a late call are refused with a clear error."""
import os
import time

import pytest

from pcap_pfring import Ring, status
from pcap_pfring.errors import (
    InvalidArgumentError,
    InvalidStatusError,
    NotSupportedError,
)
from pcap_pfring.testing.fixtures import collect, frame, send_from_b

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5
BLOCK = 256 * 1024                  # libpfring's block at caplen 128
# A 60-byte frame in a TPACKET_V3 block: the frame starts at macoff =
# TPACKET_ALIGN(TPACKET3_HDRLEN 68 + 16) + PACKET_RESERVE 4 - 14 = 86, and
# macoff + 60 bytes are taken, 8-byte aligned: 152.  The first packet is 48
# bytes in (the block descriptor) and the kernel takes one more only while
# it ends strictly before the block does.
SLOT = 152
PER_BLOCK = (BLOCK - 48 - 1) // SLOT


def open_in_a(pair, **kw):
    with pair.a.enter():
        return Ring(pair.if_a, caplen=128, **kw)


def frames(pair, first, n):
    return [frame(pair.mac_a, pair.mac_b, ETH_TEST, i.to_bytes(4, "big"))
            for i in range(first, first + n)]


def tot_memory(ring):
    path = os.path.join(os.environ["PF_RING_STATUS_DIR"], f"{os.getpid()}-veth0.{ring.ring_id}")
    return int(status.parse_fields(open(path).read())["Tot Memory"])


def wait_for_memory(ring, want, timeout=3.5):
    deadline = time.monotonic() + timeout
    while tot_memory(ring) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return tot_memory(ring)


def test_default_ring_memory_is_shown(veth_pair):
    # 4096 slots of 240 bytes (caplen 128) rounded up to the 8-block minimum
    with open_in_a(veth_pair) as ring:
        assert tot_memory(ring) == 8 * BLOCK


@pytest.mark.parametrize("asked, blocks", [(1, 1), (BLOCK, 1), (BLOCK + 1, 2),
                                           (3 * BLOCK - 1000, 3), (64 << 20, 256)])
def test_size_is_rounded_up_to_whole_blocks(veth_pair, asked, blocks):
    with open_in_a(veth_pair) as ring:
        ring.set_buffer_size(asked)
        assert tot_memory(ring) == blocks * BLOCK


def test_batching_keeps_the_size_in_its_own_blocks(veth_pair):
    with open_in_a(veth_pair) as ring:
        ring.set_buffer_size(3 << 20)
        ring.set_batching(1000, 1 << 20)
        assert tot_memory(ring) == 3 << 20
        ring.set_batching(1000, 2 << 20)
        # set_batching leaves the file to the once-a-second rewrite
        assert wait_for_memory(ring, 4 << 20) == 4 << 20


@pytest.mark.parametrize("blocks", [1, 3])
def test_a_stopped_reader_holds_exactly_what_fits_and_drops_the_rest(veth_pair, blocks):
    """Nothing is read while the frames arrive: the ring keeps exactly
    blocks x PER_BLOCK of them with no drop, and drops every one after."""
    pair = veth_pair
    fit = blocks * PER_BLOCK
    with open_in_a(pair) as ring:
        # a retire timeout far longer than the sending: no part-filled block
        # is handed over while the frames arrive
        ring.set_batching(600_000)
        ring.set_buffer_size(blocks * BLOCK - 4096)
        ring.set_bpf_filter(f"ether proto {ETH_TEST:#x}")
        ring.enable()
        send_from_b(pair, frames(pair, 0, fit))
        assert ring.stats().drop == 0
        # the next frame closes the last block, finds no free one and is
        # dropped, as are the ones after it
        send_from_b(pair, frames(pair, fit, 25))
        assert ring.stats().drop == 25
        got = collect(ring, fit + 25, timeout=3)
        assert [int.from_bytes(d[14:18], "big") for _, d in got] == list(range(fit))
        st = ring.stats()
    assert (st.recv, st.drop) == (fit, 25)


@pytest.mark.parametrize("value, error, text", [
    (0, InvalidArgumentError, "buffer size must be at least 1 byte, not 0"),
    (2**32, InvalidArgumentError,
     "buffer size 4294967296 is over the largest ring of 262144-byte blocks, 4294705152 bytes"),
    (-1, InvalidArgumentError, "nbytes -1 is out of range"),
    (2**64, InvalidArgumentError, "nbytes 18446744073709551616 is out of range"),
    (1.5, TypeError, "nbytes must be an int, not float"),
    (True, TypeError, "nbytes must be an int, not bool"),
    ("4096", TypeError, "nbytes must be an int, not str"),
])
def test_bad_sizes_are_refused_and_the_ring_keeps_its_size(veth_pair, value, error, text):
    with open_in_a(veth_pair) as ring:
        ring.set_buffer_size(2 * BLOCK)
        with pytest.raises(error, match=text):
            ring.set_buffer_size(value)
        assert tot_memory(ring) == 2 * BLOCK


def test_too_late_after_enable_or_a_cluster(veth_pair):
    with open_in_a(veth_pair) as ring:
        ring.set_buffer_size(2 * BLOCK)
        ring.enable()
        with pytest.raises(InvalidStatusError,
                           match="the buffer size must be set before pfring_enable_ring"):
            ring.set_buffer_size(4 * BLOCK)
        ring.disable()
        with pytest.raises(InvalidStatusError,
                           match="the buffer size must be set before the ring is enabled"):
            ring.set_buffer_size(4 * BLOCK)
        assert tot_memory(ring) == 2 * BLOCK



def test_a_cluster_member_keeps_its_size_when_it_leaves(veth_pair):
    with open_in_a(veth_pair) as ring:
        ring.set_cluster(31)              # joins the kernel group at enable
        ring.set_buffer_size(3 * BLOCK)
        ring.enable()
        with pytest.raises(InvalidStatusError, match="before pfring_enable_ring"):
            ring.set_buffer_size(4 * BLOCK)
        ring.disable()                    # still a member of the group
        with pytest.raises(InvalidStatusError, match="or joins a cluster"):
            ring.set_buffer_size(4 * BLOCK)
        ring.remove_from_cluster()        # a new socket, set up as the old one
        assert tot_memory(ring) == 3 * BLOCK


def test_zc_rings_say_where_their_memory_comes_from(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(f"zc:{veth_pair.if_a}")
    with ring:
        with pytest.raises(NotSupportedError, match="min_num_slots frames of 4096 bytes"):
            ring.set_buffer_size(4 << 20)
