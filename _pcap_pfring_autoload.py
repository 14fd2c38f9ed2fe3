"""Auto-activation of pcap_pfring's scapy sockets, for unmodified scripts.

``pcap-pfring-autoload.pth`` (installed next to this module in
site-packages) imports this module at interpreter start only when a
PCAP_PF_RING_* variable is set and PCAP_NO_PF_RING is not; then
``activate()`` puts a finder first on ``sys.meta_path`` unless
``PCAP_PF_RING_SCAPY=0`` opts out.  Nothing else happens at start: no
scapy, no cffi, no library is loaded, and a process that never imports scapy
only pays for one string comparison per import.

When ``scapy.config`` is imported, the finder lets the normal finders load
it, then wraps its ``_set_conf_sockets`` (see ``pcap_pfring.scapy`` for the
install protocol) and leaves ``sys.meta_path``.  The first call of the
wrapper (at the end of ``scapy.arch``'s import, when scapy is loaded far
enough) imports ``pcap_pfring.scapy`` and calls ``install()``.  If that
fails, scapy keeps its own sockets and one warning says why.

This module is top-level, outside the ``pcap_pfring`` package, because
importing the package loads the compiled extension.
"""
import os
import sys

TARGET = "scapy.config"


def wanted(environ=None):
    """Whether the environment asks for auto-activation."""
    environ = os.environ if environ is None else environ
    if "PCAP_NO_PF_RING" in environ or environ.get("PCAP_PF_RING_SCAPY") == "0":
        return False
    return any(k.startswith("PCAP_PF_RING_") for k in environ)


class _Loader:
    """The real loader of scapy.config, and the hook after it ran."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        hook(module)

    def __getattr__(self, name):
        return getattr(self.loader, name)


class Finder:
    """A meta path finder that only answers for scapy.config."""

    def find_spec(self, name, path=None, target=None):
        if name != TARGET:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader)
                return spec
        return None


def hook(config):
    """Wrap ``config._set_conf_sockets`` so that its first call installs."""
    base = config._set_conf_sockets

    def _set_conf_sockets():
        base()
        try:
            from pcap_pfring.scapy import install
            install()
        except Exception as exc:   # scapy goes on with its own sockets
            print(f"pcap_pfring: scapy keeps its own sockets: {type(exc).__name__}: {exc}",
                  file=sys.stderr)

    _set_conf_sockets._pcap_pfring_base = base
    config._set_conf_sockets = _set_conf_sockets


def activate():
    """Called from the .pth file: put the finder in place if wanted."""
    if not wanted() or TARGET in sys.modules:
        return
    if not any(isinstance(f, Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, Finder())
