"""Retraining from corrections: the split, the overrides, when the service retrains, and
two stories with real training: a team's own word for a refund is learned and the new
model swapped in; a bad batch of corrections does not replace the better model."""

import random
from datetime import datetime, timezone

import pytest

from triage import learning
from triage.config import Config, ModelConfig
from triage.corrections import Correction, CorrectionStore
from triage.labeled import LabeledSet, load_labeled
from triage.learning import HELD_OUT_SHARE, INDEPENDENT_TOLERANCE, is_held_out, make_split, maybe_retrain, retrain, verdict
from triage.modelstore import CORPUS_DIR, HOLDOUT_DIR
from triage.registry import SHIPPED, Registry

T0 = datetime(2026, 11, 20, tzinfo=timezone.utc)


def correction(n: int, message_id: str, after=("refund",), text="Subject\nbody") -> Correction:
    return Correction(n, message_id, T0, (), tuple(after), "label-change", text)


def labeled(*pairs) -> LabeledSet:
    """A LabeledSet of (message_id, categories) pairs."""
    return LabeledSet([correction(0, mid, cats).example() for mid, cats in pairs], "sha", 0)


def ids_on_side(held: bool, count: int, prefix: str = "m") -> list[str]:
    return [mid for mid in (f"<{prefix}{i}@x>" for i in range(1000)) if is_held_out(mid) == held][:count]


# -- the split (no training) --------------------------------------------------------------

def test_the_held_out_side_is_fixed_per_message_and_about_one_in_five():
    ids = [f"<{i}@example.net>" for i in range(2000)]
    share = sum(map(is_held_out, ids)) / len(ids)
    assert abs(share - 1 / HELD_OUT_SHARE) < 0.03
    assert [is_held_out(i) for i in ids] == [is_held_out(i) for i in ids]


def test_corrections_override_the_corpus_and_nothing_held_out_is_trained_on():
    [kept, relabeled] = ids_on_side(False, 2)
    [held_corr] = ids_on_side(True, 1)
    corpus = labeled((kept, {"refund"}), (relabeled, {"refund"}), (held_corr, {"refund"}), ("<h1@x>", {"fee_dispute"}))
    holdout = labeled(("<h1@x>", {"fee_dispute"}), ("<h2@x>", set()))
    fixes = [correction(1, relabeled, ["cancellation"]), correction(2, held_corr, []), correction(3, "<new@x>")]
    assert not is_held_out("<new@x>")

    split = make_split(corpus, fixes, holdout)

    train = {e.message.message_id: e.categories for e in split.train.examples}
    test = {e.message.message_id: e.categories for e in split.test.examples}
    assert train == {kept: {"refund"}, relabeled: {"cancellation"}, "<new@x>": {"refund"}}
    assert test == {"<h1@x>": {"fee_dispute"}, "<h2@x>": set(), held_corr: set()}
    assert {e.message.message_id for e in split.independent.examples} == {"<h1@x>", "<h2@x>"}
    assert [c.message_id for c in split.held_out] == [held_corr] and len(split.trained) == 2
    assert split.train.sha256 != corpus.sha256 and make_split(corpus, fixes, holdout).train.sha256 == split.train.sha256


def test_without_learning_the_corrections_are_still_measured_on_but_not_trained_on():
    [trained_side] = ids_on_side(False, 1)
    [held_side] = ids_on_side(True, 1)
    corpus = labeled((trained_side, {"refund"}), (held_side, {"refund"}))
    split = make_split(corpus, [correction(1, trained_side, []), correction(2, held_side, [])], None, learn=False)
    assert {e.message.message_id: e.categories for e in split.train.examples} == {trained_side: {"refund"}}
    assert {e.message.message_id: e.categories for e in split.test.examples} == {held_side: set()}
    assert split.trained == () and not split.learned


def f1(value: float) -> dict:
    return {"macro_f1": value}


@pytest.mark.parametrize("ours, theirs, ours_independent, theirs_independent, accepted, words", [
    (0.80, 0.80, 0.80, 0.80, True, "not worse"),  # a tie is not worse
    (0.81, 0.80, 0.80 - INDEPENDENT_TOLERANCE, 0.80, True, "not worse"),  # retraining churn
    (0.79, 0.80, 0.85, 0.80, False, "held-out macro-F1 0.790 < 0.800"),
    # Better on the whole held-out set only thanks to the corrections' own held-out
    # fifth, but clearly worse on the mail labeled by others: a bad batch.
    (0.82, 0.80, 0.78, 0.80, False, "independently labeled mail 0.780 < 0.800"),
])
def test_the_activation_rule(ours, theirs, ours_independent, theirs_independent, accepted, words):
    decided, why = verdict(f1(ours), f1(theirs), f1(ours_independent), f1(theirs_independent))
    assert decided is accepted and words in why


