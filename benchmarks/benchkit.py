"""Shared pieces of the IMAP benchmarks (imap_throughput.py, latency_under_load.py).

- a throwaway Dovecot (tests/dovecot.py) that is always stopped and deleted, on errors,
  Ctrl-C and SIGTERM too (:func:`dovecot_server`);
- mailboxes written straight into Dovecot's Maildir, which loads 100,000 messages in
  seconds where APPEND would take minutes (:func:`load_maildir`; in a Dovecot that keeps
  its mail in sdbox or mdbox, a Maildir imported with ``doveadm import``:
  :func:`load_folder`), from the generator
  (:func:`realistic_messages`, benchmarks/mailgen.py) or from the corpus
  (:func:`corpus_messages`: data/corpus and data/holdout only);
- ``triage once`` and ``triage run`` as subprocesses in their own process group, with a
  timeout, and :class:`TreeMonitor`, which samples /proc for the peak RSS (VmHWM) of the
  main process and of every child (the analysis workers) while they run;
- :class:`MaildirWatcher` (inotify on the folder's Maildir, free for Dovecot) and
  :class:`KeywordWatcher` (a second IMAP connection polling ``SEARCH MODSEQ`` and FLAGS),
  which note when each new message first carries a triage keyword.

Not a benchmark by itself.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dovecot import MAIL_FORMATS, PASSWORD, PASSWORD_ENV, Dovecot, find_dovecot  # noqa: E402

CORPUS_DIRS = ("data/corpus", "data/holdout")
"""Only these: other data/ folders are being written while benchmarks run."""

_MESSAGE_ID = re.compile(rb"(?im)^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*")
TRIAGE_KEYWORD = b"triage_"
"""How triage's keywords start (labels.prefix "triage/" through keyword_for)."""


