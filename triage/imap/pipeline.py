"""Several UID commands sent back to back, their answers read afterwards (RFC 3501 5.5).

A server with a big folder and mail arriving looks at the folder again for every command
it finishes (Dovecot re-reads a Maildir's cur/ once another session changed it: about a
quarter of a second at 100,000 messages). Commands sent back to back it finishes as a
lot, with that look once — measured on a 60,000-message Maildir with four connections
appending: ten STOREs 0.4–0.8 s one by one, 0.01–0.3 s pipelined. Every round trip a
pass saves is also time a new message does not wait. Dovecot takes at most
:data:`SERVER_QUEUE` commands of a client at a time: the commands of one lot share one
look, the next lot needs another.

imapclient has no pipelining, so this uses the split imaplib itself makes of every
command (``_command`` sends, ``_command_complete`` reads the answer), the one imapclient's
own ``fetch`` uses.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from imapclient import IMAPClient

from triage.imap.fetchparse import one_by_one, parse_fetch

SERVER_QUEUE = 4
"""Commands Dovecot reads ahead and runs as one lot, with one look at the folder at its
end (``CLIENT_COMMAND_QUEUE_MAX_SIZE`` in its imap server)."""

Answer = tuple[str, list]
"""(``OK``, ``NO`` or ``BAD``; the command's untagged responses of the kind asked for,
or for a refusal the server's text)."""


def pipelined(client: IMAPClient, commands: Sequence[Sequence[bytes | str]], response: str) -> list[Answer]:
    """Send each of ``commands`` (the arguments after ``UID``, e.g. ``("FETCH", "1:4",
    "(FLAGS)")``) without waiting, then read every answer, in order. Returns one
    :data:`Answer` per command: a refusal (NO, BAD) is an answer too, so none is left
    unread behind it. The untagged ``response`` items (``"FETCH"``) of each command are
    taken with it: the server finishes one command before it starts the next.

    Raises imaplib's ``abort`` (a broken connection) as imapclient would; callers run it
    inside :func:`~triage.imap.connection.imap_errors`."""
    return answers(client, send(client, commands), response)


def send(client: IMAPClient, commands: Sequence[Sequence[bytes | str]]) -> list[str]:
    """Send ``commands`` (as :func:`pipelined`) in one write and return their tags,
    answers unread: the caller reads them with :func:`answers` when it needs them.
    Commands sent meanwhile on the connection are answered after these; imaplib keeps
    the answers it reads on the way by tag.

    One write, not one per command: Dovecot starts on the first command that reaches it,
    and a command it has not read when that one ends waits for another look at the folder
    (traced at 80,400 messages under load: two STOREs written 0.2 ms apart finished 0.4 s
    apart in 10 of 17 passes). Commands with a literal cannot be sent so (the server
    must ask for the literal first); none of triage's pipelined commands has one."""
    imap = client._imap
    if imap.literal is not None:
        raise ValueError("a pipelined command cannot carry a literal")
    written: list[bytes] = []
    own = vars(imap).get("send")
    imap.send = written.append  # imaplib's _command writes through self.send: collect the lines instead
    try:
        tags = [imap._command("UID", *args) for args in commands]
    finally:
        if own is None:
            del imap.send
        else:
            imap.send = own
    try:
        imap.send(b"".join(written))
    except OSError as exc:
        raise imap.abort(f"socket error: {exc}") from exc
    return tags


def answers(client: IMAPClient, tags: Sequence[str], response: str) -> list[Answer]:
    """The answers to the commands :func:`send` sent as ``tags``, in order (see
    :func:`pipelined`)."""
    imap = client._imap
    found: list[Answer] = []
    for tag in tags:
        try:
            status, text = imap._command_complete("UID", tag)
        except imap.abort:
            raise
        except imap.error as exc:  # BAD
            status, text = "BAD", [str(exc)]
        untagged = imap.untagged_responses.pop(response, [])
        found.append((status, untagged if status == "OK" else text))
    return found


def fetch_responses(client: IMAPClient, data: list, uids: Collection[int]) -> list[tuple[int, dict]]:
    """Pipelined FETCHes' untagged responses one by one, in the order they came, as
    (UID, {item: value}) for ``uids`` only (another client's flag change can come along).

    Not merged by UID as imapclient's ``fetch`` does: a server may run pipelined FETCHes
    side by side (Dovecot does) and mix their responses, so which command a response
    answers is told by the items it holds, and each keeps its own FLAGS."""
    responses = []
    for one in one_by_one(data):
        for uid, items in parse_fetch(one, client.normalise_times, client.use_uid).items():
            if uid in uids:
                responses.append((uid, items))
    return responses
