"""The exceptions triage raises on purpose, and the exit status each one means.

Every error carries a message a person can act on. ``UsageError`` and its children exit
with status 2 (bad usage or config); every other ``TriageError`` exits with 1.
"""


class TriageError(Exception):
    """Base class: a runtime failure the command line reports and exits 1 on."""

    exit_status = 1


class UsageError(TriageError):
    """Raised for a bad command line, a source path that does not exist, or bad input
    the user must fix before anything can run."""

    exit_status = 2


class ConfigError(UsageError):
    """Raised when the config file is unreadable or a key is unknown, missing or of the
    wrong type; the message names the file and the key."""

    def __init__(self, path, key: str | None, problem: str):
        self.path = str(path)
        self.key = key
        where = f"{self.path}: [{key}]" if key else self.path
        super().__init__(f"{where}: {problem}")


class ModelError(UsageError):
    """Raised when a model file is missing, does not match its card or the digest
    recorded when it was saved (sha256), is in the old pickle format, or is no model."""


class SourceError(UsageError):
    """Raised when a local mail source (Maildir, mbox, folder of .eml) cannot be read."""


class MessageParseError(TriageError):
    """Raised for one message that cannot be parsed; callers log it and skip the message."""


class ImapError(TriageError):
    """Raised when the IMAP server cannot be reached, refuses login, or fails a command."""
