import re
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from triage.config import SECTIONS, Config, config_from_dict, load_config
from triage.errors import ConfigError

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


def test_example_config_documents_every_key_with_its_default():
    """Like datasette's test_docs: an undocumented or stale key fails here."""
    example = tomllib.loads(EXAMPLE.read_text())
    assert set(example) == set(SECTIONS)
    defaults = Config()
    for section, cls in SECTIONS.items():
        declared = {f.name for f in fields(cls)}
        assert set(example[section]) == declared, f"[{section}] out of step with {cls.__name__}"
        for key in declared:
            assert example[section][key] == getattr(getattr(defaults, section), key), f"{section}.{key} default differs"


def test_every_example_key_has_a_comment():
    for line in EXAMPLE.read_text().splitlines():
        if re.match(r"^[a-z_0-9]+ = ", line):
            assert "#" in line, f"undocumented: {line}"


def test_example_loads_cleanly():
    assert load_config(EXAMPLE).imap.port == 993


@pytest.mark.parametrize("data, key, words", [
    ({"imap": {"prot": 1}}, "imap.prot", "unknown key"),
    ({"imap": {"port": "993"}}, "imap.port", "must be int"),
    ({"labels": {"mode": "tags"}}, "labels.mode", "must be one of"),
    ({"support": {"addresses": "a@b"}}, "support.addresses", "list of str"),
    ({"imap": {"host": "mail.example.com", "security": "plain"}}, "imap.security", "loopback"),
    ({"triage": {"frustration_threshold": 1.5}}, "triage.frustration_threshold", "between 0 and 1"),
    ({"nonsense": {}}, "nonsense", "unknown section"),
    ({"model": {"training_folders": ["Training/*"]}}, "model.training_folders", "must be str"),
    ({"model": {"training_folders": "  "}}, "model.training_folders", "must name folders"),
    ({"model": {"training_folders": "Triage/*"}}, "model.training_folders", "triage's own label folders"),
    ({"model": {"training_folders": "triage-mine/*"}, "labels": {"prefix": "triage-mine/"}}, "model.training_folders",
     "triage's own label folders"),
    # Values TOML allows that no run can use: they ended `triage once` and `run` with a
    # traceback and exit status 1 (so systemd restarted them for ever), not exit 2.
    ({"imap": {"timeout_seconds": float("nan")}}, "imap.timeout_seconds", "finite number"),
    ({"imap": {"timeout_seconds": float("inf")}}, "imap.timeout_seconds", "finite number"),
    ({"service": {"reconnect_max_seconds": float("inf")}}, "service.reconnect_max_seconds", "finite number"),
    ({"sla": {"priority_2_hours": float("nan")}}, "sla.priority_2_hours", "finite number"),
    ({"imap": {"port": 99999999999999999999}}, "imap.port", "between 1 and 65535"),
    ({"imap": {"port": 0}}, "imap.port", "between 1 and 65535"),
    ({"imap": {"batch_size": 0}}, "imap.batch_size", "greater than 0"),
    ({"imap": {"max_message_bytes": 0}}, "imap.max_message_bytes", "greater than 0"),
    # A path naming a variable: nothing expands it, and the state went into ./$HOME/.
    ({"state": {"path": "$HOME/triage/state.db"}}, "state.path", "environment variables such as $HOME"),
    ({"state": {"path": "${STATE_DIRECTORY}/state.db"}}, "state.path", "such as ${STATE_DIRECTORY} are not"),
    ({"model": {"path": "$MODELS/m.npz"}}, "model.path", "are not expanded"),
    ({"imap": {"ca_file": "$CA"}}, "imap.ca_file", "are not expanded"),
    # A support address that matched no sender: every team reply a customer's message
    ({"support": {"addresses": ["larkspur.example"]}}, "support.addresses",
     "'larkspur.example' is no address: write one like help@larkspur.example, or @larkspur.example for the whole "
     "domain"),
    ({"support": {"addresses": ["help@"]}}, "support.addresses", "'help@' is no address"),
    ({"support": {"addresses": ["a@b@c"]}}, "support.addresses", "'a@b@c' is no address"),
    ({"support": {"addresses": [""]}}, "support.addresses", "'' is no address"),
])
def test_bad_config_names_file_and_key(data, key, words):
    with pytest.raises(ConfigError) as error:
        config_from_dict(data, "/etc/triage.toml")
    assert f"/etc/triage.toml: [{key}]" in str(error.value) and words in str(error.value)


