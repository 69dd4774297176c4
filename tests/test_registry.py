"""The model registry: listing, the active pointer, rollback, which model a run uses, and
the rule that activates a new model only when it is not worse on the same held-out set."""

import json
import os

import numpy as np
import pytest

from triage import CATEGORIES

from triage.cli import main
from triage.errors import ModelError
from triage.evaluation import evaluate, texts_and_targets
from triage.labeled import load_labeled
from triage.learning import compete, incumbent, make_split
from triage.model import save_model
from triage.modelfile import card_path
from triage.modelstore import DEFAULT_MODEL, HOLDOUT_DIR, resolve_model
from triage.registry import SHIPPED, Registry, models_dir
from triage.training import build_pipeline, export_model

CREATED = "2026-11-2{}T10:00:00+00:00"


@pytest.fixture(scope="module")
def holdout():
    return load_labeled(HOLDOUT_DIR)


@pytest.fixture(scope="module")
def models(holdout):
    """Two quick models: ``good`` fitted on the held-out mail itself (so it beats the
    shipped model there), ``bad`` fitted on labels shifted by one message (noise)."""
    tone = resolve_model(None)[0].tone
    texts, targets = texts_and_targets(holdout.examples)

    def fit(y):
        return export_model(build_pipeline("lr_word").fit(texts, y), dict.fromkeys(CATEGORIES, 0.5), tone)

    return {"good": fit(targets), "bad": fit(np.roll(targets, 1, axis=0))}


@pytest.fixture
def state(tmp_path):
    return tmp_path / "state" / "state.db"


def card(day: int, held: dict | None = None, cv: float = 0.8) -> dict:
    result = {"created": CREATED.format(day), "estimator": "lr_word",
              "data": {"source": "test", "counts": {"refund": 1}, "sha256": "0"},
              "cross_validation": {"macro_f1": cv, "messages": 270}}
    if held is not None:
        result["holdout"] = held
    return result


def test_a_new_model_is_saved_with_its_card_and_activated_on_request(models, state):
    registry = Registry.for_state(state)
    assert registry.root == state.parent / "models" == models_dir(state)
    assert registry.entries() == [] and registry.active_name() is None
    entry = registry.add(models["good"], card(1), activate=True)
    assert entry.name == "model-20261121T100000Z" and entry.path.is_file() and card_path(entry.path).is_file()
    assert registry.active_name() == entry.name
    _, loaded_card = resolve_model(None, registry)
    assert loaded_card["sha256"] == entry.card["sha256"]


def test_a_new_model_is_on_the_disk_before_the_registry_records_it_and_points_at_it(models, state, monkeypatch):
    """The model and its card were written and never flushed: made active just before a
    power cut, the model could come back empty (ext4 gives a new file its blocks late),
    its digest no longer matched, and `triage run` exited 2 at every start, which systemd
    does not restart. Both are on the disk, and the folder's entries with them, before
    the pointer names the model."""
    events: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def synced(fd: int) -> None:
        events.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def replaced(source, target) -> None:
        events.append(("replace", os.path.realpath(target)))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(os, "replace", replaced)
    entry = Registry.for_state(state).add(models["good"], card(1), activate=True)
    folder = os.path.realpath(entry.path.parent)
    pointed = events.index(("replace", os.path.join(folder, "active.json")))
    for path in (entry.path, card_path(entry.path), entry.path.parent / "active.tmp"):
        assert ("fsync", os.path.realpath(path)) in events[:pointed], (path, events)
    assert ("fsync", folder) in events[:pointed] and ("fsync", folder) in events[pointed:]


def test_models_made_in_the_same_second_get_distinct_names_in_order(models, state):
    registry = Registry.for_state(state)
    names = [registry.add(models["good"], card(1), activate=False).name for _ in range(3)]
    assert names == ["model-20261121T100000Z", "model-20261121T100000Z-2", "model-20261121T100000Z-3"]
    assert [e.name for e in registry.entries()] == names


