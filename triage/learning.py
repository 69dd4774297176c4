"""Learning from the team: train on labeled mail plus people's corrections, compare the
new model with the active one on a fixed held-out set, and activate it only if it is
not worse.

The held-out set. Each correction falls on the held-out or the training side by a
seeded hash of its Message-ID (one in :data:`HELD_OUT_SHARE`), so it stays on its side
in every retraining; the held-out set is that side plus the bundled ``data/holdout``
(or ``--holdout DIR``). Nothing held out is trained on: a held-out message is dropped
from the training source as well.

Corrections override the source. A corrected message's own copy in the source (same
Message-ID) is dropped, and the correction becomes an example with exactly the
corrected categories. Only the newest correction of a message counts.

The rule. The new model replaces the active one (the registry's, else the shipped one)
when its macro-F1 on the held-out set is at least the active model's on the same set,
and it loses no more than :data:`INDEPENDENT_TOLERANCE` macro-F1 on the part of that set
labeled independently of the corrections (the bundled held-out mail). The second
condition is there because the corrections grade their own held-out fifth: a batch of
wrong corrections also marks its held-out part wrongly, where the new model then looks
better; mail labeled by others cannot be fooled that way. The tolerance absorbs the
churn of retraining, which moves that score by about a point even for harmless
corrections. Either way the new model is kept in the registry, its card saying what it
was compared with and why it was or was not activated.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from triage.config import Config
from triage.corrections import SOURCES, Correction, CorrectionStore, corrections_sha256
from triage.errors import ModelError, UsageError
from triage.labeled import LabeledSet, load_labeled
from triage.evaluation import evaluate
from triage.model import CategoryModel, save_model
from triage.modelstore import CORPUS_DIR, HOLDOUT_DIR, load_shipped, resolve_model
from triage.registry import SHIPPED, Entry, Registry

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

HELD_OUT_SHARE = 5
"""One correction in this many is held out."""
SPLIT_SEED = "triage-corrections-1"
"""Salt of the held-out hash; changing it reshuffles every team's split."""
INDEPENDENT_TOLERANCE = 0.01
"""How much macro-F1 a new model may lose on the independently labeled held-out mail."""

_EMPTY = LabeledSet([], hashlib.sha256(b"").hexdigest(), 0)