def log(text: str) -> None:
    """Progress on stderr, so stdout stays the report (or the JSON)."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# -- Dovecot ------------------------------------------------------------------------------


class Interrupted(Exception):
    """SIGTERM or SIGHUP arrived: unwind so that every ``finally`` cleans up."""


@contextlib.contextmanager
def dovecot_server(mail_format: str = "maildir") -> Iterator[Dovecot]:
    """A started private Dovecot keeping its mail in ``mail_format`` (maildir, sdbox or
    mdbox), stopped and deleted however the block ends."""
    binary = find_dovecot()
    if binary is None:
        raise SystemExit("Dovecot is not installed (apt-get install dovecot-imapd)")

    def interrupted(signum, frame):
        raise Interrupted(signal.Signals(signum).name)

    previous = {s: signal.signal(s, interrupted) for s in (signal.SIGTERM, signal.SIGHUP)}
    dovecot = Dovecot(binary, mail_format=mail_format)
    try:
        dovecot.start()
        yield dovecot
    finally:
        dovecot.close()
        for s, handler in previous.items():
            signal.signal(s, handler)


# -- mailboxes ----------------------------------------------------------------------------


def corpus_messages(count: int, dirs: Iterable[Path] | None = None) -> Iterator[tuple[bytes, float | None]]:
    """``count`` messages from data/corpus and data/holdout (or the .eml files under
    ``dirs``), cycled, each with its own Message-ID; no date of their own (arrival: now)."""
    roots = list(dirs) if dirs else [ROOT / d for d in CORPUS_DIRS]
    files = sorted(p for d in roots for p in d.rglob("*.eml"))
    if not files:
        raise SystemExit(f"no .eml files under {', '.join(map(str, roots))}")
    cache: dict[Path, tuple[bytes, bytes, bytes]] = {}
    for i, path in enumerate(itertools.islice(itertools.cycle(files), count)):
        if path not in cache:
            raw = path.read_bytes().replace(b"\r\n", b"\n")
            head, sep, body = raw.partition(b"\n\n")
            cache[path] = (_MESSAGE_ID.sub(b"", head + b"\n").rstrip(b"\n"), sep, body)
        head, sep, body = cache[path]
        yield b"Message-ID: <bench-%d@triage.invalid>\n" % i + head + sep + body, None


def realistic_messages(count: int, seed: int, end: datetime | None = None, days: float = 21.0):
    """``count`` generated messages (benchmarks/mailgen.py) arriving over ``days`` days up
    to ``end`` (now); each comes with its arrival time (the Maildir file's mtime, which
    Dovecot reports as INTERNALDATE). Also returns the generator, to go on with."""
    from mailgen import MailGen

    gen = MailGen(seed, end=end or datetime.now(timezone.utc), days=days, count_hint=count)
    return ((m.raw, m.date.timestamp()) for m in gen.take(count)), gen


def load_maildir(dovecot: Dovecot, folder: str, messages: Iterable[tuple[bytes, float | None]]) -> tuple[int, int]:
    """Write the messages straight into ``folder``'s Maildir (``cur/``, unseen), owned by
    the mail user, before Dovecot has looked at the folder. Returns (messages, bytes)."""
    dovecot.create_folder(folder)
    maildir = dovecot.maildir(folder)
    owner = maildir.stat()
    return _write_maildir(maildir / "cur", messages, owner.st_uid, owner.st_gid)


def _write_maildir(cur: Path, messages: Iterable[tuple[bytes, float | None]], uid: int, gid: int) -> tuple[int, int]:
    """Write each message as an unseen file in the Maildir directory ``cur``, owned by
    ``uid``:``gid``, its mtime the arrival time. Returns (messages, bytes)."""
    stamp, pid = int(time.time()), os.getpid()
    count = total = 0
    for i, (raw, mtime) in enumerate(messages):
        path = f"{cur}/{stamp}.M{i}P{pid}.bench,S={len(raw)}:2,"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, raw)
            os.fchown(fd, uid, gid)
        finally:
            os.close(fd)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        count += 1
        total += len(raw)
    return count, total


def load_folder(dovecot: Dovecot, folder: str, messages: Iterable[tuple[bytes, float | None]]) -> tuple[int, int]:
    """Put the messages into ``folder`` the fastest way the server's storage allows:
    straight into its Maildir (:func:`load_maildir`), or, for sdbox and mdbox, into a
    Maildir beside the user's mail, then ``doveadm import`` (about 1,000 messages a second,
    arrival times kept as INTERNALDATE). Returns (messages, bytes)."""
    if dovecot.mail_format == "maildir":
        return load_maildir(dovecot, folder, messages)
    home = dovecot.root / "home" / "support"
    staging = home / "staging"
    target = staging / f".{folder}"
    owner = home.stat()
    for directory in (staging, target):
        for sub in ("", "cur", "new", "tmp"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
            os.chown(directory / sub, owner.st_uid, owner.st_gid)
    count, size = _write_maildir(target / "cur", messages, owner.st_uid, owner.st_gid)
    doveadm = shutil.which("doveadm") or shutil.which("doveadm", path="/usr/bin:/usr/sbin") or "doveadm"
    done = subprocess.run([doveadm, "-c", str(dovecot.root / "dovecot.conf"), "import", "-u", "support",
                           f"maildir:{staging}", "", "mailbox", folder], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"doveadm import into {dovecot.mail_format} failed ({done.returncode}): {done.stderr[-2000:]}")
    shutil.rmtree(staging)
    return count, size


def warm_up(dovecot: Dovecot, folder: str) -> list[int]:
    """Let Dovecot index the new files (and the page cache fill) before anything is timed."""
    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        uids = sorted(client.search("ALL"))
        for start in range(0, len(uids), 2000):
            client.fetch(uids[start:start + 2000], ["RFC822.SIZE", "FLAGS", "INTERNALDATE"])
    return uids


def count_labelled(dovecot: Dovecot, folder: str) -> tuple[int, int]:
    """(messages, messages carrying at least one triage keyword) in ``folder``."""
    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        uids = sorted(client.search("ALL"))
        labelled = 0
        for start in range(0, len(uids), 5000):
            for data in client.fetch(uids[start:start + 5000], ["FLAGS"]).values():
                labelled += any(f.lower().startswith(TRIAGE_KEYWORD) for f in data.get(b"FLAGS", ()))
    return len(uids), labelled


# -- triage -------------------------------------------------------------------------------


TRIAGE_SRC = ROOT
"""Where the measured ``triage`` package lives (:func:`use_triage_src`): this checkout, or
an exported copy such as ``git archive HEAD triage | tar -x -C /tmp/triage-head``, so
that figures are of one fixed version while others edit the working tree."""


def use_triage_src(path: Path | None) -> None:
    """Measure the ``triage`` package under ``path`` (None: this checkout), its bytecode
    compiled first (:func:`compile_bytecode`)."""
    global TRIAGE_SRC
    if path is not None:
        path = path.resolve()
        if not (path / "triage" / "__main__.py").is_file():
            raise SystemExit(f"--triage-src {path}: no triage package there (expected {path}/triage/__main__.py)")
        TRIAGE_SRC = path
    compile_bytecode(TRIAGE_SRC / "triage")


def compile_bytecode(package: Path) -> None:
    """Write the package's bytecode (``__pycache__``), as ``pip install`` does: run from a
    source tree with PYTHONDONTWRITEBYTECODE set (this machine's environment), every
    triage process compiled its ~60 modules again, 0.1 s a start, while the floors'
    libraries come installed with theirs. Reading bytecode does not need the variable
    unset."""
    import compileall

    if not compileall.compile_dir(str(package), quiet=1):
        raise SystemExit(f"could not compile {package}")


def triage_env() -> dict[str, str]:
    """The environment of a triage subprocess (run with ``cwd=TRIAGE_SRC``: ``python -m``
    puts the working directory first on sys.path, ahead of the editable install)."""
    env = {**os.environ, PASSWORD_ENV: PASSWORD, "PYTHONUNBUFFERED": "1"}
    if TRIAGE_SRC != ROOT:
        env["PYTHONPATH"] = str(TRIAGE_SRC) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def write_config(dovecot: Dovecot, path: Path, folder: str, state: Path, batch_size: int = 500,
                 extra: str = "") -> Path:
    path.write_text(
        f'[imap]\nhost = "{dovecot.host}"\nport = {dovecot.port}\nsecurity = "plain"\nusername = "support"\n'
        f'password_env = "{PASSWORD_ENV}"\nfolder = "{folder}"\nbatch_size = {batch_size}\ntimeout_seconds = 120.0\n'
        f'[state]\npath = "{state}"\n{extra}'
    )
    return path


class TreeMonitor:
    """Peak resident memory of a process and every descendant, sampled from /proc.

    ``VmHWM`` is the kernel's own high-water mark of a process's RSS, so a sample taken
    any time before the process exits holds its true peak; only growth in the last
    ``interval`` before a process exits can be missed. Children are found through
    /proc/<pid>/task/<tid>/children of every process already known."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.root = pid
        self.interval = interval
        self.processes: dict[int, dict] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-monitor", daemon=True)
        self._order = itertools.count()

    def start(self) -> TreeMonitor:
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(5)
        return self.report()

    def report(self) -> list[dict]:
        """One row per process seen: role (main, worker 1, …), pid, peak RSS in MiB."""
        rows = sorted(self.processes.values(), key=lambda p: p["order"])
        workers = itertools.count(1)
        out = []
        for p in rows:
            role = "main" if p["pid"] == self.root else f"child {next(workers)}"
            out.append({"role": role, "pid": p["pid"], "peak_rss_mib": round(p["hwm_kib"] / 1024, 1),
                        "cmd": p["cmd"][:80], "seconds_seen": round(p["last"] - p["first"], 1)})
        return out

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        now = time.monotonic()
        todo, seen = [self.root], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            hwm = _vm_hwm(pid)
            if hwm is None:
                continue  # gone (or a zombie: its memory is released already)
            entry = self.processes.get(pid)
            if entry is None:
                entry = self.processes[pid] = {"pid": pid, "hwm_kib": 0, "cmd": _cmdline(pid), "first": now,
                                               "order": next(self._order)}
            entry["hwm_kib"] = max(entry["hwm_kib"], hwm)
            entry["last"] = now
            todo.extend(_children(pid))


def _vm_hwm(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(x) for x in f.read().split())
    except OSError:
        pass
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def run_once(config: Path, state: Path, rows: Path, *, timeout: float, rss_interval: float = 0.2) -> dict:
    """``triage once --format jsonl`` over IMAP as a subprocess: wall seconds, rows, the
    peak RSS of each of its processes, and the max RSS the kernel reports on reaping it
    (which covers the children it reaped too), and the CPU seconds of it and its children.
    Raises SystemExit on failure or timeout."""
    command = [sys.executable, "-m", "triage", "once", "--config", str(config), "--state", str(state), "--format", "jsonl"]
    err_path = rows.with_suffix(".stderr")
    with rows.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=triage_env(), cwd=TRIAGE_SRC, start_new_session=True)
        monitor = TreeMonitor(process.pid, rss_interval).start()
        timer = threading.Timer(timeout, _kill_group, (process,))
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            _kill_group(process)
            raise
        finally:
            seconds = time.perf_counter() - started
            timer.cancel()
            processes = monitor.stop()
    process.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it is reaped
    _kill_group(process)  # nothing of it may outlive it (a stray worker)
    if process.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        why = f"timed out after {timeout:.0f} s" if seconds >= timeout else f"exit status {process.returncode}"
        raise SystemExit(f"triage once {why}; its stderr ends:\n{tail}")
    with rows.open("rb") as f:
        count = sum(1 for _ in f)
    return {"seconds": seconds, "rows": count, "processes": processes, "wait4_maxrss_mib": round(usage.ru_maxrss / 1024, 1),
            "cpu_seconds": usage.ru_utime + usage.ru_stime}


