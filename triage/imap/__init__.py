"""The IMAP side of triage: connect (``connection``), read mail without touching it
(``mailbox``), and write labels back the way the server supports (``labeler``)."""

from triage.imap.connection import Credentials, ImapConnectionError, connect
from triage.imap.labeler import LabelChange, Labeler, make_labeler
from triage.imap.mailbox import FolderState, ImapMailbox

__all__ = [
    "Credentials",
    "FolderState",
    "ImapConnectionError",
    "ImapMailbox",
    "LabelChange",
    "Labeler",
    "connect",
    "make_labeler",
]
