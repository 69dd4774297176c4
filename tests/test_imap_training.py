"""`triage train imap:PATTERN` against the test Dovecot: training folders are read, not changed."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from dovecot import PASSWORD, PASSWORD_ENV, Dovecot

from triage.cli import main
from triage.errors import UsageError
from triage.imap.training import category_folders, load_labeled_imap
from triage.labeled import FOLDERS, load_labeled
from triage.model import load_model
from triage.modelstore import HOLDOUT_DIR

PER_FOLDER = 6


def crlf(path: Path) -> bytes:
    return path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture
def training(dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """``Train<id>.<category>`` folders holding six held-out messages each (one of them also
    filed under a second category), some \\Seen, some \\Flagged; the same files in a local
    labeled folder; and a config for the server."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    top = f"Train{uuid.uuid4().hex[:8]}"
    local = tmp_path / "local"
    files = {name: sorted((HOLDOUT_DIR / name).iterdir())[:PER_FOLDER] for name in FOLDERS}
    files["follow_up"].append(files["refund"][0])  # filed under two categories
    uids = {}
    for name, paths in files.items():
        folder = f"{top}.{name.capitalize() if name == 'refund' else name}"  # case does not matter
        dovecot.create_folder(folder)
        (local / name).mkdir(parents=True)
        for i, path in enumerate(paths):
            flags = ["\\Seen"] if i % 2 else ["\\Flagged"] if i % 3 == 0 else []
            uids.setdefault(folder, []).append(dovecot.append(folder, crlf(path), flags=flags))
            shutil.copy(path, local / name / path.name)
    imap = dovecot.imap_config()
    config = tmp_path / "triage.toml"
    config.write_text(f'[imap]\nhost = "{imap.host}"\nport = {imap.port}\nsecurity = "plain"\n'
                      f'username = "{imap.username}"\npassword_env = "{PASSWORD_ENV}"\n'
                      f'[state]\npath = "{tmp_path / "state.db"}"\n')
    return {"top": top, "uids": uids, "local": local, "config": config}


def all_flags(dovecot: Dovecot, uids: dict[str, list[int]]) -> dict:
    return {(folder, uid): dovecot.flags(folder, uid) for folder, some in uids.items() for uid in some}


def test_train_from_imap_folders_end_to_end_and_nothing_changes(dovecot, training, tmp_path, capsys):
    before = all_flags(dovecot, training["uids"])
    assert any("\\Seen" not in flags for flags in before.values())
    out = tmp_path / "imap-model.npz"

    code = main(["train", f"imap:{training['top']}/*", "--config", str(training["config"]), "--out", str(out),
                 "--estimator", "lr_word"])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert all_flags(dovecot, training["uids"]) == before  # \Seen untouched, nothing added or removed
    model, card = load_model(out)
    assert card["data"]["source"] == f"imap:{training['top']}/*"
    assert card["data"]["counts"] == {**dict.fromkeys(FOLDERS, PER_FOLDER), "follow_up": PER_FOLDER + 1}
    assert card["data"]["messages"] == len(load_labeled(training["local"]).examples)
    assert card["tone"]["inherited"]  # too few tone annotations: the shipped tone model is kept
    assert f"wrote {out}" in captured.out
    # Progress on a stderr that is no terminal: one readable line per step.
    assert f"fetching {training['top']}.Refund ({PER_FOLDER} messages)" in captured.err
    assert "cross-validation fold 5/5" in captured.err and "\x1b[" not in captured.err


def test_imap_folders_give_the_same_examples_as_the_same_mail_on_disk(training):
    from triage.config import load_config

    remote = load_labeled_imap(load_config(training["config"]), f"{training['top']}/*")
    local = load_labeled(training["local"])
    assert [(e.message.message_id, e.categories, e.frustrated) for e in remote.examples] == \
           [(e.message.message_id, e.categories, e.frustrated) for e in local.examples]
    assert remote.counts() == local.counts()


def test_a_folder_that_is_no_category_is_named(dovecot, training, capsys):
    dovecot.create_folder(f"{training['top']}.spam")
    assert main(["train", f"imap:{training['top']}/*", "--config", str(training["config"]), "--out", "/dev/null"]) == 2
    assert f"{training['top']}.spam" in capsys.readouterr().err


def test_a_pattern_that_matches_nothing_is_an_error(training, capsys):
    assert main(["train", "imap:NoSuchTraining/*", "--config", str(training["config"]), "--out", "/dev/null"]) == 2
    assert "no folder matches" in capsys.readouterr().err


def test_triage_never_learns_from_its_own_label_folders(dovecot, training, capsys):
    dovecot.create_folder("triage.refund")
    assert main(["train", "imap:triage/*", "--config", str(training["config"]), "--out", "/dev/null"]) == 2
    assert "triage's own labels" in capsys.readouterr().err


def test_category_folders_map_the_last_part_of_the_name():
    assert category_folders(["INBOX.Training.Refund", "INBOX.Training.other"], ".") == {
        "INBOX.Training.Refund": "refund", "INBOX.Training.other": "other"}
    with pytest.raises(UsageError, match="Training/Refunds, Training/misc are not categories"):
        category_folders(["Training/misc", "Training/Refunds", "Training/refund"], "/")