def test_broken_toml_names_the_file(tmp_path):
    bad = tmp_path / "t.toml"
    bad.write_text("[imap\nhost=")
    with pytest.raises(ConfigError, match="t.toml.*not valid TOML"):
        load_config(bad)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_plain_to_loopback_is_allowed():
    config = config_from_dict({"imap": {"host": "127.0.0.1", "security": "plain", "port": 143}})
    assert config.imap.security == "plain"


def test_a_config_saved_with_a_byte_order_mark_loads(tmp_path):
    """Notepad saves UTF-8 with a BOM; tomllib called that "Invalid statement (at line 1,
    column 1)", an error nobody can see in the file."""
    path = tmp_path / "config.toml"
    path.write_bytes("\ufeff[imap]\nhost = \"mail.example.com\"\n".encode())
    assert load_config(path).imap.host == "mail.example.com"


def test_a_non_finite_timeout_exits_2_naming_the_key(tmp_path, capsys, monkeypatch):
    from triage.cli import main

    monkeypatch.setenv("TP", "x")
    path = tmp_path / "config.toml"
    path.write_text('[imap]\nhost = "127.0.0.1"\nport = 1\nsecurity = "plain"\nusername = "u"\n'
                    'password_env = "TP"\ntimeout_seconds = nan\n')
    assert main(["once", "--config", str(path), "--state", str(tmp_path / "s.db")]) == 2
    assert "[imap.timeout_seconds]: must be a finite number" in capsys.readouterr().err


