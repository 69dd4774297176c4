"""The per-message work that needs no history: parse, classify, read the tone, the
language and what the word rules find.

It is pure and the costliest part of triage (~0.8 ms of CPU a message of 2-20 KB), so
batches large enough to pay for it are spread over worker processes, one per core.
Workers are forked with the model already in memory; only raw bytes go out and parsed
results come back. They die with the parent and leave signals to it
(:func:`triage.children.quiet_child`), so a killed triage leaves no worker behind and no
traceback in the log.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator
from multiprocessing.pool import AsyncResult
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from triage import rules
from triage.children import quiet_child
from triage.errors import MessageParseError
from triage.language import detect
from triage.message import Message, RawMail
from triage.parsing import parse_message

if TYPE_CHECKING:  # the model brings numpy, which a run without new mail never needs
    from triage.model import CategoryModel
    from triage.tone import ToneModel

log = logging.getLogger(__name__)

PARALLEL_FROM = 64
"""Smaller batches are analysed in-process: a round trip to the workers would cost more."""

ABANDON_SECONDS = 5.0
"""How long stopping the workers at once (a stop, an error) may take before they are
killed and the pool left behind: multiprocessing's ``Pool.terminate`` can wait for good
when a worker it ends was holding the result queue's lock (its task thread then waits
for that lock forever; seen once in a test run of a SIGTERM to ``triage once``)."""


@dataclass(frozen=True)
class Analysis:
    """What a message says, before history is consulted."""

    message: Message
    scores: dict[str, float]
    tone: float
    language: str = "und"
    """The language of the customer's words (:func:`triage.language.detect`), or "und"."""
    reading: rules.Reading = rules.Reading()
    """What the word rules find in it (:func:`triage.rules.read`); nothing for machine mail."""


@dataclass(frozen=True)
class Broken:
    """A message that could not be parsed, and why."""

    key: str
    reason: str


def analyze(raws: list[RawMail], model: CategoryModel, tone: ToneModel) -> list[Analysis | Broken]:
    """Parse, score and read the tone of a batch, in this process. Never raises for one
    message: a message that cannot be parsed or scored comes back as :class:`Broken`."""
    parsed: list[Message | Broken] = []
    for raw in raws:
        if raw.unreadable:
            parsed.append(Broken(f"{raw.mailbox}:{raw.key}", raw.unreadable))
            continue
        try:
            parsed.append(parse_message(raw))
        except MessageParseError as exc:
            parsed.append(Broken(f"{raw.mailbox}:{raw.key}", str(exc)))
        except Exception as exc:  # a bug meeting hostile mail: this message only
            log.exception("parsing %s:%s failed", raw.mailbox, raw.key)
            parsed.append(Broken(f"{raw.mailbox}:{raw.key}", f"triage failed on it ({type(exc).__name__}: {exc})"))
    messages = [m for m in parsed if isinstance(m, Message)]
    try:
        results = iter(_score(messages, model, tone))
    except Exception:  # score one by one, so one message cannot take the batch down
        log.exception("scoring a batch of %d failed; scoring one by one", len(messages))
        results = iter([_score_one(m, model, tone) for m in messages])
    out: list[Analysis | Broken] = []
    for item in parsed:
        if isinstance(item, Broken):
            out.append(item)
            continue
        result = next(results)
        out.append(result if isinstance(result, Broken) else _read(item, *result))
    return out


def analyze_message(message: Message, model: CategoryModel, tone: ToneModel) -> Analysis | Broken:
    """The analysis of one parsed message, in this process: the engine reads the words a
    colleague's forward hands over (:meth:`triage.engine.Engine._customer_words`)."""
    scored = _score_one(message, model, tone)
    return scored if isinstance(scored, Broken) else _read(message, *scored)


def _read(message: Message, scores: dict[str, float], tone: float) -> Analysis | Broken:
    """The analysis of a scored message: its language and what the rules find in its
    words (machine mail needs neither: it asks nothing of anyone)."""
    if message.automated:
        return Analysis(message, scores, tone)
    try:
        text = message.classifier_text
        return Analysis(message, scores, tone, detect(text).code,
                        rules.read(text, message.newest_text, message.subject))
    except Exception as exc:  # a bug meeting hostile words: this message only
        log.exception("reading %s:%s failed", message.mailbox, message.key)
        return Broken(f"{message.mailbox}:{message.key}", f"triage failed on it ({type(exc).__name__}: {exc})")


def _score(messages: list[Message], model: CategoryModel, tone: ToneModel) -> list[tuple[dict[str, float], float]]:
    texts = [m.classifier_text for m in messages]
    human = [not m.automated for m in messages]  # machines are not frustrated: no tone read
    if tone is getattr(model, "tone", None):  # one vectorisation for both
        category_scores, tones = model.scores_and_tone(texts, human)
    else:
        category_scores = model.scores(texts)
        found = iter(tone.scores([t for t, wanted in zip(texts, human) if wanted]))
        tones = [next(found) if wanted else 0.0 for wanted in human]
    return list(zip(category_scores, tones))