class Service:
    """``triage run -v --log-format json --format jsonl`` in its own process group; its log
    lines are kept with the (monotonic) time they arrived, and its rows by Message-ID with
    the time they arrived and whether they carry labels (a row is printed once its labels
    are stored)."""

    def __init__(self, config: Path, state: Path, rss_interval: float = 0.2) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "triage", "run", "--config", str(config), "--state", str(state), "-v",
             "--log-format", "json", "--format", "jsonl"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=triage_env(), cwd=TRIAGE_SRC,
            start_new_session=True)
        self.monitor = TreeMonitor(self.process.pid, rss_interval).start()
        self.lines: list[tuple[float, str]] = []
        self.rows: dict[str, tuple[float, bool]] = {}
        self._reader = threading.Thread(target=self._read, name="triage-run-log", daemon=True)
        self._reader.start()
        self._row_reader = threading.Thread(target=self._read_rows, name="triage-run-rows", daemon=True)
        self._row_reader.start()

    def _read_rows(self) -> None:
        for line in self.process.stdout:
            try:
                row = json.loads(line)
                self.rows.setdefault(row["message_id"], (time.monotonic(), bool(row["labels"])))
            except (ValueError, KeyError, TypeError):
                continue

    def _read(self) -> None:
        for line in self.process.stderr:
            try:
                text = json.loads(line)["message"]
            except (ValueError, KeyError, TypeError):
                text = line.rstrip("\n")
            self.lines.append((time.monotonic(), text))

    def find(self, text: str, after: int = 0) -> tuple[int, float] | None:
        """(index, arrival time) of the first log line from ``after`` on containing ``text``."""
        for i in range(after, len(self.lines)):
            if text in self.lines[i][1]:
                return i, self.lines[i][0]
        return None

    def wait_for(self, text: str, after: int = 0, timeout: float = 60) -> tuple[int, float]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(text, after)
            if found:
                return found
            if self.process.poll() is not None:
                raise SystemExit(f"triage run exited ({self.process.returncode}) before logging {text!r}:\n"
                                 + self.tail())
            if time.monotonic() > deadline:
                raise SystemExit(f"triage run: no {text!r} in its log within {timeout:.0f} s:\n" + self.tail())
            time.sleep(0.01)

    def tail(self, lines: int = 15) -> str:
        return "\n".join(text for _, text in self.lines[-lines:])

    def stop(self, timeout: float = 60) -> list[dict]:
        """SIGTERM (it finishes its batch), then SIGKILL to the group; returns the RSS report."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"triage run did not stop within {timeout:.0f} s of SIGTERM; killing it")
        _kill_group(self.process)
        self.process.wait(10)
        return self.monitor.stop()


# -- watching labels arrive ---------------------------------------------------------------


class KeywordWatcher:
    """On its own connection, polls ``UID SEARCH <from>:* MODSEQ m`` (and the FLAGS of what changed) every
    ``interval`` seconds and notes the monotonic time at which each UID ≥ ``from_uid`` is
    first seen carrying a triage keyword. (Polling adds up to ``interval`` plus a round
    trip to each latency; IDLE on the watcher would add Dovecot's own notification delay.)"""

    def __init__(self, dovecot: Dovecot, folder: str, interval: float = 0.05) -> None:
        self.dovecot, self.folder, self.interval = dovecot, folder, interval
        self.seen: dict[int, float] = {}
        self.error: BaseException | None = None
        self.polls = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.from_uid = 0
        self._thread = threading.Thread(target=self._run, name="keyword-watcher", daemon=True)

    def start(self) -> KeywordWatcher:
        self._thread.start()
        if not self._ready.wait(30):
            raise SystemExit(f"the keyword watcher could not select {self.folder}: {self.error}")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            with self.dovecot.client() as client:
                client.enable("CONDSTORE")
                info = client.select_folder(self.folder, readonly=True)
                modseq = int(info[b"HIGHESTMODSEQ"])
                self.from_uid = int(info[b"UIDNEXT"])
                self._ready.set()
                while not self._stop.is_set():
                    client.noop()
                    # SEARCH MODSEQ, then FETCH by UID: imapclient's fetch drops the answers to a
                    # "from:*" range (it keeps only UIDs it was given).
                    found = client.search(["UID", f"{self.from_uid}:*", "MODSEQ", str(modseq + 1)])
                    changed = [u for u in found if u >= self.from_uid]
                    answer = client.fetch(changed, ["FLAGS"]) if changed else {}
                    now = time.monotonic()
                    self.polls += 1
                    # The next poll asks from the SEARCH's MODSEQ (the highest of what it found),
                    # not from the FETCH's: a message changed between the two would be skipped.
                    modseq = max(modseq, found.modseq or 0)
                    for uid, data in answer.items():
                        if uid >= self.from_uid and uid not in self.seen and any(
                                f.lower().startswith(TRIAGE_KEYWORD) for f in data.get(b"FLAGS", ())):
                            self.seen[uid] = now
                    self._stop.wait(self.interval)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            self.error = exc
            self._ready.set()


class MaildirWatcher:
    """Sees keywords arrive without asking Dovecot: inotify on a Maildir folder's ``new/``
    and ``cur/``. Dovecot keeps a message's keywords in its file name (``:2,`` then one
    letter a-z per keyword, numbered in the folder's ``dovecot-keywords``) and renames the
    file when a STORE changes them, so each rename is seen the moment it happens. Each file
    is read once, for its Message-ID. :attr:`seen` maps Message-ID to the monotonic time a
    name with a triage keyword first appeared. (Only the first 26 keywords of a folder fit
    in file names; triage uses about ten.)

    Watching over IMAP instead (:class:`KeywordWatcher`) makes Dovecot rescan ``cur/`` for
    that session after every flag change: at 88,000 messages, polling every 0.1 s took a
    quarter of the machine and slowed APPENDs and triage alike."""

    _IN_CREATE, _IN_MOVED_TO, _IN_Q_OVERFLOW = 0x100, 0x80, 0x4000
    _MESSAGE_ID = re.compile(rb"(?im)^message-id:[ \t]*(<[^>\s]+>)")

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.seen: dict[str, float] = {}
        self.arrived: dict[str, float] = {}
        self.error: BaseException | None = None
        self.events = 0
        self._ids: dict[str, str] = {}           # file name base -> Message-ID
        self._letters: dict[str, bool] = {}      # keyword letter -> is a triage keyword
        self._pending: dict[str, tuple[float, set[str]]] = {}  # Message-ID -> (rename time, letters not known yet)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maildir-watcher", daemon=True)
        import ctypes

        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            raise SystemExit(f"inotify_init1 failed: {os.strerror(ctypes.get_errno())}")
        self._dirs = {}
        for sub in ("new", "cur"):
            wd = self._libc.inotify_add_watch(self._fd, str(maildir / sub).encode(), self._IN_CREATE | self._IN_MOVED_TO)
            if wd < 0:
                raise SystemExit(f"inotify_add_watch {maildir / sub}: {os.strerror(ctypes.get_errno())}")
            self._dirs[wd] = maildir / sub

    def start(self) -> MaildirWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def _run(self) -> None:
        import select
        import struct

        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self._fd], [], [], 0.05 if self._pending else 0.2)
                if self._pending:
                    self._resolve_pending()
                if not ready:
                    continue
                now = time.monotonic()
                data = os.read(self._fd, 1 << 20)
                offset = 0
                while offset < len(data):
                    wd, mask, _, length = struct.unpack_from("iIII", data, offset)
                    name = data[offset + 16:offset + 16 + length].rstrip(b"\0").decode(errors="replace")
                    offset += 16 + length
                    if mask & self._IN_Q_OVERFLOW:
                        raise RuntimeError("inotify queue overflow: events were lost")
                    if name and wd in self._dirs:
                        self.events += 1
                        self._saw(self._dirs[wd], name, now)
        except BaseException as exc:  # noqa: BLE001 - the benchmark reports it
            self.error = exc

    def _saw(self, directory: Path, name: str, now: float) -> None:
        base, _, info = name.partition(":2,")
        message_id = self._ids.get(base)
        if message_id is None:
            try:
                with open(directory / name, "rb") as f:
                    head = f.read(65536)
            except OSError:
                return  # renamed again already: its next name brings it back
            found = self._MESSAGE_ID.search(head)
            message_id = self._ids[base] = found.group(1).decode() if found else base
            self.arrived.setdefault(message_id, now)
        if message_id in self.seen:
            return
        letters = {c for c in info if "a" <= c <= "z"}
        if letters - self._letters.keys():
            self._read_keywords()
        if any(self._letters.get(c) for c in letters):
            self.seen[message_id] = now
            self._pending.pop(message_id, None)
        elif letters - self._letters.keys():
            # A keyword new to the folder: Dovecot renames the file before it writes the
            # keyword's number into dovecot-keywords. Decide once that file catches up.
            self._pending.setdefault(message_id, (now, letters))

    def _resolve_pending(self) -> None:
        self._read_keywords()
        for message_id, (when, letters) in list(self._pending.items()):
            if any(self._letters.get(c) for c in letters):
                self.seen.setdefault(message_id, when)
                del self._pending[message_id]
            elif not letters - self._letters.keys():
                del self._pending[message_id]  # all known now, none of them triage's

    def _read_keywords(self) -> None:
        try:  # "0 triage_refund" per line; 0 is a, 1 is b, …
            for line in (self.maildir / "dovecot-keywords").read_text().splitlines():
                number, _, keyword = line.partition(" ")
                if number.isdigit() and int(number) < 26:
                    self._letters[chr(ord("a") + int(number))] = keyword.lower().startswith(TRIAGE_KEYWORD.decode())
        except OSError:
            pass


