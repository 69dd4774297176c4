"""SIGTERM and SIGINT in the one-shot commands (``triage once``, ``train``, …).

They unwind a command at once, like Ctrl-C's KeyboardInterrupt: its analysis workers
stopped, what it had not committed forgotten, its lock released, exit status 1. Output
and the commit that goes with it are never cut in half: inside :func:`signals_held` the
exception waits until the block is done. (``triage run`` handles the signals its own
way: it finishes the batch and exits 0, see :mod:`triage.imap.service`.)
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C's KeyboardInterrupt is (and caught where it is)."""


_held = 0
"""How many :func:`signals_held` blocks are open."""
_pending: type[KeyboardInterrupt] | None = None
"""The exception a signal raised during such a block, raised when the last one ends."""


def _raiser(kind: type[KeyboardInterrupt]):
    def handler(signum, frame) -> None:
        global _pending
        if _held:
            _pending = _pending or kind
            return
        raise kind()
    return handler


@contextmanager
def stopping_signals_raise() -> Iterator[None]:
    """For the block's duration SIGTERM raises :class:`Terminated` and SIGINT
    KeyboardInterrupt, except inside :func:`signals_held`. Main thread only: elsewhere
    signals cannot be handled, and the defaults stay."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handlers = {signal.SIGTERM: _raiser(Terminated), signal.SIGINT: _raiser(KeyboardInterrupt)}
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def signals_held() -> Iterator[None]:
    """A SIGTERM or SIGINT that arrives during the block takes effect when it is done, so
    what it prints is whole lines and what it commits matches what it printed."""
    global _held, _pending
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending is not None:
            kind, _pending = _pending, None
            raise kind()