def _score_one(message: Message, model: CategoryModel, tone: ToneModel) -> tuple[dict[str, float], float] | Broken:
    try:
        return _score([message], model, tone)[0]
    except Exception as exc:
        log.exception("scoring %s:%s failed", message.mailbox, message.key)
        return Broken(f"{message.mailbox}:{message.key}", f"triage failed on it ({type(exc).__name__}: {exc})")


_worker_model: tuple[CategoryModel, ToneModel] | None = None


def _worker_analyze(raws: list[RawMail]) -> list[Analysis | Broken]:
    """A worker's share. The full body is dropped on the way back (nothing after the
    analysis reads it, and pickling up to 200,000 characters a message costs)."""
    assert _worker_model is not None
    return [item if isinstance(item, Broken) else replace(item, message=replace(item.message, body_text=""))
            for item in analyze(raws, *_worker_model)]


class Analyzer:
    """Analyses batches, over ``processes`` worker processes when that pays.

    Use as a context manager (or call :meth:`close`) so the workers are shut down.
    """

    def __init__(self, model: CategoryModel, tone: ToneModel, processes: int = 0):
        self.model = model
        self.tone = tone
        self.processes = processes or os.cpu_count() or 1
        self._pool = None
        self._started: list[tuple[list[RawMail], AsyncResult]] = []

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self, raws: list[RawMail]) -> None:
        """Begin analysing ``raws`` in the workers, so that :meth:`analyze` of the same
        list later finds it done or under way (nothing happens when the batch would be
        analysed in-process anyway)."""
        if self._parallel(raws) and not any(started is raws for started, _ in self._started):
            pool = self._ensure_pool()
            # One chunk per worker: each model call has a fixed cost (input checks, the
            # feature union), and :meth:`ahead` keeps the workers fed across batches.
            size = max(8, -(-len(raws) // self.processes))
            chunks = [raws[start:start + size] for start in range(0, len(raws), size)]
            self._started.append((raws, pool.map_async(_worker_analyze, chunks)))

    def analyze(self, raws: list[RawMail]) -> list[Analysis | Broken]:
        """Analyse a batch; results come back in the order of ``raws``."""
        if not self._parallel(raws):
            return analyze(raws, self.model, self.tone)
        self.start(raws)
        index = next(i for i, (started, _) in enumerate(self._started) if started is raws)
        _, pending = self._started.pop(index)
        return [item for chunk in pending.get() for item in chunk]

    def ahead(self, batches: Iterable[list[RawMail]]) -> Iterator[list[RawMail]]:
        """Yield ``batches`` one behind, having started the analysis of the next one first:
        while the caller decides and labels a batch, the workers analyse the next, and
        fetching the next overlaps with analysing the current. A batch too small for the
        workers (mail that arrived during a long pass) is yielded at once, ahead of the
        big one under way: it is analysed in this process when decided, in milliseconds."""
        previous: list[RawMail] | None = None
        for batch in batches:
            if not self._parallel(batch):
                yield batch
                continue
            self.start(batch)
            if previous is not None:
                yield previous
            previous = batch
        if previous is not None:
            yield previous

    def _parallel(self, raws: list[RawMail]) -> bool:
        return (self.processes >= 2 and len(raws) >= PARALLEL_FROM
                and "fork" in multiprocessing.get_all_start_methods())

    def _ensure_pool(self):
        global _worker_model
        if self._pool is None:
            _worker_model = (self.model, self.tone)  # inherited by the forked workers
            rules.compile_all()  # compiled once here, not once per worker
            self._pool = multiprocessing.get_context("fork").Pool(self.processes, initializer=quiet_child,
                                                                  initargs=(os.getpid(),))
            log.debug("started %d analysis workers", self.processes)
        return self._pool

    def close(self, abandon: bool = False) -> None:
        """Stop the workers, if any were started: once they are done with what was
        started, or at once with ``abandon`` (a stop or an error: nobody reads it), in
        :data:`ABANDON_SECONDS` at most."""
        pool, self._pool = self._pool, None
        if pool is not None:
            if abandon:
                _terminate_within(pool, ABANDON_SECONDS)
            else:
                pool.close()
                pool.join()
        self._started.clear()


def _terminate_within(pool, seconds: float) -> None:
    """``pool.terminate()`` and ``join()``, given ``seconds``; then, if they are not done,
    the workers are killed and the pool is left to its (daemon) threads."""
    def terminate() -> None:
        pool.terminate()
        pool.join()

    stopping = threading.Thread(target=terminate, name="analysis-pool-terminate", daemon=True)
    stopping.start()
    stopping.join(seconds)
    if stopping.is_alive():
        for worker in pool._pool:  # noqa: SLF001 - the only handle on the processes multiprocessing gives
            if worker.exitcode is None:
                worker.kill()
        log.warning("the analysis workers did not stop within %g s (multiprocessing's Pool.terminate is stuck): "
                    "killed and left behind", seconds)