# -- the machine --------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def loadavg() -> float:
    return os.getloadavg()[0]


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat, idle and iowait excluded)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICK


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds of the live processes of process group ``pgid``, with what they reaped."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        if int(fields[2]) == pgid:  # pgrp; then utime stime cutime cstime are fields 11-14
            total += sum(int(x) for x in fields[11:15])
    return total / _TICK


def own_cpu_seconds() -> float:
    """This process's CPU seconds plus those of the children it has reaped (and theirs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class CpuWindow:
    """How much CPU *other* work on the machine took while something was measured: the
    machine's busy time in the window less this process, its reaped children (triage,
    the baseline) and Dovecot. End the window only after the measured children are reaped.

        with CpuWindow(dovecot) as window: ...
        window.others_share   # 0.0 = the machine was ours; 0.3 = others used 30 % of it"""

    def __init__(self, dovecot: Dovecot | None = None) -> None:
        self.pgid = dovecot._process.pid if dovecot is not None and dovecot._process else None
        self.others_seconds = self.dovecot_seconds = 0.0
        self.others_share = 0.0
        self.wall = 0.0

    def _now(self) -> tuple[float, float, float, float]:
        return (time.monotonic(), machine_busy_seconds(), own_cpu_seconds(),
                group_cpu_seconds(self.pgid) if self.pgid else 0.0)

    def __enter__(self) -> CpuWindow:
        self._start = self._now()
        return self

    def __exit__(self, *exc) -> None:
        end = self._now()
        wall, busy, own, dove = (b - a for a, b in zip(self._start, end))
        self.wall = wall
        self.dovecot_seconds = dove
        self.others_seconds = max(0.0, busy - own - dove)
        self.others_share = self.others_seconds / max(wall * (os.cpu_count() or 1), 1e-9)

    def as_dict(self) -> dict:
        return {"others_cpu_seconds": round(self.others_seconds, 2), "others_share": round(self.others_share, 3)}


