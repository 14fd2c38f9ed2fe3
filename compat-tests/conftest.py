"""Compatibility suite: unmodified programs (tcpdump, dumpcap, scapy scripts,
pcapy-ng, libpcap test programs) on PF_RING rings.  Set-up:
pcap_pfring.testing.plugin, as for tests/."""
pytest_plugins = ["pcap_pfring.testing.plugin"]
