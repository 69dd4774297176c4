"""``triage config``: the file a run uses and every value it gets, as TOML or JSON.

What it shows is what the run would use: each section's values merged with the defaults,
plus the paths triage derives (the state file, where models live). No secret is ever in
the config file (it names an environment variable or a command); whether the variable
is set is said, never its value, and a command is shown with anything shaped like a
secret masked (:func:`triage.logs.redact`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from triage.config import Config
from triage.logs import redact

_COMMANDS = {"password_command", "oauth2_token_command"}


def describe_config(config: Config, path: Path | None, args=None) -> str:
    """The text ``triage config`` prints (``args.format``: toml or json)."""
    from triage.registry import models_dir
    from triage.wiring import state_path

    values = {name: section for name, section in asdict(config).items() if name != "source"}
    for key in _COMMANDS:
        if values["imap"].get(key):
            values["imap"][key] = redact(values["imap"][key])
    env = values["imap"].get("password_env")
    state = state_path(args, config)
    derived = {"config_file": str(path) if path else "", "state_file": state, "models_dir": str(models_dir(state)),
               "password_env_set": bool(env and os.environ.get(env))}
    if getattr(args, "format", "toml") == "json":
        return json.dumps({"in_use": derived, **values}, indent=2) + "\n"
    lines = [f"# config file: {path}" if path else "# no config file: --config, $TRIAGE_CONFIG and "
             "~/.config/triage/config.toml were not found; these are the defaults",
             f"# state file: {derived['state_file']}", f"# models: {derived['models_dir']}"]
    if env:
        lines.append(f"# ${env} (the password) is {'set' if derived['password_env_set'] else 'NOT set'}")
    for section, keys in values.items():
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
