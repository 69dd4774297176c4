"""The TOML configuration: typed sections with defaults, validated on load.

Every key is declared once here, with its default; ``config.example.toml`` documents the
same keys and a test keeps the two in step. A bad file raises :class:`ConfigError`
naming the file and the key. Secrets never sit in the file: it names an environment
variable or a command that yields them.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, fields, replace
from email.utils import parseaddr
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from triage.errors import ConfigError


def _choice(*values: str) -> dict:
    return {"choices": values}


@dataclass(frozen=True)
class ImapConfig:
    host: str = ""
    port: int = 993
    security: str = field(default="tls", metadata=_choice("tls", "starttls", "plain"))
    username: str = ""
    auth: str = field(default="password", metadata=_choice("password", "oauth2"))
    password_env: str = "TRIAGE_IMAP_PASSWORD"
    password_command: str = ""
    oauth2_token_command: str = ""
    folder: str = "INBOX"
    verify_certificate: bool = True
    ca_file: str = ""
    timeout_seconds: float = 60.0
    batch_size: int = 500
    max_message_bytes: int = 2_000_000
    first_run_days: int = 30
    backlog_days: int = 365
    sent_folders: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SupportConfig:
    addresses: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StateConfig:
    path: str = ""
    """Empty: :func:`default_state_path` ($XDG_STATE_HOME/triage/state.db)."""


@dataclass(frozen=True)
class ModelConfig:
    path: str = ""
    retrain_after_corrections: int = 50
    training_folders: str = ""


@dataclass(frozen=True)
class TriageConfig:
    frustration_threshold: float = 0.5
    follow_up_gap_hours: float = 1.0
    workers: int = 0


@dataclass(frozen=True)
class LabelsConfig:
    mode: str = field(default="auto", metadata=_choice("auto", "keywords", "gmail", "folders", "none"))
    prefix: str = "triage/"
    flag_priority_1: bool = True
    flag_backlog_days: float = 7.0


@dataclass(frozen=True)
class SlaConfig:
    """Reply targets per priority (0 = no target) and the grace before "overdue"; see triage.sla."""

    priority_1_hours: float = 4.0
    priority_2_hours: float = 24.0
    priority_3_hours: float = 72.0
    priority_4_hours: float = 0.0
    overdue_grace_hours: float = 0.0
    escalate_after_targets: float = 5.0
    max_p1_share: float = 0.15


@dataclass(frozen=True)
class ServiceConfig:
    poll_seconds: float = 60.0
    idle_seconds: float = 540.0
    reconnect_min_seconds: float = 1.0
    reconnect_max_seconds: float = 300.0
    max_refused_logins: int = 3
    heartbeat_seconds: float = 3600.0
    log_format: str = field(default="text", metadata=_choice("text", "json"))


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``source`` is the file it came from (None for defaults)."""

    imap: ImapConfig = field(default_factory=ImapConfig)
    support: SupportConfig = field(default_factory=SupportConfig)
    state: StateConfig = field(default_factory=StateConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    triage: TriageConfig = field(default_factory=TriageConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    sla: SlaConfig = field(default_factory=SlaConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    source: str | None = None


SECTIONS: dict[str, type] = {name: hint for name, hint in get_type_hints(Config).items() if name != "source"}
"""Section name -> the dataclass that declares its keys."""


def find_config(explicit: str | Path | None = None) -> Path | None:
    """The config file a run uses, where users look for one: ``--config``, else
    ``$TRIAGE_CONFIG``, else ``$XDG_CONFIG_HOME/triage/config.toml``
    (``~/.config/triage/config.toml``) when it exists; None: the defaults."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("TRIAGE_CONFIG"):
        return Path(os.environ["TRIAGE_CONFIG"]).expanduser()
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    found = home / "triage" / "config.toml"
    return found if found.is_file() else None


def default_state_path() -> Path:
    """``$XDG_STATE_HOME/triage/state.db`` (``~/.local/state/triage/state.db``)."""
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "triage" / "state.db"


def load_config(path: str | Path | None) -> Config:
    """Read and validate a TOML config file; with no path, return the defaults."""
    if path is None:
        return Config()
    path = Path(path).expanduser()
    try:
        data = tomllib.loads(_read_regular_file(path).decode("utf-8-sig"))  # a BOM (Notepad) is no statement
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}") from None
    return config_from_dict(data, path)


def _read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``, a regular file (or a link to one); ConfigError for anything
    else: a FIFO nobody writes hung the read for ever, ``/dev/zero`` filled the memory.
    Opened without blocking and then looked at, so what is read is what was looked at.
    ``/dev/null`` reads as empty (no settings): the usual way to say "not the config file
    found in the usual places"."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        found = os.fstat(descriptor)
        mode = found.st_mode
        if stat.S_ISCHR(mode) and os.path.samestat(found, os.stat(os.devnull)):
            return b""
        if not stat.S_ISREG(mode):
            raise ConfigError(path, None, f"is {_file_kind(mode)}, not a regular file")
        os.set_blocking(descriptor, True)
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            return file.read()
    finally:
        os.close(descriptor)


def _file_kind(mode: int) -> str:
    """What a file that is no regular file is, in words."""
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((words for test, words in kinds if test(mode)), "a special file")


def config_from_dict(data: dict[str, Any], path: str | Path = "<config>") -> Config:
    """Validate parsed TOML: unknown sections or keys, wrong types and bad choices are errors."""
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name not in SECTIONS:
            raise ConfigError(path, name, f"unknown section; known: {', '.join(SECTIONS)}")
        if not isinstance(value, dict):
            raise ConfigError(path, name, "must be a table")
        sections[name] = _section(SECTIONS[name], name, value, path)
    config = Config(**sections, source=str(path))
    _check_security(config, path)
    _check_ranges(config, path)
    _check_training_folders(config, path)
    _check_label_prefix(config, path)
    _check_paths(config, path)
    return _check_support_addresses(config, path)


def _section(cls: type, section: str, values: dict[str, Any], path) -> Any:
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in values.items():
        where = f"{section}.{key}"
        if key not in known:
            raise ConfigError(path, where, f"unknown key; known: {', '.join(known)}")
        kwargs[key] = _coerce(hints[key], value, where, path)
        choices = known[key].metadata.get("choices")
        if choices and kwargs[key] not in choices:
            raise ConfigError(path, where, f"must be one of {', '.join(choices)}, not {value!r}")
    return cls(**kwargs)


def _coerce(kind: Any, value: Any, where: str, path) -> Any:
    if get_origin(kind) is list:
        (item,) = get_args(kind)
        if not isinstance(value, list) or not all(isinstance(v, item) for v in value):
            raise ConfigError(path, where, f"must be a list of {item.__name__}")
        for v in value:
            _check_text(v, where, path)
        return list(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(path, where, f"must be {kind.__name__}, not {type(value).__name__}")
    if kind is float and not math.isfinite(value):
        raise ConfigError(path, where, f"must be a finite number, not {value}")
    if kind in (int, float) and value < 0:
        raise ConfigError(path, where, "must not be negative")
    _check_text(value, where, path)
    return value


def _check_text(value: Any, where: str, path) -> None:
    """A string TOML takes (``"\\u0000"``) that no path, command, host or folder can
    hold: a NUL ended the run in a ValueError traceback ("embedded null byte") when the
    state file, the model or a command was opened."""
    if isinstance(value, str) and "\x00" in value:
        raise ConfigError(path, where, "must not contain a NUL character (\\u0000)")


_POSITIVE = ("imap.batch_size", "imap.max_message_bytes")
"""Keys a run divides by or counts down with: 0 cannot work."""


_AT_MOST = {
    "imap.timeout_seconds": (86400, "a day"),
    "imap.first_run_days": (36500, "a hundred years"),
    "imap.backlog_days": (36500, "a hundred years"),
    "labels.flag_backlog_days": (36500, "a hundred years"),
    "sla.priority_1_hours": (87600, "ten years"),
    "sla.priority_2_hours": (87600, "ten years"),
    "sla.priority_3_hours": (87600, "ten years"),
    "sla.priority_4_hours": (87600, "ten years"),
    "sla.overdue_grace_hours": (87600, "ten years"),
    "sla.escalate_after_targets": (100, "a hundred targets"),
    "sla.max_p1_share": (1, "the whole queue"),
    "triage.workers": (64, "64 processes"),
}
"""Upper bounds of keys whose larger values no run can use: a date before year 1 or
after 9999 (an OverflowError traceback mid-run), a socket timeout past the platform's
time_t, a share above the whole, a fork of thousands of workers."""


def _check_ranges(config: Config, path) -> None:
    """Numbers TOML takes that no run can use, refused here, where the message names the
    file and the key (they ended a run in a traceback, exit status 1: systemd restarted
    it for ever): NaN and infinity (:func:`_coerce`), a port no socket has, a zero batch,
    and values past :data:`_AT_MOST`."""
    if not 1 <= config.imap.port <= 65535:
        raise ConfigError(path, "imap.port", f"must be between 1 and 65535, not {config.imap.port}")
    for key in _POSITIVE:
        section, name = key.split(".")
        if getattr(getattr(config, section), name) <= 0:
            raise ConfigError(path, key, "must be greater than 0")
    for key, (limit, meaning) in _AT_MOST.items():
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if value > limit:
            raise ConfigError(path, key, f"must be at most {limit} ({meaning}), not {value}")


def _check_security(config: Config, path) -> None:
    if config.imap.security == "plain" and config.imap.host and not is_loopback(config.imap.host):
        raise ConfigError(path, "imap.security", "plain (unencrypted) IMAP is only allowed to a loopback address")
    if not 0 <= config.triage.frustration_threshold <= 1:
        raise ConfigError(path, "triage.frustration_threshold", "must be between 0 and 1")


def _check_training_folders(config: Config, path) -> None:
    """Training folders hold what people filed; triage's own label folders hold its own
    decisions, which it must never learn from as if a person had made them."""
    pattern, prefix = config.model.training_folders.strip(), config.labels.prefix.lower()
    if config.model.training_folders and not pattern:
        raise ConfigError(path, "model.training_folders", "must name folders, e.g. \"Training/*\" (or be empty: off)")
    if pattern and prefix and pattern.lower().startswith(prefix):
        raise ConfigError(path, "model.training_folders",
                          f"{pattern!r} would cover triage's own label folders ({config.labels.prefix}…); "
                          "name folders people file mail into, e.g. \"Training/*\"")


def support_address(text: str) -> str | None:
    """The address ``text`` names, lower-cased, or ``@domain`` (every address of the
    domain); None when it names none. Written as people copy it from a mail client —
    with spaces around it, as ``Help Desk <help@example.com>``, in angle brackets, as a
    ``mailto:`` link — it matched no sender, and every reply of the team's was a
    customer's message: nothing was ever answered."""
    text = text.strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].strip()
    if "<" in text or ">" in text:
        text = parseaddr(text)[1]
    text = text.strip().lower()
    local, at, domain = text.partition("@")
    if not at or not domain or "@" in domain or any(c.isspace() or c in '<>,;:()[]"' for c in text):
        return None
    return text


def not_an_address(text: str) -> str:
    """Why ``text`` is no support address, with the two forms that are, for an error."""
    guess = text.strip().rpartition("@")[2].strip(" <>") or "example.com"
    if "." not in guess or any(c.isspace() for c in guess):
        guess = "example.com"
    return f"{text!r} is no address: write one like help@{guess}, or @{guess} for the whole domain"


def _check_support_addresses(config: Config, path) -> Config:
    """``config`` with its support addresses read as the addresses they name
    (:func:`support_address`); one that names none is an error naming the key."""
    found = []
    for text in config.support.addresses:
        address = support_address(text)
        if address is None:
            raise ConfigError(path, "support.addresses", not_an_address(text))
        found.append(address)
    return replace(config, support=replace(config.support, addresses=found))


def _check_label_prefix(config: Config, path) -> None:
    """Every keyword or folder whose name starts with the prefix is triage's to change: a
    prefix of separators only (``"/"``, keywords ``_…``) made a keyword a person set
    (``_work``) one of triage's labels, taken off when triage labelled its message."""
    if not re.search(r"[A-Za-z0-9]", config.labels.prefix):
        raise ConfigError(path, "labels.prefix", f"must hold a letter or a digit (e.g. \"triage/\"), not "
                          f"{config.labels.prefix!r}: every keyword a person sets would pass for triage's")


_PATH_KEYS = ("state.path", "model.path", "imap.ca_file")
_VARIABLE = re.compile(r"(?:(?<=/)|^)\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*\}")
"""``$NAME`` starting a path's part, or ``${NAME}`` anywhere: what a shell would expand."""


def _check_paths(config: Config, path) -> None:
    """A path naming an environment variable (``$HOME/state.db``, ``${STATE_DIRECTORY}``)
    is refused: nothing expands it (only a leading ``~`` is), and the state went into a
    folder literally named ``$HOME`` under the working directory, a new empty state
    wherever triage was started from."""
    for key in _PATH_KEYS:
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        found = _VARIABLE.search(value)
        if found:
            raise ConfigError(path, key, f"{value!r}: environment variables such as {found.group()} are not "
                              "expanded; write the path out (a leading ~ is the home directory)")


def is_loopback(host: str) -> bool:
    """True for localhost and the 127.0.0.0/8 and ::1 loopback addresses."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
