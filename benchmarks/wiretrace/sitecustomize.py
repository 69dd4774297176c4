"""A wire trace of triage's IMAP commands, for profiling against a local Dovecot.

Put this directory on ``PYTHONPATH`` and set ``TRIAGE_WIRE_TRACE`` to a file: every
``python -m triage <command>`` whose command is in ``TRIAGE_WIRE_TRACE_COMMANDS``
(default ``run``) then appends one line per command line it sends (``time > TAG
COMMAND``, a long UID set shortened to ``<n UIDs>``, cut at 160 characters) and per tagged answer it reads (``time < TAG OK ...``),
on the monotonic clock. Dovecot ends each tagged answer with its own timing of the
command, ``(0.322 + 0.000 + 0.321 secs)``, so ``benchmarks/wire_summary.py`` can tell
what the server spent from what the round trip cost. Nothing else is changed, and no
message content is written (only command lines, whose arguments are UIDs and labels).

    TRIAGE_WIRE_TRACE=/tmp/wire.txt PYTHONPATH=benchmarks/wiretrace \\
        .venv/bin/python benchmarks/latency_under_load.py --messages 62000
    .venv/bin/python benchmarks/wire_summary.py /tmp/wire.txt
"""

import os
import sys
import time

_TRACE = os.environ.get("TRIAGE_WIRE_TRACE")
_COMMANDS = os.environ.get("TRIAGE_WIRE_TRACE_COMMANDS", "run").split(",")

if _TRACE and any(command in sys.argv[1:3] for command in _COMMANDS):
    import imaplib
    import re

    _SECRET = (b"LOGIN", b"AUTHENTICATE")  # their arguments are the password or the token
    _UID_SET = re.compile(rb"[0-9][0-9:,]{30,}")

    _out = open(_TRACE, "a", buffering=1)  # noqa: SIM115 - open for the life of the process
    _send, _get_line = imaplib.IMAP4.send, imaplib.IMAP4._get_line

    def _traced_send(self, data):
        for line in bytes(data).split(b"\r\n"):
            words = line.split(b" ", 2)
            if len(words) < 2 or not line[:1].isalpha():
                continue  # a literal's bytes, a SASL answer, DONE: not a command
            if words[1].upper() in _SECRET:
                line = words[0] + b" " + words[1] + b" <not traced>"
            else:
                line = _UID_SET.sub(lambda uids: b"<%d UIDs>" % (uids[0].count(b",") + 1), line)
            _out.write("%.4f > %s\n" % (time.monotonic(), line[:160].decode("latin-1")))
        return _send(self, data)

    def _traced_get_line(self):
        line = _get_line(self)
        if line[:1].isalpha():  # tagged answers only: untagged ones carry mail
            _out.write("%.4f < %s\n" % (time.monotonic(), line[:100].decode("latin-1")))
        return line

    imaplib.IMAP4.send = _traced_send
    imaplib.IMAP4._get_line = _traced_get_line