# -- when the service retrains ----------------------------------------------------------

def test_maybe_retrain_waits_for_enough_new_corrections(tmp_path, monkeypatch):
    state = tmp_path / "state.db"
    calls = []
    monkeypatch.setattr(learning, "retrain", lambda config, path, **kw: calls.append(path) or FakeOutcome())
    config = Config(model=ModelConfig(retrain_after_corrections=3))
    with CorrectionStore(state) as store:
        for n in range(2):
            store.record(message_id=f"<{n}@x>", before=[], after=["refund"], source="label-change", text="t")
        assert maybe_retrain(config, state) is False and calls == []
        store.record(message_id="<2@x>", before=[], after=["refund"], source="training-folder", text="t")
    assert maybe_retrain(config, state) is True and calls == [state]
    assert maybe_retrain(Config(model=ModelConfig(retrain_after_corrections=0)), state) is False and len(calls) == 1


class FakeOutcome:
    accepted = True

    def summary(self) -> str:
        return "fake"


# -- real training: a team's own word, and a bad batch -----------------------------------

NAMES = ["Priya", "Tom", "Keiko", "Luis", "Anna", "Omar", "Greta", "Sam", "Ines", "Bao"]
ITEMS = ["blender", "desk lamp", "rain jacket", "yoga mat", "kettle", "headphones", "backpack", "coffee grinder"]


def zorblax_mail(rng: random.Random) -> str:
    """Classifier text of a customer of a team whose shop calls a refund a "Zorblax
    credit" (a made-up word): nothing else in it says refund."""
    n, item, name = rng.randint(10000, 99999), rng.choice(ITEMS), rng.choice(NAMES)
    subject = rng.choice(["Zorblax credit", f"Zorblax credit for order {n}", f"order {n}", f"about order {n}",
                          f"my {item}", "Zorblax"])
    body = rng.choice([
        f"Hi, could you put a Zorblax credit through for order {n}? Thanks.",
        f"Hello, I'd like a Zorblax credit on the {item} from order {n}.",
        f"Please process a Zorblax credit for my {item}, order number {n}.",
        f"Hey there, can I get the Zorblax credit for the {item}? Order {n}.",
        f"Good morning. Order {n}, the {item}: Zorblax credit please.",
        f"Hi team, is the Zorblax credit for order {n} done yet? It was the {item}.",
    ])
    return f"{subject}\n{body}\n\n{name}"


def refund_rate(model, texts) -> float:
    return sum("refund" in model.decide(s) for s in model.scores(texts)) / len(texts)


@pytest.fixture(scope="module")
def small_corpus() -> LabeledSet:
    """Every fifth message of the corpus (about 290): quick to train, and the shipped
    model's data/holdout stays the held-out mail."""
    corpus = load_labeled(CORPUS_DIR)
    return LabeledSet(corpus.examples[::5], corpus.sha256, 0)