@pytest.mark.parametrize("section, key, value", [
    ("sla", "priority_1_hours", "1e308"),  # OverflowError in the queue's deadlines
    ("sla", "priority_2_hours", "1e9"),  # a deadline after year 9999
    ("sla", "overdue_grace_hours", "1e308"),
    ("sla", "escalate_after_targets", "1e300"),
    ("sla", "max_p1_share", "5"),
    ("imap", "first_run_days", "100000000"),  # OverflowError: a date before year 1
    ("imap", "backlog_days", "99999999999"),
    ("imap", "timeout_seconds", "1e300"),  # OverflowError in socket.settimeout
    ("labels", "flag_backlog_days", "1e308"),
    ("triage", "workers", "100000"),  # a fork of 100,000 workers
])
def test_a_number_no_run_can_use_exits_2_naming_the_key(tmp_path, capsys, section, key, value):
    from triage.cli import main

    path = tmp_path / "config.toml"
    path.write_text(f"[{section}]\n{key} = {value}\n")
    inbox = Path(__file__).resolve().parent.parent / "samples" / "inbox"
    assert main(["once", str(inbox), "--config", str(path), "--state", str(tmp_path / "s.db"),
                 "--now", "2026-11-24T12:00:00Z"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"triage: error: {path}: [{section}.{key}]: must be at most ") and "Traceback" not in err


def test_the_largest_numbers_allowed_still_run(tmp_path, capsys):
    from triage.cli import main

    path = tmp_path / "config.toml"
    path.write_text("[sla]\npriority_1_hours = 87600\npriority_2_hours = 87600\npriority_3_hours = 87600\n"
                    "overdue_grace_hours = 87600\nescalate_after_targets = 100\nmax_p1_share = 1\n"
                    "[imap]\nfirst_run_days = 36500\nbacklog_days = 36500\n[labels]\nflag_backlog_days = 36500\n")
    inbox = Path(__file__).resolve().parent.parent / "samples" / "inbox"
    assert main(["once", str(inbox), "--config", str(path), "--state", str(tmp_path / "s.db"),
                 "--now", "2026-11-24T12:00:00Z"]) == 0
    assert main(["report", "--config", str(path), "--state", str(tmp_path / "s.db")]) == 0


@pytest.mark.parametrize("section, key, value", [
    ("state", "path", '"/var/lib/triage/\\u0000state.db"'),
    ("model", "path", '"m\\u0000.npz"'),
    ("imap", "password_command", '"pass show\\u0000x"'),
    ("imap", "folder", '"INBOX\\u0000"'),
    ("support", "addresses", '["a@b.example", "\\u0000"]'),
])
def test_a_nul_in_a_string_exits_2_naming_the_key(tmp_path, capsys, section, key, value):
    """TOML takes "\\u0000"; no path, command or folder can hold it: the state path's
    was a ValueError traceback ("embedded null byte") when the lock was opened."""
    from triage.cli import main

    path = tmp_path / "config.toml"
    path.write_text(f"[{section}]\n{key} = {value}\n")
    inbox = Path(__file__).resolve().parent.parent / "samples" / "inbox"
    assert main(["once", str(inbox), "--config", str(path), "--now", "2026-11-24T12:00:00Z"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"triage: error: {path}: [{section}.{key}]: must not contain a NUL character (\\u0000)"


@pytest.mark.parametrize("prefix", ["", "/", "_."])
def test_a_label_prefix_without_a_letter_or_digit_is_refused(tmp_path, prefix):
    """With prefix "/" (keyword prefix "_"), a keyword a person set, "_work", read as
    triage's label, and labelling its message took it off (seen on Dovecot); "" was
    refused only when labels were written, without the file's name."""
    path = tmp_path / "config.toml"
    path.write_text(f'[labels]\nprefix = "{prefix}"\n')
    with pytest.raises(ConfigError, match=r"\[labels.prefix\]: must hold a letter or a digit"):
        load_config(path)


def test_dev_null_as_the_config_means_no_settings():
    """``--config /dev/null`` is the usual way to run on the defaults whatever config
    file the usual places hold: it reads as empty, not as a device refused."""
    config = load_config("/dev/null")
    assert config == Config(source=config.source)


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_a_config_path_that_is_no_regular_file_is_refused_at_once(tmp_path, kind):
    """``--config`` naming a FIFO hung for ever (reading a pipe nobody writes), a
    device such as /dev/zero read without end until memory ran out, a directory gave
    "Is a directory" in other words: each is now one error line naming the file, exit 2.
    Run as a subprocess, under a time and memory limit, so the old hang fails the test."""
    import os
    import resource
    import subprocess
    import sys

    path = {"fifo": tmp_path / "config.toml", "device": Path("/dev/zero"), "directory": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    try:
        result = subprocess.run([sys.executable, "-m", "triage", "config", "--config", str(path)], capture_output=True,
                                text=True, timeout=30, preexec_fn=limited)
    except subprocess.TimeoutExpired:
        pytest.fail(f"triage config --config {kind} hung")
    assert result.returncode == 2, result.stderr
    kind_words = {"fifo": "a FIFO", "device": "a character device", "directory": "a directory"}[kind]
    assert result.stderr.strip() == f"triage: error: {path}: is {kind_words}, not a regular file"


@pytest.mark.parametrize("written, meant", [
    (" help@larkspur.example ", "help@larkspur.example"),
    ("HELP@Larkspur.Example", "help@larkspur.example"),
    ("Help Desk <help@larkspur.example>", "help@larkspur.example"),
    ("<help@larkspur.example>", "help@larkspur.example"),
    ("mailto:help@larkspur.example", "help@larkspur.example"),
    ("@Larkspur.example", "@larkspur.example"),
])
def test_a_support_address_is_read_as_the_address_it_names(written, meant):
    """Written with spaces around it, as `Name <address>`, in angle brackets or as a
    mailto: link, a support address matched no sender: every reply of the team's was a
    customer's message, and nothing was ever answered (28 waiting of the sample inbox's
    15). Each is read as the address it names."""
    assert config_from_dict({"support": {"addresses": [written]}}).support.addresses == [meant]


def test_a_support_address_on_the_command_line_is_read_like_the_configs(capsys):
    from triage.cli import main

    assert main(["once", "/nonexistent", "--support-address", "larkspur.example"]) == 2
    assert "--support-address: 'larkspur.example' is no address: write one like help@larkspur.example" \
        in capsys.readouterr().err
