"""Labeled mail from IMAP folders: ``triage train imap:Training/*``.

Each folder matching the pattern is one category, named by the last part of its path
(``Training/refund`` or ``Training.Refund`` -> ``refund``; case does not matter; a name
that is no category is an error naming it). A ``/`` in the pattern stands for the
server's hierarchy delimiter, and the personal namespace (``INBOX.`` on Courier) is
added, as for label folders. Folders are EXAMINEd (read-only) and bodies fetched with
``BODY.PEEK`` in batches, so nothing on the server changes, ``\\Seen`` included. The raw
mail then goes through :func:`triage.labeled.build_labeled`, the code path of
``triage train DIR``.

triage's own label folders (``labels.mode = "folders"``) are refused: learning from them
would be learning triage's own decisions as if a person had made them.

The service watches the same folders for new mail (``[model] training_folders``,
:mod:`triage.imap.drops`) and records each message dropped there as a correction.
"""

from __future__ import annotations

from collections.abc import Callable

from triage.config import Config
from triage.errors import SourceError, UsageError
from triage.imap.connection import Credentials, connect, disconnect
from triage.imap.labeler import folder_for
from triage.imap.mailbox import ImapMailbox
from triage.labeled import FOLDERS, LabeledSet, build_labeled
from triage.logs import register_secret
from triage.message import RawMail


def load_labeled_imap(config: Config, pattern: str, progress: Callable[[str], None] | None = None) -> LabeledSet:
    """Read every category folder matching ``pattern`` on the configured server."""
    credentials = Credentials(config.imap)
    client = connect(config.imap, credentials)
    register_secret(credentials.secret())
    try:
        mailbox = ImapMailbox(client)
        namespace, delimiter = mailbox.hierarchy()
        folders = category_folders(mailbox.folders(folder_for(pattern, namespace, delimiter)), delimiter)
        if not folders:
            raise SourceError(f"imap:{pattern}: no folder matches (expected one per category: {', '.join(FOLDERS)})")
        own = folder_for(config.labels.prefix, namespace, delimiter).lower()
        theirs = sorted(folder for folder in folders if folder.lower().startswith(own))
        if theirs:
            raise UsageError(f"imap:{pattern}: {', '.join(theirs)} hold triage's own labels; "
                             "train from folders people filed mail into")
        by_folder: list[tuple[str, list[RawMail]]] = []
        for folder, category in folders.items():
            mailbox.select(folder, readonly=True)
            uids = mailbox.uids_since(0)
            if progress:
                progress(f"fetching {folder} ({len(uids)} messages)")
            mails = [mail for batch in mailbox.fetch_batches(uids, config.imap.batch_size, config.imap.max_message_bytes)
                     for mail in batch]
            by_folder.append((category, mails))
    finally:
        disconnect(client)
    return build_labeled(by_folder)


def category_folders(folders: list[str], delimiter: str) -> dict[str, str]:
    """Folder -> category by the last part of each name, case-insensitively; UsageError
    names the folders that are no category."""
    mapping, unknown = split_category_folders(folders, delimiter)
    if unknown:
        raise UsageError(f"folders {', '.join(unknown)} are not categories; "
                         f"name each training folder after one of {', '.join(FOLDERS)}")
    return mapping


def split_category_folders(folders: list[str], delimiter: str) -> tuple[dict[str, str], list[str]]:
    """(folder -> category, the folders named after no category, sorted): a folder is the
    category its last path component names, case-insensitively (``Training/Refund`` ->
    ``refund``; ``other`` is one too)."""
    names = {folder: folder.rsplit(delimiter, 1)[-1].lower() for folder in folders}
    return ({folder: name for folder, name in names.items() if name in FOLDERS},
            sorted(folder for folder, name in names.items() if name not in FOLDERS))