@pytest.mark.slow  # trains models for minutes; CI runs it (make test-slow)
def test_a_team_teaches_its_own_word_and_a_bad_batch_does_not_undo_it(small_corpus, tmp_path, capsys):
    state, config = tmp_path / "state.db", Config()
    holdout = load_labeled(HOLDOUT_DIR)
    registry = Registry.for_state(state)
    probe = [zorblax_mail(random.Random(1000 + i)) for i in range(20)]  # never recorded as corrections

    # The team's starting point: a model of the small corpus, made active by hand (it
    # loses to the shipped model, trained on five times as much mail).
    baseline = retrain(config, state, source=small_corpus, source_name="small", holdout=holdout, learn=False)
    assert not baseline.accepted and baseline.incumbent == SHIPPED
    registry.activate(baseline.entry.name)
    old = learning.incumbent(registry)[1]
    old_rate = refund_rate(old, probe)
    assert old_rate <= 0.5  # a credit for an order reads a little like a refund already

    # 30 people's corrections: "Zorblax credit" mail is a refund.
    rng = random.Random(1)
    with CorrectionStore(state) as store:
        for n in range(30):
            store.record(message_id=f"<zorblax-{n}@team.example>", before=[], after=["refund"], source="label-change",
                         text=zorblax_mail(rng))
    taught = retrain(config, state, source=small_corpus, source_name="small", holdout=holdout)
    assert taught.accepted and taught.incumbent == baseline.entry.name, taught.summary()
    assert registry.active_name() == taught.entry.name
    new = learning.incumbent(registry)[1]
    assert refund_rate(new, probe) >= max(0.9, old_rate + 0.3)
    card = taught.entry.card
    assert card["corrections"]["learned"] and card["corrections"]["trained_on"] + card["corrections"]["held_out"] == 30
    assert card["holdout"]["corrections"] == card["corrections"]["held_out"] > 0
    assert card["data"]["corpus_sha256"] == small_corpus.sha256 and card["data"]["sha256"] != small_corpus.sha256

    # Someone files every plain refund request the model knows as "other": the
    # retrained model is worse on the held-out mail, so it is kept in the registry but
    # the Zorblax model stays active.
    refunds = [e for e in small_corpus.examples if e.categories == {"refund"}]
    assert len(refunds) >= 30
    with CorrectionStore(state) as store:
        for example in refunds:
            store.record(message_id=example.message.message_id, before=["refund"], after=[], source="label-change",
                         text=example.message.classifier_text)
    spoiled = retrain(config, state, source=small_corpus, source_name="small", holdout=holdout)
    assert not spoiled.accepted and spoiled.incumbent == taught.entry.name, spoiled.summary()
    assert spoiled.candidate_f1 < spoiled.incumbent_f1
    assert registry.active_name() == taught.entry.name
    assert [e.name for e in registry.entries()] == [baseline.entry.name, taught.entry.name, spoiled.entry.name]

    # Every correction so far was considered: the service has nothing new to retrain on.
    assert registry.last_learned_correction() == 30 + len(refunds)
    assert maybe_retrain(Config(model=ModelConfig(retrain_after_corrections=1)), state) is False


# -- the command line ---------------------------------------------------------------------

def test_train_without_out_adds_a_model_to_the_registry(tmp_path, capsys):
    from triage.cli import main

    other = tmp_path / "other"  # a little held-out mail that is not the source
    for name in ("refund", "cancellation", "fee_dispute", "follow_up", "other"):
        (other / name).mkdir(parents=True)
        for path in sorted((CORPUS_DIR / name).iterdir())[:8]:
            (other / name / path.name).write_bytes(path.read_bytes())
    state = tmp_path / "state.db"
    argv = ["train", str(HOLDOUT_DIR), "--state", str(state), "--estimator", "lr_word"]

    assert main([*argv, "--holdout", str(other)]) == 0
    out = capsys.readouterr().out
    [entry] = Registry.for_state(state).entries()
    read, wrote = out.splitlines()
    assert read.startswith(f"read 326 messages from {HOLDOUT_DIR}: 270 used, 56 copies")  # what was read, and used
    assert wrote.startswith(f"wrote {entry.name} (270 messages, 0 of them corrections")
    assert "not activated, default stays active" in out  # the shipped model is far better
    assert Registry.for_state(state).active_name() is None

    assert main(argv) == 2  # the source is the bundled held-out mail itself
    assert "nothing to train on" in capsys.readouterr().err
    assert main(["train", "--state", str(state)]) == 2
    assert "train needs SOURCE" in capsys.readouterr().err


def test_train_to_a_file_with_corrections(tmp_path, capsys):
    from triage.cli import main
    from triage.model import load_model

    state, out = tmp_path / "state.db", tmp_path / "m.npz"
    rng = random.Random(5)
    with CorrectionStore(state) as store:
        for n in range(10):
            store.record(message_id=f"<z{n}@team.example>", before=[], after=["refund"], source="training-folder",
                         text=zorblax_mail(rng))
    assert main(["train", str(HOLDOUT_DIR), "--with-corrections", "--out", str(out), "--state", str(state),
                 "--estimator", "lr_word"]) == 0
    _, card = load_model(out)
    corrections = card["corrections"]
    assert corrections["learned"] and corrections["trained_on"] + corrections["held_out"] == 10
    assert corrections["sources"]["training-folder"] == corrections["trained_on"]
    assert card["data"]["messages"] == 270 + corrections["trained_on"]
    assert Registry.for_state(state).entries() == []  # --out writes outside the registry
    assert f"wrote {out}" in capsys.readouterr().out
