"""libpfring's diagnostics into Python's ``logging`` (logger "pcap_pfring").

libpfring never prints: it hands every diagnostic to one print callback
(``pfring_set_print(fn, user, max_level)``, levels 0 error, 1 warning,
2 info, 3 debug).  Importing ``pcap_pfring`` installs ``pp_log_print``
(an ``extern "Python"`` callback) there, for every level; each message
becomes a record of the "pcap_pfring" logger at the matching logging
level, and logging's own levels and handlers decide what is shown.

Callback protocol:

1. libpfring may call it from any thread, its own included; cffi takes the
   GIL for the call.
2. It never raises: an exception in logging is dropped (there is no caller
   in C that could take it).
3. At interpreter exit (``atexit``) libpfring's own printer is put back, so
   that a thread of libpfring never calls into a finished interpreter.

By default, as long as the application shows no logging on stderr itself,
warnings and errors still reach stderr exactly as libpfring prints them
("pfring: warning: ..."): the logger has one handler, ``StderrHandler``,
which hands them to libpfring's own printer unless a handler of the
application already writes the record to stderr (no line twice).  Remove it
(``logging.getLogger("pcap_pfring").removeHandler(...)``, or
``set_stderr(False)``) to keep stderr clean.
"""
import atexit
import logging
import sys

from ._ffi import ffi, lib

__all__ = ["LOGGER_NAME", "StderrHandler", "install", "uninstall", "set_stderr"]

LOGGER_NAME = "pcap_pfring"
logger = logging.getLogger(LOGGER_NAME)

# libpfring's levels, and back
_LEVELS = (logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG)
_PF_DEBUG = 3


def _pf_level(levelno):
    for pf, lv in enumerate(_LEVELS):
        if levelno >= lv:
            return pf
    return _PF_DEBUG


@ffi.def_extern()
def pp_log_print(level, msg, user):
    try:
        levelno = _LEVELS[min(max(level, 0), _PF_DEBUG)]
        if logger.isEnabledFor(levelno):
            text = ffi.string(msg).decode("utf-8", "replace") if msg != ffi.NULL else ""
            logger.log(levelno, "%s", text, extra={"pfring_level": level})
    except BaseException:      # never into C
        pass


class StderrHandler(logging.Handler):
    """Warnings and errors on stderr as libpfring prints them
    ("pfring: <level>: <message>"), unless another handler that the record
    reaches already writes to stderr."""

    def __init__(self, level=logging.WARNING):
        super().__init__(level)

    @staticmethod
    def _shown_elsewhere(record):
        log = logger
        while log is not None:
            for h in log.handlers:
                if isinstance(h, StderrHandler) or record.levelno < h.level:
                    continue
                stream = getattr(h, "stream", None)
                if stream is not None and stream in (sys.stderr, sys.__stderr__):
                    return True
            if not log.propagate:
                break
            log = log.parent
        return False

    def emit(self, record):
        try:
            if self._shown_elsewhere(record):
                return
            level = getattr(record, "pfring_level", None)
            if level is None:
                level = _pf_level(record.levelno)
            sys.stderr.flush()
            lib.pfring_default_print(level, record.getMessage().encode("utf-8", "replace"),
                                     ffi.NULL)
        except Exception:
            self.handleError(record)


_stderr_handler = StderrHandler()


def set_stderr(on):
    """With ``on``, warnings and errors also go to stderr in libpfring's
    format (the default, see the module docstring); without, only to the
    application's logging handlers."""
    if on and _stderr_handler not in logger.handlers:
        logger.addHandler(_stderr_handler)
    elif not on:
        logger.removeHandler(_stderr_handler)


def install():
    """Route libpfring's diagnostics, every level, to the logger."""
    lib.pfring_set_print(lib.pp_log_print, ffi.NULL, _PF_DEBUG)


def uninstall():
    """libpfring's own printer again (stderr, warnings and errors)."""
    lib.pfring_set_print(ffi.NULL, ffi.NULL, 1)


set_stderr(True)
atexit.register(uninstall)
