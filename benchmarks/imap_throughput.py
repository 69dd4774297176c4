"""How fast triage works a real IMAP mailbox, against the floors set by its libraries and
against a naive one-core script, on mail like real mail and on the corpus, in one run.

For each kind of mail (``--mail realistic|corpus|both``, default both) it loads
``--messages`` messages into a throwaway Dovecot (tests/dovecot.py), straight into the
folder's Maildir, and measures, one after the other:

- **raw fetch floor**: a bare imapclient loop fetching every body with ``BODY.PEEK[]`` in
  batches of ``--batch-size`` (500, as triage), best of two passes;
- **parse floor**: that loop plus ``mailparser.parse_from_bytes`` on every message, in one
  process (one core), best of two passes — the least any triage built on these libraries
  can cost per message;
- **triage once**, end to end over IMAP: a fresh state file, labels written, rows printed
  (to a file); the folder is then checked to carry triage keywords;
- the **peak RSS of every triage process** (main and each analysis worker), sampled from
  /proc/<pid>/status (VmHWM) every ``--rss-interval`` seconds while it runs;
- **APPEND -> labels under IDLE** on the quiet mailbox: ``triage run`` idles, a generated
  customer message is appended ``--latency-samples`` times, and the time until its first
  triage keyword is stored is taken (0 skips it);
- the **28-line baseline** (benchmarks/naive_baseline.py, a subprocess): fetch, mail-parser,
  TF-IDF 1-2-grams + logistic regression trained on data/corpus, one STORE per category
  per batch, one core. It runs last, because its STOREs change the folder.

Once per run: **startup** of ``triage once`` on an empty folder (wall, median of three,
and its peak RSS).

The kinds of mail:

- ``realistic``: benchmarks/mailgen.py (seed ``--seed``): 2-20 KB, median ~7 KB, long
  header blocks, ~30 % multipart/alternative, ~12 % attachments, threads, automated mail,
  spam, several languages; arriving over the 21 days before now;
- ``corpus``: the messages of data/corpus and data/holdout (~1 KB, hand-written), cycled,
  each copy with its own Message-ID;
- with ``--eml-dir DIR``, also ``eml``: the .eml files under DIR, the same way (a real
  mailbox's export, or another generator's output, to calibrate against).

Then it prints msg/s side by side with the ratios triage / parse floor and triage /
baseline (``--json``: one JSON object instead), and next to each rate the CPU it cost per
message (the measured process(es) only: the floors and the baseline are one process,
triage is its main process and workers; Dovecot's share is in the JSON). CPU per message
is what to compare when other work shared the machine: it hardly moves with contention,
while wall rates do. Ratios taken in one run are what to
compare: the machine's speed moves by up to 40 % between runs. The load average is
recorded around every measurement; other work on the machine makes the run worthless.

Usage (needs dovecot-imapd; as root the mail processes run as ``nobody``):

    .venv/bin/python benchmarks/imap_throughput.py                       # 10,000, both kinds
    .venv/bin/python benchmarks/imap_throughput.py --messages 100000 --mail realistic --json
    .venv/bin/python benchmarks/imap_throughput.py --messages 2000 --latency-samples 0   # quick check

About 3 minutes at 10,000 for both kinds; 100,000 takes 25-40 minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import mailparser

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import (  # noqa: E402
    PASSWORD, PASSWORD_ENV, ROOT, CpuWindow, Dovecot, MaildirWatcher, Service, code_state, corpus_messages, count_labelled,
    dovecot_server, finish, load_maildir, loadavg, log, measured_line, realistic_messages, run_once, use_triage_src,
    wait_for_quiet, warm_up, write_config,
)

KINDS = ("realistic", "corpus")


# -- the floors -------------------------------------------------------------------------


def fetch_floor(dovecot: Dovecot, folder: str, uids: list[int], batch_size: int, parse: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of a bare imapclient loop over every body
    (and mail-parser on each)."""
    started, cpu = time.perf_counter(), time.process_time()
    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        for start in range(0, len(uids), batch_size):
            answer = client.fetch(uids[start:start + batch_size], ["BODY.PEEK[]"])
            if parse:
                for data in answer.values():
                    mailparser.parse_from_bytes(data[b"BODY[]"])
    return time.perf_counter() - started, time.process_time() - cpu