def test_which_model_a_run_uses(models, state, tmp_path):
    registry = Registry.for_state(state)
    shipped_sha = json.loads(card_path(DEFAULT_MODEL).read_text())["sha256"]
    assert resolve_model(None, registry)[1]["sha256"] == shipped_sha  # nothing active: the shipped model
    active = registry.add(models["good"], card(1), activate=True)
    other = registry.add(models["bad"], card(2), activate=False)
    assert resolve_model(None, registry)[1]["sha256"] == active.card["sha256"]
    assert resolve_model(other.path, registry)[1]["sha256"] == other.card["sha256"]  # --model / [model] path first


def test_rollback_and_back_to_the_shipped_model(models, state, capsys):
    registry = Registry.for_state(state)
    first = registry.add(models["good"], card(1), activate=True)
    second = registry.add(models["bad"], card(2), activate=True)
    assert main(["models", "--state", str(state), "--rollback", first.name]) == 0
    assert registry.active_name() == first.name
    assert main(["models", "--state", str(state), "--rollback", SHIPPED]) == 0
    assert registry.active_name() is None
    assert main(["models", "--state", str(state), "--rollback", "model-nope"]) == 2
    err = capsys.readouterr().err
    assert "no model 'model-nope'" in err and first.name in err and second.name in err


def test_a_changed_registry_model_is_refused_to_run_and_to_roll_back_to(models, state):
    registry = Registry.for_state(state)
    entry = registry.add(models["good"], card(1), activate=True)
    with entry.path.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelError, match="recorded when the model was saved"):
        resolve_model(None, registry)
    registry.activate(SHIPPED)
    with pytest.raises(ModelError, match="recorded when the model was saved"):
        registry.activate(entry.name)
    assert registry.active_name() is None
    # The retraining compares with the shipped model instead of failing.
    registry._point_at(entry.name)
    assert incumbent(registry)[0] == SHIPPED


