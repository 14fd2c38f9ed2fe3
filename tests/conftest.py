"""Shared test set-up: pcap_pfring.testing.plugin (private status tree, the
namespace fixtures, the needs_root marker)."""
pytest_plugins = ["pcap_pfring.testing.plugin"]
