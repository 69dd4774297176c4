"""The command line: ``triage once|run|train|eval|report|models``.

``main(argv) -> int`` does the work and returns the exit status (0 done, 1 runtime
failure, 2 bad usage or config) so tests can call it in-process.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone

from triage import __version__
from triage.allocator import settle_allocator
from triage.config import Config, find_config, load_config, not_an_address, support_address
from triage.errors import TriageError
from triage.logs import setup_logging
from triage.signals import Terminated, signals_held, stopping_signals_raise
from triage.stdio import MACHINE_FORMATS, OutputFailed, StdoutClosed, settle_streams

log = logging.getLogger("triage")

LOCAL_BATCH = 500


def _iso_datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 date-time: {value!r}") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    try:
        parsed.astimezone(timezone.utc)  # (0001-01-01T00:00+14:00 is before the first UTC moment)
    except OverflowError:
        raise argparse.ArgumentTypeError(f"out of range in UTC: {value!r}") from None
    return parsed


_EXAMPLES = {
    "once": """examples:
  triage once ~/Maildir/support --support-address help@example.com   the queue of a local Maildir
  triage once mail.mbox --format jsonl > rows.jsonl                   one JSON row per message
  triage once --config triage.toml --dry-run -v                       over IMAP: what it would label
  triage once samples/inbox --now 2026-11-24T12:00:00Z --addresses    as of a given moment""",
    "run": """examples:
  triage run --config /etc/triage/config.toml       watch the mailbox; one INFO line per pass
  triage run --config triage.toml --dry-run -v      show what it would label, write nothing (DEBUG)
  triage status                                     is it alive, and what waits""",
    "status": """exit status 0 when healthy, 1 when not: usable as a monitoring check.

examples:
  triage status                                  alive? last pass, last error, what waits
  triage status --format json | jq .queue        the figures for a dashboard
  triage status --max-age 7200 || mail-admin     a `once` from cron every hour, checked""",
    "train": """SOURCE has one subfolder per category (refund/, cancellation/, fee_dispute/,
follow_up/, other/), each a Maildir or a folder of .eml files; or imap:PATTERN.

