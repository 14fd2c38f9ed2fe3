"""The start of a child interpreter's code that keeps every libpfring
message as ``[level, text]`` in the list ``logged``, through the package's
logging bridge (logger "pcap_pfring"; nothing of it on stderr).  Tests run
``PRELUDE + their own code`` with ``python -c``."""

PRELUDE = r"""
import logging

logged = []


class _Keep(logging.Handler):
    def emit(self, record):
        logged.append([getattr(record, "pfring_level", None), record.getMessage()])


_logger = logging.getLogger("pcap_pfring")
_logger.setLevel(logging.DEBUG)
_logger.addHandler(_Keep())
from pcap_pfring import _log  # noqa: E402  (after the handler: no message missed)
_log.set_stderr(False)
"""