def test_models_lists_the_shipped_and_trained_models_with_the_active_one_marked(models, state, capsys):
    registry = Registry.for_state(state)
    first = registry.add(models["good"], card(1, {"macro_f1": 0.91}, cv=0.82), activate=True)
    second = registry.add(models["bad"], {**card(2, {"macro_f1": 0.4}), "activation": {
        "accepted": False, "compared_with": first.name, "incumbent_macro_f1": 0.91, "reason": "held-out macro-F1 0.400 < 0.910"}},
        activate=False)
    assert main(["models", "--state", str(state)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "name" in lines[0] and "CV F1" in lines[0] and "held-out F1" in lines[0]
    rows = {line.split()[0 if line.startswith(" ") else 1]: line for line in lines[1:]}
    assert rows[first.name].startswith("* ") and "0.820" in rows[first.name] and "0.910" in rows[first.name]
    assert rows[SHIPPED].startswith("  ") and rows[second.name].startswith("  ")
    assert f"not activated at training, against {first.name}: held-out macro-F1 0.400 < 0.910" in rows[second.name]

    assert main(["models", "--state", str(state), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in listed] == [SHIPPED, first.name, second.name]
    assert [r["active"] for r in listed] == [False, True, False]
    assert listed[1]["holdout_macro_f1"] == 0.91 and listed[1]["messages"] == 270
    assert listed[1]["card"]["sha256"] == first.card["sha256"]
    assert listed[0]["holdout_macro_f1"] == json.loads(card_path(DEFAULT_MODEL).read_text())["holdout"]["macro_f1"]


def test_eval_and_once_use_the_active_model(models, state, holdout, capsys):
    registry = Registry.for_state(state)
    registry.add(models["bad"], card(1), activate=True)
    assert main(["eval", str(HOLDOUT_DIR), "--state", str(state), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["macro_f1"] == evaluate(models["bad"], holdout)["macro_f1"]


def test_a_new_model_is_activated_only_when_not_worse_on_the_same_held_out_set(models, state, holdout):
    registry = Registry.for_state(state)
    split = make_split(holdout, [], holdout)

    def contest(name: str, day: int):
        held = evaluate(models[name], split.test)
        return compete(registry, models[name], card(day, held), split, incumbent(registry))

    worse = contest("bad", 1)  # against the shipped model, which is far better on this set
    assert not worse.accepted and worse.incumbent == SHIPPED and worse.candidate_f1 < worse.incumbent_f1
    assert registry.active_name() is None and worse.entry.card["activation"]["accepted"] is False
    better = contest("good", 2)
    assert better.accepted and registry.active_name() == better.entry.name
    tie = contest("good", 3)  # the same scores: not worse, so it replaces the active one
    assert tie.accepted and tie.candidate_f1 == tie.incumbent_f1 and registry.active_name() == tie.entry.name
    again = contest("bad", 4)
    assert not again.accepted and again.incumbent == tie.entry.name and registry.active_name() == tie.entry.name
    assert [e.name for e in registry.entries()] == [worse.entry.name, better.entry.name, tie.entry.name,
                                                  again.entry.name]


def test_models_notes_that_a_model_path_in_the_config_wins(state, tmp_path, capsys):
    config = tmp_path / "t.toml"
    config.write_text('[model]\npath = "/some/model.npz"\n')
    assert main(["models", "--state", str(state), "--config", str(config)]) == 0
    assert "overrides the active model" in capsys.readouterr().err


# -- which files the registry trusts ----------------------------------------------------------

def test_a_tampered_registry_model_with_a_recomputed_card_is_refused_before_it_is_read(models, state, monkeypatch):
    """Someone who can write the models folder rewrites a model and its card together:
    the digest recorded in the state file, which the folder cannot forge, refuses it."""
    registry = Registry.for_state(state)
    entry = registry.add(models["good"], card(1), activate=True)
    save_model(models["bad"], entry.path, entry.card)  # new bytes, and a card that vouches for them
    parsed = []
    monkeypatch.setattr("triage.model.model_from_bytes", lambda data: parsed.append(data))
    with pytest.raises(ModelError, match="recorded when the model was saved"):
        resolve_model(None, registry)
    with pytest.raises(ModelError, match="recorded when the model was saved"):
        registry.activate(entry.name)
    assert parsed == []


def test_a_model_dropped_into_the_folder_is_not_loaded_by_name(models, state, tmp_path):
    registry = Registry.for_state(state)
    registry.add(models["good"], card(1), activate=False)
    dropped = save_model(models["bad"], registry.root / "model-dropped.npz", card(2))
    assert dropped["file"] == "model-dropped.npz"
    with pytest.raises(ModelError, match="never saved a model called model-dropped"):
        registry.activate("model-dropped")
    (registry.root / "active.json").write_text(json.dumps({"name": "model-dropped"}))
    with pytest.raises(ModelError, match="never saved a model called model-dropped"):
        resolve_model(None, registry)


@pytest.mark.parametrize("name", ["../m1", "/etc/m1", "..", ".hidden", "a/b", "", 7])
def test_active_json_and_rollback_take_plain_names_only(models, state, capsys, name):
    registry = Registry.for_state(state)
    registry.add(models["good"], card(1), activate=True)
    (registry.root / "active.json").write_text(json.dumps({"name": name}))
    with pytest.raises(ModelError, match=r"active.json.*is not a model name.*no paths"):
        resolve_model(None, registry)
    assert main(["once", str(tmp_inbox(state.parent)), "--state", str(state)]) == 2
    assert "is not a model name" in capsys.readouterr().err
    if isinstance(name, str) and name:
        assert main(["models", "--state", str(state), "--rollback", name]) == 2
        assert "is not a model name" in capsys.readouterr().err


def tmp_inbox(parent):
    inbox = parent / "inbox"
    for sub in ("cur", "new", "tmp"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    return inbox


def test_old_pickle_models_are_listed_as_such_and_never_unpickled(models, state, capsys):
    """A registry from before the data-only format: its ``.joblib`` models are reported
    (retrain), never loaded; runs that had one active say so clearly."""
    registry = Registry.for_state(state)
    registry.root.mkdir(parents=True)
    marker = state.parent / "ran"
    import pickle

    class Trap:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (registry.root / "model-20251001T000000Z.joblib").write_bytes(pickle.dumps(Trap()))
    (registry.root / "model-20251001T000000Z.card.json").write_text(json.dumps(card(1)))
    (registry.root / "active.json").write_text(json.dumps({"name": "model-20251001T000000Z"}))

    with pytest.raises(ModelError, match=r"old pickle format \(\.joblib\).*retrain"):
        resolve_model(None, registry)
    assert incumbent(registry)[0] == SHIPPED  # retraining compares with the shipped model instead
    assert main(["models", "--state", str(state), "--rollback", "model-20251001T000000Z"]) == 2
    assert "old pickle format" in capsys.readouterr().err
    assert main(["models", "--state", str(state)]) == 0
    listed = capsys.readouterr().out
    assert "old pickle format (.joblib): never loaded, retrain" in listed
    assert not marker.exists()


def test_model_commands_take_a_name_triage_models_lists(tmp_path, capsys):
    """`--model` takes a path or a registry name, and eval every SOURCE train takes."""
    from triage.modelstore import HOLDOUT_DIR

    state = tmp_path / "state.db"
    assert main(["eval", str(HOLDOUT_DIR), "--model", "default", "--state", str(state)]) == 0
    shipped = capsys.readouterr()
    assert "read 326 messages" in shipped.err and "macro" in shipped.out
    assert main(["once", str(HOLDOUT_DIR / "refund"), "--model", "default", "--state", str(state),
                 "--format", "jsonl"]) == 0
    capsys.readouterr()
    assert main(["eval", str(HOLDOUT_DIR), "--model", "model-nosuch", "--state", str(state)]) == 2
    err = capsys.readouterr().err
    assert "no model model-nosuch" in err and "known: default" in err


@pytest.mark.parametrize("command", ["eval", "train"])
def test_labeled_mail_of_which_nothing_can_be_read_is_a_clear_error(tmp_path, capsys, command):
    """eval ended in an IndexError traceback; train said every message was held out."""
    from triage.cli import main

    (tmp_path / "labeled" / "other").mkdir(parents=True)
    (tmp_path / "labeled" / "other" / "a.eml").write_bytes(b"garbage\x00\xff\n")
    (tmp_path / "labeled" / "other" / "b.eml").write_bytes(b"")
    extra = ["--out", str(tmp_path / "m.npz")] if command == "train" else []
    assert main([command, str(tmp_path / "labeled"), "--state", str(tmp_path / "s.db"), *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "held-out" not in err
    assert err.strip().splitlines()[-1].startswith("triage: error: ")
    assert "no message" in err.strip().splitlines()[-1]


@pytest.mark.parametrize("card", [
    {"created": 5},
    {"created": "2026-12-02T00:00:00+00:00", "corrections": "x"},
    {"created": "2026-12-02T00:00:00+00:00", "holdout": {"macro_f1": "0.9"}},
    {"created": "2026-12-02T00:00:00+00:00", "data": []},
])
def test_a_card_of_the_wrong_shape_in_the_models_folder_is_left_out_with_a_warning(tmp_path, capsys, card):
    """A hand-edited card (or another program's) ended `triage models` in a TypeError
    traceback (sorting an int among the dates, .get on a string)."""
    from triage.cli import main

    models = tmp_path / "models"
    models.mkdir()
    (models / "model-20261201T000000Z.card.json").write_text(json.dumps(card))
    (models / "model-20261201T000000Z.npz").write_bytes(b"PK")
    (models / "model-20261202T000000Z.card.json").write_text(json.dumps({"created": "2026-12-02T00:00:00+00:00"}))
    (models / "model-20261202T000000Z.npz").write_bytes(b"PK")
    assert main(["models", "--state", str(tmp_path / "s.db")]) == 0
    out, err = capsys.readouterr()
    assert "model-20261202T000000Z" in out and "model-20261201T000000Z" not in out
    assert "model-20261201T000000Z.card.json: left out: its card is not one triage wrote" in err