examples:
  triage train ~/labeled                      a new model in the registry, active if not worse
  triage train imap:Training/* --out m.npz    from IMAP folders, to a file
  triage train --with-corrections             the bundled corpus plus the team's corrections""",
    "eval": """examples:
  triage eval ~/labeled                          the active model on your own labeled mail
  triage eval imap:Training/* --model default    the shipped model on IMAP folders
  triage eval ~/labeled --model m.npz --format json""",
    "report": """examples:
  triage report                                  the queue as a table
  triage report --format html --out waiting.html one page with a chart, to mail or open
  triage report --format json | jq '.[0]'        the most urgent conversation""",
    "config": """examples:
  triage config                                 which file, which state, every value
  TRIAGE_CONFIG=/etc/triage/config.toml triage config --format json""",
    "models": """examples:
  triage models                                 the shipped model and the team's, active one starred
  triage models --rollback default              back to the shipped model
  triage models --rollback model-20261124T231431Z""",
}
"""The examples each command's --help ends with."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand (the command-line contract of docs/contracts.md)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="TOML config file (see config.example.toml)")
    common.add_argument("--state", metavar="FILE", help="SQLite state file (default: [state] path)")
    common.add_argument("--now", type=_iso_datetime, metavar="ISO-8601", help="the clock used for waiting times")
    common.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    common.add_argument("--log-format", choices=("text", "json"), help="log lines on stderr as text or JSON")

    deciding = argparse.ArgumentParser(add_help=False)
    deciding.add_argument("--model", metavar="FILE|NAME", help="a model file, or a name `triage models` lists "
                          "(default: [model] path, else the active model of `triage models`, else the shipped one)")
    deciding.add_argument("--support-address", action="append", default=[], metavar="ADDR", type=_support_address,
                          help="mail from this address (or @domain) is the team's reply; repeatable")
    deciding.add_argument("--dry-run", action="store_true", help="decide and show, but write nothing anywhere")

    parser = argparse.ArgumentParser(prog="triage", description="Triage a customer-support mailbox.")
    parser.add_argument("--version", action="version", version=f"triage {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        return commands.add_parser(name, epilog=_EXAMPLES[name], formatter_class=argparse.RawDescriptionHelpFormatter,
                                   **kwargs)

    once = command("once", parents=[common, deciding], help="triage what is new, print it, exit")
    once.add_argument("source", nargs="?", help="Maildir, mbox file or folder of .eml (default: the IMAP mailbox)")
    once.add_argument("--format", choices=("table", "jsonl"), default="table",
                      help="table: the queue of waiting conversations (default); jsonl: one JSON row per message")
    once.add_argument("--addresses", action="store_true", help="show customers as Name <address> in the table")

    run = command("run", parents=[common, deciding], help="the background service (IMAP)")
    run.add_argument("--format", choices=("table", "jsonl"), default=None,
                     help="also print each pass's queue (table) or each batch's rows (jsonl) on stdout")

    train = command("train", parents=[common], help="train a model from labeled mail")
    train.add_argument("source", nargs="?", help="folder with one subfolder per category, or imap:PATTERN "
                       "(with --with-corrections, default: the bundled corpus)")
    train.add_argument("--out", metavar="FILE", help="write the model here (default: a new model in the models "
                       "folder of the state, activated if not worse than the active one)")
    train.add_argument("--with-corrections", action="store_true", help="also learn from the team's corrections")
    train.add_argument("--holdout", metavar="DIR", help="labeled mail never trained on, scored into the card")
    train.add_argument("--estimator", default=None, help="model kind (lr_word, lr_word_char, svm_word_char)")

    evaluate = command("eval", parents=[common], help="score a model on labeled mail")
    evaluate.add_argument("source", help="folder with one subfolder per category, or imap:PATTERN")
    evaluate.add_argument("--model", metavar="FILE|NAME", help="a model file, or a name `triage models` lists "
                          "(default: [model] path, else the active model, else the shipped one)")
    evaluate.add_argument("--format", choices=("table", "json"), default="table",
                          help="table: precision, recall and F1 per category (default); json: the same and more")

    report = command("report", parents=[common], help="who is waiting, most urgent first")
    report.add_argument("--format", choices=("table", "json", "html"), default="table",
                        help="table (default), json (one object per conversation) or html (one page with a chart)")
    report.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    report.add_argument("--addresses", action="store_true", help="show customers as Name <address> in the table")

    status = command("status", parents=[common], help="is triage alive, and what waits (for monitoring)")
    status.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people (default); json for scripts and dashboards")
    status.add_argument("--max-age", type=float, metavar="SECONDS", default=None,
                        help="unhealthy when the last sign of life is older (default: 900 for the service, "
                        "93600 for `once`)")

    shown = command("config", parents=[common], help="show the config file in use and every value")
    shown.add_argument("--format", choices=("toml", "json"), default="toml",
                       help="toml: commented, ready to copy into a config file (default); json: for scripts")

    models = command("models", parents=[common], help="list trained models; roll back")
    models.add_argument("--rollback", metavar="NAME",
                        help="make an earlier model the active one ('default': the shipped one)")
    models.add_argument("--format", choices=("table", "json"), default="table",
                        help="table (default) or json (every card in full)")
    return parser


def _support_address(text: str) -> str:
    """``--support-address`` read as ``[support] addresses`` is (:func:`~triage.config.support_address`)."""
    address = support_address(text)
    if address is None:
        raise argparse.ArgumentTypeError(not_an_address(text))
    return address


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status."""
    streams = sys.stdout, sys.stderr
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams  # (for callers in-process; the process's own are settled)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help
        return int(exc.code or 0)
    try:
        settle_streams(_prints(args), getattr(args, "format", None) in MACHINE_FORMATS)
    except StdoutClosed as exc:
        print(f"triage: error: {exc}", file=sys.stderr)
        return exc.exit_status
    service = args.command == "run"
    if args.command in ("once", "run", "train", "eval"):
        settle_allocator()
    setup_logging(args.log_format or "text", args.verbose, service)
    config: Config | None = None
    try:
        config = load_config(find_config(args.config))
        setup_logging(args.log_format or config.service.log_format, args.verbose, service)
        handler = {"once": cmd_once, "run": cmd_run, "train": cmd_train, "eval": cmd_eval, "report": cmd_report,
                   "models": cmd_models, "config": cmd_config, "status": cmd_status}[args.command]
        with stopping_signals_raise():
            return handler(args, config)
    except TriageError as exc:
        if isinstance(exc, OutputFailed):
            _quiet_stdout()  # else the interpreter's last flush fails again
        log.error("%s", exc) if _json_logs() else print(f"triage: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt as exc:
        what = "stopped by SIGTERM" if isinstance(exc, Terminated) else "interrupted"
        log.error(what) if _json_logs() else print(f"triage: {what}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `triage … | head`: the reader has what it wanted
        _quiet_stdout()
        return 0
    except Exception as exc:
        found = _file_problem(exc, args, config)
        if found is None:
            raise
        problem, status = found
        log.debug("%s", problem, exc_info=True)
        log.error("%s", problem) if _json_logs() else print(f"triage: error: {problem}", file=sys.stderr)
        return status


def _prints(args) -> bool:
    """Whether the command writes to standard output: all but ``run`` without
    ``--format`` and ``report --out``."""
    if args.command == "run":
        return args.format is not None
    return not (args.command == "report" and args.out)


def _file_problem(exc: Exception, args, config: Config | None) -> tuple[str, int] | None:
    """What a person must fix, and the exit status, for an error of the disk rather than
    of triage: the state file locked, on a full disk (SQLite's errors do not name the
    file, so this does), or a file triage needs that it may not read or write (the
    operating system's error names it): 1, it may pass. A state file damaged while a
    run read it: 2, as when it was found so at the start. None for anything else: a bug
    keeps its traceback."""
    sqlite3 = sys.modules.get("sqlite3")  # not imported: the error cannot be SQLite's
    if sqlite3 is not None and isinstance(exc, sqlite3.Error):
        from triage.history import unusable_state_file
        from triage.wiring import state_path

        where = state_path(args, config) if config is not None else "the state file"
        unusable = unusable_state_file(where, exc)
        if unusable is not None:
            return str(unusable), unusable.exit_status
        return f"state file {where}: {exc}", 1
    if isinstance(exc, OSError) and exc.filename is not None:
        return str(exc), 1
    return None


def _json_logs() -> bool:
    """True when stderr carries JSON lines only (``--log-format json``)."""
    from triage.logs import logging_as_json

    return logging_as_json()


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null, so the interpreter's final flush
    does not raise again at exit."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


# -- commands --------------------------------------------------------------------------

def cmd_once(args, config: Config) -> int:
    """Triage what is new in SOURCE (or the IMAP mailbox), print it, exit."""
    if not args.source:
        from triage.imap.service import run_once

        return run_once(args, config)
    from itertools import islice

    from triage.output import write_jsonl, write_queue
    from triage.sources.local import read_local
    from triage.sweep import record_sweep, sweep_changes
    from triage.wiring import log_summary, make_engine, open_history, run_lock

    with run_lock(args, config), open_history(args, config) as history, \
            make_engine(args, config, history) as engine:
        mails = read_local(args.source)
        run = history.begin_run(engine.now())
        for batch in engine.ahead(iter(lambda: list(islice(mails, LOCAL_BATCH)), [])):
            decisions = engine.decide(batch)
            with signals_held():  # a stop comes between batches: rows printed are remembered
                if args.format == "jsonl":
                    write_jsonl(decisions)
                engine.commit()
        # Local mail has no server to write to: the labels a sweep would move are recorded.
        record_sweep(history, sweep_changes(history, engine.now(), engine.settings.sla, engine.settings.label_prefix))
        engine.commit()
        if args.format == "table":
            write_queue(history, run, engine.now(), engine.settings.sla, addresses=args.addresses)
        log_summary(engine.stats)
    return 0


def cmd_run(args, config: Config) -> int:
    """The background service over IMAP."""
    from triage.imap.service import run_service

    return run_service(args, config)


def cmd_train(args, config: Config) -> int:
    """Train a model from labeled mail (and the team's corrections); see triage.learning."""
    from triage.learning import run_train

    return run_train(args, config)


def cmd_eval(args, config: Config) -> int:
    """Score a model on labeled mail and print per-category precision, recall and F1."""
    from triage.evaluation import evaluate
    from triage.learning import load_source
    from triage.modelstore import resolve_model
    from triage.registry import Registry
    from triage.wiring import state_path

    model, card = resolve_model(args.model or config.model.path or None, Registry.for_state(state_path(args, config)))
    labeled = load_source(args.source, config)
    print(labeled.describe(args.source), file=sys.stderr)
    if not labeled.examples:
        from triage.errors import SourceError

        raise SourceError(f"{args.source}: no message to score (none of them could be read as mail)")
    metrics = evaluate(model, labeled)
    if args.format == "json":
        print(json.dumps(metrics, indent=2))
        return 0
    print(f"{'category':<14}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}")
    for label, m in metrics["labels"].items():
        print(f"{label:<14}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}{m['support']:>9}")
    print(f"{'macro':<14}{metrics['macro_precision']:>10.3f}{metrics['macro_recall']:>8.3f}{metrics['macro_f1']:>7.3f}"
          f"{metrics['messages']:>9}")
    return 0


def cmd_report(args, config: Config) -> int:
    """Who is waiting, most urgent first."""
    from triage.report import run_report

    return run_report(args, config)


def cmd_status(args, config: Config) -> int:
    """Whether triage is alive and keeping up, and what waits; exit 1 when unhealthy."""
    from triage.statusview import run_status

    return run_status(args, config)


def cmd_config(args, config: Config) -> int:
    """Print the config file in use (or that none is) and every value, merged with the
    defaults: what this run would use. Secrets are never in the file; commands that
    fetch them are shown with anything that looks like a secret masked."""
    from triage.configview import describe_config

    print(describe_config(config, find_config(args.config), args), end="")
    return 0


def cmd_models(args, config: Config) -> int:
    """List trained models and their cards; roll back to an earlier one."""
    from triage.registry import run_models

    return run_models(args, config)
