"""The labels of PF_RING's /proc/net/pf_ring files, in PF_RING's order, as
the status tree must write them (libpfring/src/status.c).  The live status
tests compare a real ring file's field names with these lists."""

RING_LABELS = [
    "Bound Device(s)", "Active", "Breed", "Appl. Name", "Socket Mode", "Capture Direction",
    "Sampling Rate", "Filtering Sampling Rate", "IP Defragment", "BPF Filtering",
    "Sw Filt Hash Rules", "Sw Filt WC Rules", "Sw Filt Hash Match", "Sw Filt Hash Miss",
    "Sw Filt Hash Filtered", "Hw Filt Rules", "Poll Pkt Watermark", "Num Poll Calls",
    "Poll Watermark Timeout", "Channel Id Mask", "VLAN Id", "Slot Version", "Min Num Slots",
    "Bucket Len", "Tot Memory", "Tot Packets", "Tot Pkt Lost", "Tot Insert", "Tot Read",
    "Num Free Slots",
    "TX: Send Ok", "TX: Send Errors", "Reflect: Fwd Ok", "Reflect: Fwd Errors",
]

INFO_LABELS = [
    "PF_RING Version", "Total rings", "Ring slots", "Slot version", "Capture TX",
    "IP Defragment", "Socket Mode", "Cluster Fragment Queue", "Cluster Fragment Discard",
]