def wait_for_quiet(max_busy: float = 0.15, window: float = 3.0, patience: float = 300.0) -> float:
    """Wait (at most ``patience`` seconds) for a ``window`` in which the machine is busy
    less than ``max_busy`` of its cores; returns that window's busy share (the last one
    seen when patience ran out, with a warning)."""
    deadline = time.monotonic() + patience
    cores = os.cpu_count() or 1
    warned = False
    while True:
        busy0, own0 = machine_busy_seconds(), own_cpu_seconds()
        time.sleep(window)
        share = max(0.0, machine_busy_seconds() - busy0 - (own_cpu_seconds() - own0)) / (window * cores)
        if share <= max_busy:
            return share
        if time.monotonic() > deadline:
            log(f"WARNING: the machine is still {share:.0%} busy with other work; measuring anyway")
            return share
        if not warned:
            log(f"the machine is {share:.0%} busy with other work; waiting up to {patience:.0f} s for quiet…")
            warned = True


def code_state() -> dict:
    """Which triage was measured: where its source is, a digest of its .py files, and for
    this checkout HEAD and how many files under triage/ differ from it (read-only git,
    --no-optional-locks so that git writes nothing)."""
    import hashlib

    digest = hashlib.sha1()
    for path in sorted((TRIAGE_SRC / "triage").rglob("*.py")):
        digest.update(str(path.relative_to(TRIAGE_SRC)).encode() + b"\0" + path.read_bytes())
    state = {"source": str(TRIAGE_SRC), "digest": digest.hexdigest()[:12]}
    if TRIAGE_SRC != ROOT:
        return state

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    dirty = [line for line in git("status", "--porcelain", "--", "triage").splitlines() if line]
    return {**state, "head": git("rev-parse", "--short", "HEAD"), "triage_uncommitted_files": len(dirty)}


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation; values need not be sorted."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def measured_line(report: dict) -> str:
    """The report's last line: which triage was measured (commit, or exported copy, and a
    digest of its code), the cores and batch size, and how long the benchmark took."""
    c = report["code"]
    where = (f"triage at {c['head']}" + (f" + {c['triage_uncommitted_files']} uncommitted file(s) in triage/"
                                         if c["triage_uncommitted_files"] else "")) if "head" in c else f"triage from {c['source']}"
    return (f"measured: {where} (digest {c['digest']}); {report['cores']} cores; batches of {report['batch_size']}; "
            f"{report['seconds']:.0f} s in all")


def finish(report: dict, args, print_report: Callable[[dict], None]) -> int:
    """Write the JSON report where ``--json-out`` says, then print it (``--json``) or its table."""
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0
