"""Read the team's replies from the Sent folder(s).

The team answers from their own mail client, so their replies often never pass through
the watched folder: they sit in Sent, From a personal address triage does not know.
Every message there is the team's (that is the evidence, whatever its From), so its
headers are enough to stop a conversation's clock (:meth:`Engine.record_replies`).

- :func:`find_sent_folders` — ``[imap] sent_folders`` when set; else the folders the
  server marks SPECIAL-USE ``\\Sent`` (RFC 6154); else one with a common name ("Sent",
  "Sent Items", …, imapclient's ``find_special_folder``).
- :func:`fetch_sent` — the messages above a UID (or since a date), headers only, with
  ``BODY.PEEK[HEADER]`` (its first :data:`~triage.imap.mailbox.HEADER_FETCH_BYTES`) and the folder
  examined read-only: nothing there changes.
- :func:`ingest_sent` — one pass over one Sent folder, tracked by its own
  (UIDVALIDITY, last UID) cursor in history.

A message whose reading makes the server drop the connection would fail every pass
before the watched folder is reached: it is read alone, then skipped, as in the watched
folder (:mod:`triage.imap.lostfetch`).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from itertools import islice

from imapclient.imapclient import SENT

from triage.engine import Engine
from triage.imap.connection import FetchLost, ImapConnectionError, imap_errors
from triage.imap.lostfetch import given_up, lost_fetches_above
from triage.imap.mailbox import HEADER_FETCH, ImapMailbox, _body, _chunks, _utc, fetch, shown_status, status_uids
from triage.imap.renumbering import uids_went_back
from triage.message import RawMail

log = logging.getLogger(__name__)

BATCH = 500
"""Headers fetched per round trip (a few kB each)."""


SENT_NAMES = frozenset(unicodedata.normalize("NFC", name).casefold() for name in (
    "Sent", "Sent Items", "Sent Mail", "Sent Messages",
    "Gesendet", "Gesendete Elemente", "Gesendete Objekte", "Gesendete Nachrichten",
    "Envoyés", "Éléments envoyés", "Messages envoyés", "Envoyé",
    "Enviados", "Elementos enviados", "Correo enviado", "Mensajes enviados", "Itens enviados",
    "Mensagens enviadas", "Inviati", "Posta inviata", "Elementi inviati", "Messaggi inviati",
    "Verzonden", "Verzonden items", "Verzonden berichten", "Skickat", "Skickade objekt",
    "Skickade meddelanden", "Sendt", "Sendte elementer", "Sendte meldinger", "Sendt post", "Lähetetyt",
    "Lähetetyt kohteet", "Wysłane", "Elementy wysłane", "Odeslané", "Odeslaná pošta", "Elküldött elemek",
    "Trimise", "Отправленные", "Надіслані", "Gönderilmiş Öğeler", "Gönderilenler", "Απεσταλμένα",
    "送信済みアイテム", "送信済み", "已发送", "已发送邮件", "寄件備份", "보낸 편지함",
))
"""Names mail clients give the Sent folder they make, in the languages of their users
(Outlook's "Gesendete Elemente", "Éléments envoyés", …): on a server without SPECIAL-USE
the name is all that tells it."""


def sent_by_name(names: Sequence[str], delimiter: str) -> str | None:
    """The first of the folder ``names`` named like a Sent folder (:data:`SENT_NAMES`,
    case and Unicode composition ignored), at the top or right under INBOX (Courier's
    ``INBOX.Sent``); None when none is."""
    inbox = f"INBOX{delimiter}".casefold() if delimiter else None
    for name in names:
        folded = unicodedata.normalize("NFC", name).casefold()
        if inbox and folded.startswith(inbox):
            folded = folded[len(inbox):]
        if folded in SENT_NAMES:
            return name
    return None


def find_sent_folders(mailbox: ImapMailbox, configured: Sequence[str] = ()) -> list[str]:
    """The folders holding the team's sent mail: ``configured`` when given, else every
    selectable folder flagged ``\\Sent``, else the first with a common Sent name, in
    English or in the language of a mail client that made it (:func:`sent_by_name`); []
    when there is none. A folder that cannot be opened (``\\Noselect``: only the parent of
    others, e.g. ``Sent`` deleted with ``Sent/2025`` kept) is none: asked for its STATUS,
    it failed every pass.

    A configured folder the server does not have is logged as an error and left out, not
    raised: a person renaming or deleting it is enough, and the watched folder's mail must
    still be triaged. Raised, it ended every ``triage once`` and made the service exit 2,
    which systemd does not restart, until someone edited the config. It is looked for
    again whenever the folders are (every pass of ``once``, every few minutes of the service)."""
    client = mailbox.client
    if configured:
        present = [name for name in configured if mailbox.holds_mail(name)]
        missing = [name for name in configured if name not in present]
        if missing:
            log.error("[imap] sent_folders: the server has no folder %s that holds mail (renamed or deleted?); "
                      "the team's replies there are not seen until it is back or the config names it anew",
                      ", ".join(map(repr, missing)))
        return present
    with imap_errors("listing folders"):
        listed = client.list_folders()
    skip = {b"\\noselect", b"\\nonexistent"}
    flagged = [name for flags, _, name in listed
               if SENT.lower() in {f.lower() for f in flags} and not skip & {f.lower() for f in flags}]
    if flagged:
        return flagged
    with imap_errors("looking for a Sent folder"):
        guessed = client.find_special_folder(SENT)
    if guessed is not None and not mailbox.holds_mail(guessed):
        guessed = None
    if guessed is None:
        openable = [name for flags, _, name in listed if not skip & {f.lower() for f in flags}]
        guessed = sent_by_name(openable, mailbox.hierarchy()[1])
    if guessed is None:
        log.info("no Sent folder found; the team's replies are seen only in %s", mailbox.folder)
    return [guessed] if guessed else []


def fetch_sent(mailbox: ImapMailbox, folder: str, since_uid: int, *, since: date | None = None,
               batch_size: int = BATCH, uidvalidity: int = 0, lost: Mapping[int, int] | None = None,
               ) -> Iterator[RawMail]:
    """Yield the messages of ``folder`` with a UID above ``since_uid`` — or, with
    ``since``, those that arrived on or after that day — oldest first, as RawMail
    holding the header only (``uid`` and ``internaldate`` set).

    ``lost`` (UID → times) are the messages whose reading broke the connection before
    (:func:`~triage.imap.lostfetch.lost_fetches_above`): each is read on its own, or,
    given up on, not at all (logged). A connection that breaks while headers are read
    raises :class:`~triage.imap.connection.FetchLost` naming ``folder``, ``uidvalidity``
    and the UIDs asked for.

    ``folder`` is selected read-only while the generator runs and the folder selected
    before comes back when it ends: consume it before sending other commands."""
    lost = lost or {}
    with mailbox.visiting(folder):
        uids = mailbox.uids_since_date(since) if since is not None else mailbox.uids_since(since_uid)
        for chunk in _chunks(uids, batch_size):
            answer: dict = {}
            for group in _fetch_groups(folder, chunk, lost):
                try:
                    with imap_errors(f"fetching headers in {folder}"):
                        answer.update(fetch(mailbox.client, group, [HEADER_FETCH, "INTERNALDATE"]))
                except ImapConnectionError as exc:
                    raise FetchLost(str(exc), folder, uidvalidity, group) from exc
            for uid in chunk:
                header = _body(answer.get(uid, {}))
                if header:
                    yield RawMail(raw=bytes(header), mailbox=folder, key=str(uid), uid=uid,
                                  internaldate=_utc(answer[uid].get(b"INTERNALDATE")))


def _fetch_groups(folder: str, chunk: list[int], lost: Mapping[int, int]) -> list[list[int]]:
    """The UIDs of ``chunk`` as FETCHes: each one in ``lost`` alone, the rest together;
    those given up on left out, with a warning."""
    groups, rest = [], []
    for uid in chunk:
        if uid not in lost:
            rest.append(uid)
        elif given_up(lost[uid]):
            log.warning("%s: UID %d is not read: the connection broke each time the server was asked for it alone; "
                        "a reply of the team in it is not seen", folder, uid)
        else:
            groups.append([uid])
    return groups + [rest] if rest else groups


def ingest_sent(mailbox: ImapMailbox, engine: Engine, folder: str, first_run_since: date,
                stop: Callable[[], bool] = lambda: False) -> int:
    """Record what is new in one Sent folder as the team's replies; return how many.

    Where to start comes from the folder's cursor in history: above the last UID read;
    on the first run, or when UIDVALIDITY changed, from ``first_run_since`` (Message-IDs
    already known are skipped, so nothing counts twice). The cursor moves with the
    engine's next commit, which the caller makes. ``stop`` is asked between batches:
    a stop leaves the cursor at the last message read, and the rest for the next pass."""
    history = engine.history
    if folder == mailbox.folder:
        log.warning("%s is the watched folder; the team's replies there are read with the rest of its mail", folder)
        return 0
    with imap_errors(f"reading the status of {folder}"):
        status = mailbox.client.folder_status(folder, [b"UIDVALIDITY", b"UIDNEXT"])
    numbers = status_uids(status)
    if numbers is None:  # left out, as a Sent folder that is gone
        log.error("%s: the server's STATUS answer holds no UIDVALIDITY and UIDNEXT to read (%s); the team's "
                  "replies there are not read this pass", folder, shown_status(status))
        return 0
    uidvalidity, uidnext = numbers
    cursor = history.get_cursor(folder)
    went_back = cursor is not None and cursor[0] == uidvalidity and uids_went_back(cursor[1], uidnext)
    fresh = cursor is None or cursor[0] != uidvalidity or went_back
    if not fresh and uidnext - 1 <= cursor[1]:
        return 0  # nothing sent since: no need to open the folder (and select the watched one again)
    if went_back:
        log.warning("%s: UIDNEXT %d is not above UID %d, read before under the same UIDVALIDITY: the server "
                    "renumbered the folder; reading the team's replies since %s again", folder, uidnext, cursor[1],
                    first_run_since)
    elif cursor is not None and fresh:
        log.warning("%s: UIDVALIDITY changed; reading the team's replies since %s again", folder, first_run_since)
    above = 0 if fresh else cursor[1]
    raws = fetch_sent(mailbox, folder, above, since=first_run_since if fresh else None, uidvalidity=uidvalidity,
                      lost={} if went_back else lost_fetches_above(history, folder, uidvalidity, above))
    recorded = last = 0
    stopped = False
    while batch := list(islice(raws, BATCH)):  # memory stays one batch, however big Sent is
        recorded += engine.record_replies(batch)
        last = max(last, *(raw.uid or 0 for raw in batch))
        log.info("%s: read the headers of %d message(s) up to UID %d", folder, len(batch), last)
        if stop():
            stopped = True
            raws.close()  # selects the watched folder again
            break
    if stopped:
        history.set_cursor(folder, uidvalidity, max(last, 0 if fresh else cursor[1]))
    else:
        history.set_cursor(folder, uidvalidity, max(last, uidnext - 1, 0 if fresh else cursor[1]))
    log.info("%s: %d new reply(ies) of the team recorded%s", folder, recorded, " before the stop" if stopped else "")
    return recorded
