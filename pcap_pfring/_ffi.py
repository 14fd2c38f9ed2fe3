"""The compiled binding: every module imports ``ffi`` and ``lib`` from here."""
from ._pfring import ffi, lib  # noqa: F401

__all__ = ["ffi", "lib"]