def best_of(passes: int, measure) -> tuple[tuple[float, float], list[float]]:
    """The (wall, cpu) of the fastest of ``passes`` runs, and every run's wall seconds."""
    runs = [measure() for _ in range(passes)]
    return min(runs), [wall for wall, _ in runs]


# -- the baseline -------------------------------------------------------------------------


def naive_baseline(dovecot: Dovecot, folder: str, batch_size: int, timeout: float) -> dict:
    command = [sys.executable, str(ROOT / "benchmarks" / "naive_baseline.py"), "--host", dovecot.host, "--port",
               str(dovecot.port), "--folder", folder, "--batch-size", str(batch_size), "--password-env", PASSWORD_ENV,
               "--json"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env={**os.environ, PASSWORD_ENV: PASSWORD})
    except subprocess.TimeoutExpired:
        raise SystemExit(f"the naive baseline did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise SystemExit(f"the naive baseline failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- latency on a quiet mailbox -----------------------------------------------------------


def idle_latencies(dovecot: Dovecot, folder: str, config: Path, state: Path, samples: int, seed: int) -> dict:
    """Seconds from APPEND to the first triage keyword on the message, under IDLE, one at a time."""
    from mailgen import MailGen

    gen = MailGen(seed + 1000, end=datetime.now(timezone.utc))
    service = Service(config, state)
    latencies = []
    try:
        service.wait_for("idling on", timeout=600)
        watcher = MaildirWatcher(dovecot.maildir(folder)).start()
        try:
            with dovecot.client() as appender:
                for _ in range(samples):
                    mark = len(service.lines)
                    mail = gen.next(date=datetime.now(timezone.utc), kinds=("customer",))
                    started = time.monotonic()
                    appender.append(folder, mail.crlf())
                    while mail.message_id not in watcher.seen:
                        if watcher.error:
                            raise SystemExit(f"keyword watcher failed: {watcher.error}")
                        if time.monotonic() - started > 60:
                            raise SystemExit(f"{mail.message_id} not labelled within 60 s; triage run log:\n{service.tail()}")
                        time.sleep(0.002)
                    latencies.append(watcher.seen[mail.message_id] - started)
                    service.wait_for("idling on", after=mark, timeout=120)
                    time.sleep(0.2)
        finally:
            watcher.stop()
    finally:
        service.stop()
    return {"median_s": statistics.median(latencies), "min_s": min(latencies), "max_s": max(latencies),
            "samples": len(latencies)}


# -- one kind of mail ---------------------------------------------------------------------


def measure_kind(dovecot: Dovecot, workdir: Path, kind: str, args) -> dict:
    folder = f"bench_{kind}"
    result: dict = {"kind": kind}
    started = time.perf_counter()
    if kind == "realistic":
        messages, _ = realistic_messages(args.messages, args.seed)
    elif kind == "eml":
        messages = corpus_messages(args.messages, [args.eml_dir])
    else:
        messages = corpus_messages(args.messages)
    count, size = load_maildir(dovecot, folder, messages)
    uids = warm_up(dovecot, folder)
    if len(uids) != count:
        raise SystemExit(f"{folder}: wrote {count} messages, Dovecot sees {len(uids)}")
    n = len(uids)
    result.update(messages=n, megabytes=round(size / 1e6, 1), mean_kb=round(size / n / 1024, 1),
                  load_seconds=round(time.perf_counter() - started, 1))
    log(f"{kind}: {n} messages ({size / 1e6:.1f} MB) loaded in {result['load_seconds']} s")

    def timed(name: str, fn):
        """Run one measurement on a machine as quiet as it gets, and note how much other
        work ran meanwhile (load average before/after, others' share of the CPU)."""
        if args.quiet_patience:
            wait_for_quiet(patience=args.quiet_patience)
        before = loadavg()
        with CpuWindow(dovecot) as window:
            value = fn()
        result.setdefault("loadavg", {})[name] = [round(before, 2), round(loadavg(), 2)]
        result.setdefault("others_share", {})[name] = window.as_dict()["others_share"]
        result.setdefault("dovecot_cpu_seconds", {})[name] = round(window.dovecot_seconds, 2)
        if window.others_share > 0.1:
            log(f"WARNING: other work took {window.others_share:.0%} of the machine during {name}")
        return value

    (raw_s, raw_cpu), raw_all = timed("raw_fetch", lambda: best_of(args.passes, lambda: fetch_floor(
        dovecot, folder, uids, args.batch_size, parse=False)))
    result["raw_fetch"] = {"rate": n / raw_s, "seconds": [round(t, 2) for t in raw_all],
                           "cpu_ms_per_message": 1000 * raw_cpu / n}
    log(f"{kind}: raw fetch floor {n / raw_s:,.0f} msg/s")
    (parse_s, parse_cpu), parse_all = timed("parse_floor", lambda: best_of(args.passes, lambda: fetch_floor(
        dovecot, folder, uids, args.batch_size, parse=True)))
    result["parse_floor"] = {"rate": n / parse_s, "seconds": [round(t, 2) for t in parse_all],
                             "cpu_ms_per_message": 1000 * parse_cpu / n}
    log(f"{kind}: parse floor {n / parse_s:,.0f} msg/s")

    state = workdir / f"{kind}.db"
    config = write_config(dovecot, workdir / f"{kind}.toml", folder, state, args.batch_size)
    timeout = args.timeout or max(900.0, n / 25)
    once = timed("triage_once", lambda: run_once(config, state, workdir / f"{kind}.jsonl", timeout=timeout,
                                                 rss_interval=args.rss_interval))
    total, labelled = count_labelled(dovecot, folder)
    # A message with no label of its own is right: an earlier message of a waiting
    # conversation (its latest carries the waiting labels) with no category. What each
    # message should carry at the end is in the state (the sweep may have taken a row's
    # waiting labels off since it was printed).
    with contextlib.closing(sqlite3.connect(state)) as db:
        expected = db.execute("SELECT count(*) FROM messages WHERE direction = 'in' AND uid IS NOT NULL"
                              " AND labels IS NOT NULL AND labels != '[]'").fetchone()[0]
    once.update(rate=n / once["seconds"], labelled=labelled, expected_labelled=expected,
                cpu_ms_per_message=1000 * once["cpu_seconds"] / n)
    result["triage_once"] = once
    log(f"{kind}: triage once {n / once['seconds']:,.0f} msg/s ({once['rows']} rows, {labelled} of {total} labelled,"
        f" {expected} should be by the state)")
    if labelled < expected:
        log(f"WARNING: only {labelled} messages carry a triage keyword; the state says {expected} should")

    if args.latency_samples:
        result["idle_latency"] = timed("idle_latency", lambda: idle_latencies(
            dovecot, folder, config, state, args.latency_samples, args.seed))
        log(f"{kind}: APPEND -> labels under IDLE, median {result['idle_latency']['median_s']:.2f} s")

    if not args.skip_baseline:
        baseline = timed("baseline", lambda: naive_baseline(dovecot, folder, args.batch_size, timeout))
        baseline["cpu_ms_per_message"] = 1000 * baseline["cpu_seconds"] / max(baseline["messages"], 1)
        result["baseline"] = baseline
        log(f"{kind}: naive baseline {baseline['rate']:,.0f} msg/s")
    try:
        dovecot.delete_folder(folder)  # frees the disk before the next kind
    except Exception as exc:  # noqa: BLE001 - the figures are taken; Dovecot's teardown removes it all anyway
        log(f"{kind}: could not delete the folder ({type(exc).__name__}: {exc}); left to the teardown")
    return result


def startup(dovecot: Dovecot, workdir: Path, args) -> dict:
    """``triage once`` on an empty folder, three times with a fresh state each: wall time."""
    dovecot.create_folder("empty")
    if args.quiet_patience:
        wait_for_quiet(patience=args.quiet_patience)
    runs = []
    for i in range(3):
        state = workdir / f"empty{i}.db"
        config = write_config(dovecot, workdir / f"empty{i}.toml", "empty", state, args.batch_size)
        runs.append(run_once(config, state, workdir / f"empty{i}.jsonl", timeout=120, rss_interval=0.05))
    seconds = sorted(r["seconds"] for r in runs)
    cpu = sorted(r["cpu_seconds"] for r in runs)
    peak = max(p["peak_rss_mib"] for r in runs for p in r["processes"])
    return {"median_s": seconds[1], "all_s": [round(s, 3) for s in seconds], "peak_rss_mib": peak,
            "cpu_seconds": cpu[1]}


# -- the report ---------------------------------------------------------------------------


def ratios(result: dict) -> None:
    """Wall-clock ratios (what the issue asks for), and the same by CPU per message, which
    other work on the machine disturbs far less (triage may use both cores; the others one)."""
    once = result.get("triage_once", {})
    if once:
        result["triage_vs_parse_floor"] = once["rate"] / result["parse_floor"]["rate"]
        result["triage_vs_raw_fetch"] = once["rate"] / result["raw_fetch"]["rate"]
        result["parse_floor_cpu_vs_triage_cpu"] = result["parse_floor"]["cpu_ms_per_message"] / once["cpu_ms_per_message"]
        if "baseline" in result:
            result["triage_vs_baseline"] = once["rate"] / result["baseline"]["rate"]
            result["baseline_cpu_vs_triage_cpu"] = result["baseline"]["cpu_ms_per_message"] / once["cpu_ms_per_message"]


def print_table(report: dict) -> None:
    kinds = [report["kinds"][k] for k in report["kinds"]]
    width = 50
    col = 26

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:<{width}}" + "".join(f"{c:>{col}}" for c in cells))

    def rate(r: dict | None) -> str:
        return f"{r['rate']:,.0f} msg/s  {r['cpu_ms_per_message']:.2f} ms" if r else "-"

    print()
    row("", [k["kind"] for k in kinds])
    row("messages", [f"{k['messages']:,} ({k['megabytes']} MB)" for k in kinds])
    row("mean size", [f"{k['mean_kb']} KiB" for k in kinds])
    row("                         (wall rate, CPU per message)", ["" for _ in kinds])
    row("raw fetch floor (BODY.PEEK[], best of 2)", [rate(k["raw_fetch"]) for k in kinds])
    row("parse floor (+ mail-parser, one core, best of 2)", [rate(k["parse_floor"]) for k in kinds])
    row("28-line baseline (one core)", [rate(k.get("baseline")) for k in kinds])
    row("triage once, end to end, labels written", [rate(k["triage_once"]) for k in kinds])
    row("  triage / parse floor (wall)", [f"{k['triage_vs_parse_floor']:.2f}" for k in kinds])
    row("  triage / 28-line baseline (wall)", [f"{k['triage_vs_baseline']:.2f}" if "triage_vs_baseline" in k else "-"
                                               for k in kinds])
    row("  triage / raw fetch floor (wall)", [f"{k['triage_vs_raw_fetch']:.3f}" for k in kinds])
    row("  parse floor CPU / triage CPU, per message", [f"{k['parse_floor_cpu_vs_triage_cpu']:.2f}" for k in kinds])
    row("  baseline CPU / triage CPU, per message", [f"{k['baseline_cpu_vs_triage_cpu']:.2f}"
                                                     if "baseline_cpu_vs_triage_cpu" in k else "-" for k in kinds])
    row("  triage CPU per message, less its startup's", [f"{k['triage_once']['cpu_ms_per_message_after_startup']:.2f} ms"
                                                          for k in kinds])
    row("  triage once wall", [f"{k['triage_once']['seconds']:.1f} s" for k in kinds])
    row("  messages labelled / labelled by the state / rows",
        [f"{k['triage_once']['labelled']:,} / {k['triage_once']['expected_labelled']:,} / {k['triage_once']['rows']:,}"
         for k in kinds])
    most = max(len(k["triage_once"]["processes"]) for k in kinds)
    for i in range(most):
        cells = []
        label = ""
        for k in kinds:
            procs = k["triage_once"]["processes"]
            if i < len(procs):
                cells.append(f"{procs[i]['peak_rss_mib']:.0f} MiB")
                label = label or procs[i]["role"]
            else:
                cells.append("-")
        row(f"peak RSS, {label}", cells)
    row("max RSS on reaping (os.wait4)", [f"{k['triage_once']['wait4_maxrss_mib']:.0f} MiB" for k in kinds])
    if any("idle_latency" in k for k in kinds):
        row("APPEND -> labels under IDLE (median; max)",
            [f"{k['idle_latency']['median_s']:.2f} s; {k['idle_latency']['max_s']:.2f}" if "idle_latency" in k else "-"
             for k in kinds])
    row("load average before/after triage once", [
        "{:.1f} / {:.1f}".format(*k["loadavg"]["triage_once"]) for k in kinds])
    row("other work's share of the CPU: floors/triage/base", [
        "/".join(f"{k['others_share'].get(m, 0):.0%}" for m in ("parse_floor", "triage_once", "baseline")) for k in kinds])
    s = report["startup"]
    print(f"\ntriage once on an empty folder (startup): {s['median_s']:.2f} s wall (median of 3: "
          f"{', '.join(f'{x:.2f}' for x in s['all_s'])}), {s['cpu_seconds']:.2f} s CPU, peak RSS {s['peak_rss_mib']:.0f} MiB")
    print(measured_line(report))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mail", choices=("realistic", "corpus", "both"), default="both")
    parser.add_argument("--messages", type=int, default=10_000, help="messages per kind (default 10000)")
    parser.add_argument("--eml-dir", type=Path, help="also measure on the .eml files under this directory (cycled, "
                        "new Message-IDs), e.g. a mailbox export or another generator's output")
    parser.add_argument("--batch-size", type=int, default=500, help="messages per FETCH, as imap.batch_size")
    parser.add_argument("--seed", type=int, default=1, help="seed of the realistic mail (default 1)")
    parser.add_argument("--passes", type=int, default=2, help="passes of each floor; the best counts (default 2)")
    parser.add_argument("--latency-samples", type=int, default=10, help="APPENDs timed under IDLE per kind (0: skip)")
    parser.add_argument("--skip-baseline", action="store_true", help="leave out the 28-line baseline")
    parser.add_argument("--quiet-patience", type=float, default=300,
                        help="before each measurement wait up to this many seconds for other work on the machine "
                             "to stop (default 300; 0: do not wait)")
    parser.add_argument("--rss-interval", type=float, default=0.2, help="seconds between /proc samples (default 0.2)")
    parser.add_argument("--timeout", type=float, help="seconds one triage once may take (default: max(900, N/25))")
    parser.add_argument("--triage-src", type=Path, help="measure the triage package in this directory (e.g. an "
                        "export of HEAD: git archive HEAD triage | tar -x -C DIR); default: this checkout")
    parser.add_argument("--json-out", type=Path, help="also write the JSON report to this file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    use_triage_src(args.triage_src)
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    logging.getLogger("mailparser").setLevel(logging.ERROR)  # it warns about every part type it skips
    kinds = KINDS if args.mail == "both" else (args.mail,)
    if args.eml_dir:
        if not args.eml_dir.is_dir():
            parser.error(f"--eml-dir {args.eml_dir}: not a directory")
        kinds = (*kinds, "eml")

    begun = time.perf_counter()
    report = {"messages": args.messages, "batch_size": args.batch_size, "cores": os.cpu_count(), "seed": args.seed,
              "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "code": code_state(),
              "loadavg_at_start": round(loadavg(), 2), "kinds": {}}
    if report["loadavg_at_start"] > 1.5:
        log(f"WARNING: load average {report['loadavg_at_start']:.1f} before the start: the figures will be low")
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp, dovecot_server() as dovecot:
        workdir = Path(tmp)
        report["startup"] = startup(dovecot, workdir, args)
        log(f"startup of triage once on an empty folder: {report['startup']['median_s']:.2f} s")
        for kind in kinds:
            result = measure_kind(dovecot, workdir, kind, args)
            once = result["triage_once"]
            once["cpu_ms_per_message_after_startup"] = (1000 * max(once["cpu_seconds"] - report["startup"]["cpu_seconds"], 0)
                                                        / result["messages"])
            ratios(result)
            report["kinds"][kind] = result
    report["seconds"] = time.perf_counter() - begun
    return finish(report, args, print_table)


if __name__ == "__main__":
    sys.exit(main())