def is_held_out(message_id: str) -> bool:
    """True when a correction of this message belongs to the held-out side (fixed per message)."""
    digest = hashlib.sha256(f"{SPLIT_SEED}:{message_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % HELD_OUT_SHARE == 0


@dataclass(frozen=True)
class Split:
    """What a model trains on and what it is measured on, and the corrections in each."""

    source: LabeledSet
    train: LabeledSet
    test: LabeledSet
    independent: LabeledSet
    """The part of ``test`` labeled independently of the corrections (the held-out mail)."""
    trained: tuple[Correction, ...]
    held_out: tuple[Correction, ...]
    learned: bool
    """True when the corrections' training side was learned from (``--with-corrections``)."""


def make_split(source: LabeledSet, corrections: Sequence[Correction], holdout: LabeledSet | None = None, *,
               learn: bool = True) -> Split:
    """Training and held-out sets from a labeled source, the newest correction of each
    message (:meth:`CorrectionStore.latest`) and held-out mail; see the module notes."""
    held = tuple(c for c in corrections if is_held_out(c.message_id))
    trained = tuple(c for c in corrections if not is_held_out(c.message_id)) if learn else ()
    holdout = holdout or _EMPTY
    independent = with_corrections(holdout, (), drop={c.message_id for c in held})
    test = with_corrections(independent, held, drop=set())
    drop = {e.message.message_id for e in test.examples} | ({c.message_id for c in corrections} if learn else set())
    return Split(source, with_corrections(source, trained, drop=drop), test, independent, trained, held, learn)


def with_corrections(base: LabeledSet, corrections: Sequence[Correction], drop: set[str]) -> LabeledSet:
    """``base`` without the messages in ``drop``, plus the corrections as examples."""
    examples = [e for e in base.examples if e.message.message_id not in drop] + [c.example() for c in corrections]
    digest = hashlib.sha256(json.dumps([base.sha256, corrections_sha256(corrections), sorted(drop)]).encode())
    return LabeledSet(sorted(examples, key=lambda e: e.message.message_id), digest.hexdigest(), base.skipped)


def train_candidate(split: Split, *, source_name: str, kind: str | None = None, progress: Progress | None = None,
                    inherit_tone: tuple | None = None) -> tuple[CategoryModel, dict]:
    """Train on ``split.train`` (``kind``: the estimator, default the training default),
    score on ``split.test``, and extend the card with the source's hash and what the
    corrections contributed."""
    from triage.training import DEFAULT_ESTIMATOR, train_model  # scikit-learn is imported to train only

    test_ids = {e.message.message_id for e in split.test.examples}
    overlap = sum(e.message.message_id in test_ids for e in split.source.examples)
    if not split.source.examples and not split.trained:
        raise UsageError(f"nothing to train on: {source_name} holds no message that can be read as mail")
    if overlap == len(split.source.examples) and not split.trained:
        raise UsageError("nothing to train on: every message of the source is in the held-out mail; "
                         "pass --holdout DIR with other mail")
    if overlap:
        log.warning("%d messages of the source are in the held-out mail; they are not trained on", overlap)
    try:
        model, card = train_model(split.train, kind=kind or DEFAULT_ESTIMATOR,
                                  holdout=split.test if split.test.examples else None,
                                  progress=progress, source=source_name, inherit_tone=inherit_tone)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    card["data"]["corpus_sha256"] = split.source.sha256
    considered = (*split.trained, *split.held_out)
    card["corrections"] = {
        "learned": split.learned,
        "trained_on": len(split.trained),
        "held_out": len(split.held_out),
        "sha256": corrections_sha256(split.trained),
        "last_id": max((c.id for c in considered), default=0),
        "sources": {s: sum(c.source == s for c in split.trained) for s in SOURCES},
    }
    if "holdout" in card:
        card["holdout"]["corrections"] = len(split.held_out)
    return model, card


@dataclass(frozen=True)
class Outcome:
    """A model added to the registry, and how it fared against the active one."""

    entry: Entry
    accepted: bool
    candidate_f1: float
    incumbent: str
    incumbent_f1: float
    reason: str = ""

    def summary(self) -> str:
        """One line for people: what was written, and whether it is now active."""
        card = self.entry.card
        cv = card["cross_validation"]
        trained = card["data"].get("messages", cv["messages"])
        learned = card["corrections"]["trained_on"] if card["corrections"]["learned"] else 0
        result = "now active" if self.accepted else f"not activated, {self.incumbent} stays active: {self.reason}"
        return (f"wrote {self.entry.name} ({trained} messages, {learned} of them corrections; "
                f"cross-validated macro-F1 {cv['macro_f1']:.3f}; held-out macro-F1 {self.candidate_f1:.3f} "
                f"vs {self.incumbent_f1:.3f} for {self.incumbent} on the same {card['holdout']['messages']} "
                f"messages): {result}")


def incumbent(registry: Registry) -> tuple[str, CategoryModel, dict]:
    """(name, model, card) of the model runs use when not told otherwise: the registry's
    active one, else the shipped one. An active model that no longer loads (changed
    file, old format) cannot be compared with: the shipped one stands in."""
    try:
        return (registry.active_name() or SHIPPED, *resolve_model(None, registry))
    except ModelError as exc:
        log.warning("%s; comparing with the shipped model instead", exc)
        return (SHIPPED, *load_shipped())


def verdict(ours: dict, theirs: dict, ours_independent: dict, theirs_independent: dict) -> tuple[bool, str]:
    """The activation rule (see the module notes) on :func:`~triage.training.evaluate`
    results of the new and the active model on the held-out set and on its independent
    part. Returns (activate?, why)."""
    if ours["macro_f1"] < theirs["macro_f1"]:
        return False, f"held-out macro-F1 {ours['macro_f1']:.3f} < {theirs['macro_f1']:.3f}"
    if ours_independent["macro_f1"] < theirs_independent["macro_f1"] - INDEPENDENT_TOLERANCE:
        return False, (f"macro-F1 on the independently labeled mail {ours_independent['macro_f1']:.3f} < "
                       f"{theirs_independent['macro_f1']:.3f} - {INDEPENDENT_TOLERANCE}")
    return True, "not worse"


def compete(registry: Registry, model: CategoryModel, card: dict, split: Split,
            current: tuple[str, CategoryModel, dict], progress: Progress | None = None) -> Outcome:
    """Score the active model on the candidate's held-out set, add the candidate to the
    registry, and make it active when it is not worse (:func:`verdict`)."""
    name, current_model, _ = current
    if progress:
        progress(f"scoring the active model ({name}) on the same held-out set")
    ours, theirs = card["holdout"], evaluate(current_model, split.test)
    ours_independent, theirs_independent = ours, theirs
    if split.held_out and split.independent.examples:
        ours_independent, theirs_independent = evaluate(model, split.independent), evaluate(current_model, split.independent)
    accepted, why = verdict(ours, theirs, ours_independent, theirs_independent)
    card["activation"] = {
        "rule": f"held-out macro-F1 at least the active model's, and at most {INDEPENDENT_TOLERANCE} below it "
                "on the independently labeled part",
        "compared_with": name,
        "candidate_macro_f1": ours["macro_f1"],
        "incumbent_macro_f1": theirs["macro_f1"],
        "independent": {"messages": len(split.independent.examples),
                        "candidate_macro_f1": ours_independent["macro_f1"],
                        "incumbent_macro_f1": theirs_independent["macro_f1"]},
        "accepted": accepted,
        "reason": why,
    }
    entry = registry.add(model, card, activate=accepted)
    return Outcome(entry, accepted, ours["macro_f1"], name, theirs["macro_f1"], why)


def retrain(config: Config, state_path: str | Path, *, source: LabeledSet | None = None, source_name: str = "",
            holdout: LabeledSet | None = None, learn: bool = True, kind: str | None = None,
            progress: Progress | None = None) -> Outcome:
    """Train a model into the registry beside ``state_path`` and activate it if it is not
    worse than the active one. ``source`` defaults to the bundled corpus and ``holdout``
    to the bundled held-out mail; with ``learn`` the corrections' training side is
    learned from (their held-out side is always part of the comparison)."""
    if source is None:
        source, source_name = bundled(CORPUS_DIR, "the bundled corpus", progress), "data/corpus"
    if holdout is None and HOLDOUT_DIR.is_dir():
        holdout = bundled(HOLDOUT_DIR, "the bundled held-out mail", progress)
    with CorrectionStore(state_path) as store:
        split = make_split(source, store.latest(), holdout, learn=learn)
    if not split.test.examples:
        raise UsageError("no held-out mail to compare the new model with: pass --holdout DIR (or --out FILE)")
    if config.model.path:
        log.warning("[model] path = %s overrides the registry's active model", config.model.path)
    registry = Registry.for_state(state_path)
    current = incumbent(registry)
    kind = kind or current[2].get("estimator")
    model, card = train_candidate(split, source_name=source_name, kind=kind, progress=progress,
                                  inherit_tone=(current[1].tone, current[2].get("tone", {})))
    return compete(registry, model, card, split, current, progress)


def corrections_due(config: Config, history_path: str | Path) -> int:
    """How many corrections arrived since the last retraining, when they are enough to
    retrain (``[model] retrain_after_corrections``; never when it is 0); else 0. Cheap:
    the service asks after every pass, and starts a retraining only when this says so."""
    threshold = config.model.retrain_after_corrections
    if threshold <= 0:
        return 0
    registry = Registry.for_state(history_path)
    with CorrectionStore(history_path) as store:
        pending = store.count_after(registry.last_learned_correction())
    return pending if pending >= threshold else 0


def maybe_retrain(config: Config, history_path: str | Path, progress: Progress | None = None) -> bool:
    """For the service: retrain on the bundled corpus plus corrections once
    ``[model] retrain_after_corrections`` corrections arrived since the last retraining
    (never when it is 0). True when a new model became active (reload the engine then).
    Takes as long as ``triage train`` (about half a minute); raises TriageError (e.g. the
    bundled corpus is missing) like it."""
    pending = corrections_due(config, history_path)
    if not pending:
        return False
    log.info("%d new corrections: retraining", pending)
    outcome = retrain(config, history_path, progress=progress)
    log.info("%s", outcome.summary())
    return outcome.accepted


def bundled(directory: Path, what: str, progress: Progress | None = None) -> LabeledSet:
    """Labeled mail shipped with triage (``data/corpus``, ``data/holdout``; in a wheel,
    inside the package)."""
    if progress:
        progress(f"reading {what}")
    if not directory.is_dir():
        raise UsageError(f"{what} is not here ({directory}): pass SOURCE (and --holdout DIR)")
    return load_labeled(directory)


# -- `triage train` ----------------------------------------------------------------------

def run_train(args, config: Config) -> int:
    """``triage train [SOURCE] [--with-corrections] [--out FILE] [--holdout DIR] [--estimator KIND]``:
    with ``--out`` a model file; otherwise a new model in the registry (see :func:`retrain`)."""
    from triage.wiring import state_path
    from triage.progress import step_bar

    if not args.source and not args.with_corrections:
        raise UsageError("train needs SOURCE (a folder with one subfolder per category, or imap:PATTERN), "
                         "or --with-corrections to retrain the bundled corpus with the team's corrections")
    state = state_path(args, config)
    with step_bar(expected_steps=9 if args.out else 11) as progress:
        source = load_source(args.source, config, progress) if args.source else None
        holdout = load_labeled(args.holdout) if args.holdout else None
        if args.out:
            corrections = []
            if args.with_corrections:
                with CorrectionStore(state) as store:
                    corrections = store.latest()
            done = train_to_file(args.out, source, args.source, holdout, corrections, args.estimator, progress)
        else:
            done = retrain(config, state, source=source, source_name=args.source or "", holdout=holdout,
                           learn=args.with_corrections, kind=args.estimator, progress=progress).summary()
    if source is not None:
        print(source.describe(args.source))
    print(done)
    return 0


def train_to_file(out: str, source: LabeledSet | None, source_name: str | None, holdout: LabeledSet | None,
                  corrections: Sequence[Correction], kind: str | None, progress: Progress | None) -> str:
    """``triage train --out FILE``: train on ``source`` (default: the bundled corpus) and
    the corrections, and write the model and its card there, outside the registry; the
    tone comes from the shipped model when the source has no tone annotations. Returns
    the line to print."""
    if source is None:
        source, source_name = bundled(CORPUS_DIR, "the bundled corpus", progress), "data/corpus"
    default, default_card = load_shipped()
    model, card = train_candidate(make_split(source, corrections, holdout), source_name=source_name or "",
                                  kind=kind, progress=progress,
                                  inherit_tone=(default.tone, default_card.get("tone", {})))
    card = save_model(model, out, card)
    cv = card["cross_validation"]
    trained = card["data"].get("messages", cv["messages"])
    return (f"wrote {out} ({trained} messages; cross-validated macro-F1 {cv['macro_f1']:.3f}"
            + (f", held-out macro-F1 {card['holdout']['macro_f1']:.3f}" if "holdout" in card else "") + ")")


def load_source(source: str, config: Config, progress: Progress | None = None) -> LabeledSet:
    """Labeled mail from a folder, or from IMAP folders for ``imap:PATTERN``."""
    if source.startswith("imap:"):
        from triage.imap.training import load_labeled_imap

        return load_labeled_imap(config, source.removeprefix("imap:"), progress)
    if progress:
        progress(f"reading {source}")
    return load_labeled(source)
