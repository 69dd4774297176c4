"""The data-only model format: what scikit-learn learned, scored in numpy to the same
numbers; a file that is data only, read only after its digest checks out."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, corpus_bodies

from triage import CATEGORIES, modelstore
from triage.errors import ModelError
from triage.evaluation import texts_and_targets
from triage.labeled import load_labeled
from triage.model import load_model, model_bytes, model_from_bytes, save_model
from triage.modelfile import card_path
from triage.modelstore import CORPUS_DIR, DEFAULT_MODEL, load_shipped
from triage.shipped_model import SHA256

ODD_TEXTS = ["", "   ", "a", "ÜBER straße  naïve\tcafé\n\nx", "refund refund refund", "x\u2028y\x1cz  \u00a0 w",
             "I want my money back!!! " * 200]


@pytest.fixture(scope="module")
def corpus_split():
    """600 corpus texts to fit on, the next 400 (and odd texts) to score."""
    texts, targets = texts_and_targets(load_labeled(CORPUS_DIR).examples)
    return texts[:600], targets[:600], texts[600:1000] + ODD_TEXTS


@pytest.fixture(scope="module")
def fitted(corpus_split):
    """Per estimator kind: the fitted scikit-learn pipeline and its export."""
    from triage.training import ESTIMATORS, build_pipeline, export_model

    texts, targets, _ = corpus_split
    result = {}
    for kind in ESTIMATORS:
        pipeline = build_pipeline(kind).fit(texts, targets)
        result[kind] = (pipeline, export_model(pipeline, dict.fromkeys(CATEGORIES, 0.5)))
    return result


@pytest.mark.parametrize("kind", ["lr_word", "lr_word_char", "svm_word_char"])
def test_the_exported_model_scores_as_scikit_learns_pipeline(fitted, corpus_split, kind):
    """Features (every block) and probabilities equal scikit-learn's on mail the model
    was not fitted on, twice: with a cold and a warm per-word cache."""
    pipeline, model = fitted[kind]
    unseen = corpus_split[2]
    reference_features = pipeline.named_steps["features"].transform(unseen).toarray()
    reference = pipeline.predict_proba(unseen)
    for _ in range(2):
        rows = model.features.transform(unseen)
        ours = np.hstack([part.toarray() for part in rows.parts])
        assert ours.shape == reference_features.shape
        assert np.abs(ours - reference_features).max() < 1e-12
        assert np.abs(model.probabilities(unseen) - reference).max() < 1e-9
    assert reference.std() > 0.1  # the texts are scored across the range, not all alike


def test_the_tone_word_head_scores_as_scikit_learns_classifier(fitted, corpus_split):
    from triage.training import export_heads, word_tone_classifier

    pipeline, model = fitted["lr_word_char"]
    texts, targets, unseen = corpus_split
    features = pipeline.named_steps["features"]
    classifier = word_tone_classifier().fit(features.transform(texts), targets[:, 0])
    head = export_heads([classifier], model.features.width)
    ours = head.probabilities(model.features.transform(unseen))[:, 0]
    assert np.abs(ours - classifier.predict_proba(features.transform(unseen))[:, 1]).max() < 1e-9


def test_a_saved_model_loads_to_the_same_scores_and_saves_to_the_same_bytes(fitted, corpus_split, tmp_path):
    shipped, _ = load_shipped()
    _, model = fitted["lr_word_char"]
    model.tone = shipped.tone  # not shared: the file then carries the tone's own features
    card = save_model(model, tmp_path / "m.npz", {"note": "test"})
    loaded, loaded_card = load_model(tmp_path / "m.npz")
    assert loaded_card == card and card["format_version"] == 1 and card["note"] == "test"
    unseen = corpus_split[2]
    assert np.array_equal(loaded.probabilities(unseen), model.probabilities(unseen))
    assert loaded.tone.scores(unseen) == shipped.tone.scores(unseen)
    assert not loaded.tone.shares_features_with(loaded.features)
    assert model_bytes(loaded) == (tmp_path / "m.npz").read_bytes()  # deterministic: same model, same bytes


def test_the_shipped_model_scores_the_samples_as_when_it_was_built():
    """The reference was written by `make model`; any numpy and scikit-learn the package
    allows must reproduce it (scripts/check_sklearn_range.sh runs this test too)."""
    reference = json.loads((ROOT / "tests" / "fixtures" / "shipped_model_scores.json").read_text(encoding="utf-8"))
    model, card = load_shipped()
    assert list(model.labels) == reference["labels"] and card["sha256"] == SHA256
    texts = [row["text"] for row in reference["rows"]]
    expected = np.array([row["categories"] for row in reference["rows"]])
    assert len(texts) >= 30 and np.abs(model.probabilities(texts) - expected).max() < 1e-9
    assert model.tone.scores(texts) == [row["tone"] for row in reference["rows"]]


def test_the_shipped_card_says_the_format_and_how_it_was_made():
    card = json.loads(card_path(DEFAULT_MODEL).read_text())
    assert card["format"] == "triage-model" and card["format_version"] == 1 and card["file"] == "default.npz"
    assert card["sha256"] == SHA256 and card["data"]["source"] == "data/corpus"
    for key in ("sklearn_version", "labels", "thresholds", "cross_validation", "holdout", "tone"):
        assert key in card


# -- loading runs no code -------------------------------------------------------------------

class Trap:
    """Unpickling this creates ``path``: proof that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_model_file_holding_a_pickled_object_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    data = io.BytesIO()
    np.savez(data, meta=np.frombuffer(b"{}", dtype=np.uint8), trap=np.array([Trap(marker)], dtype=object))
    path = tmp_path / "evil.npz"
    path.write_bytes(data.getvalue())
    card_path(path).write_text(json.dumps({"sha256": hashlib.sha256(data.getvalue()).hexdigest()}))
    with pytest.raises(ModelError, match="not a triage model file"):
        load_model(path)
    assert not marker.exists()


def test_a_tampered_shipped_model_with_a_recomputed_card_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """The card is no authority: the digest compiled into the package is."""
    model, card = load_shipped()
    model.thresholds = dict.fromkeys(model.labels, 0.01)  # everything a refund, a cancellation …
    tampered = tmp_path / "default.npz"
    save_model(model, tampered, card)  # a fresh card with the new file's sha256
    monkeypatch.setattr(modelstore, "DEFAULT_MODEL", tampered)
    parsed = []
    monkeypatch.setattr("triage.model.model_from_bytes", lambda data: parsed.append(data))
    with pytest.raises(ModelError, match="recorded when the model was saved"):
        modelstore.resolve_model(None)
    assert parsed == []


def test_a_model_file_that_is_not_one_is_a_clear_error(tmp_path):
    path = tmp_path / "m.npz"
    for data in (b"not a zip", model_bytes(load_shipped()[0])[:5000]):
        path.write_bytes(data)
        card_path(path).write_text(json.dumps({"sha256": hashlib.sha256(data).hexdigest()}))
        with pytest.raises(ModelError, match="not a triage model file"):
            load_model(path)
    with pytest.raises(ValueError, match="format version"):
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as archive:
            with archive.open("meta.npy", "w") as member:
                meta = json.dumps({"format": "triage-model", "format_version": 99}).encode()
                np.lib.format.write_array(member, np.frombuffer(meta, dtype=np.uint8))
        model_from_bytes(data.getvalue())


def crafted_model(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    """A model file of ``members`` with a card whose digest matches (anyone can write both)."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    path.write_bytes(data.getvalue())
    card_path(path).write_text(json.dumps({"sha256": hashlib.sha256(data.getvalue()).hexdigest()}))
    return path


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    return header.getvalue()


def test_a_model_file_declaring_a_huge_array_is_a_clear_error_before_anything_is_allocated(tmp_path, capsys):
    """numpy allocates what an array's header declares before it reads: 745 GiB declared
    in 64 bytes was a MemoryError traceback (or, with overcommit, the machine's memory)."""
    from triage.cli import main

    huge = crafted_model(tmp_path / "huge.npz", {"meta.npy": npy_header((100_000_000_000,)) + bytes(64)})
    inbox = ROOT / "samples" / "inbox"
    assert main(["once", str(inbox), "--state", str(tmp_path / "s.db"), "--model", str(huge)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"triage: error: {huge}: not a triage model file of format 1 (meta.npy declares "
                           "800,000,000,000 bytes of data and holds 64); retrain it with `triage train`")


def test_a_model_file_whose_arrays_unpack_beyond_the_size_limit_is_refused_unread(tmp_path):
    from triage.model import MAX_MODEL_BYTES

    content = npy_header((MAX_MODEL_BYTES // 8 + 1,)) + bytes(MAX_MODEL_BYTES + 8)
    bomb = crafted_model(tmp_path / "bomb.npz", {"meta.npy": content}, zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(ModelError, match="unpack to more than 256 MiB"):
        load_model(bomb)


def test_a_legacy_pickle_model_is_refused_unread(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "old.joblib"
    path.write_bytes(pickle.dumps(Trap(marker)))
    with pytest.raises(ModelError, match=r"old pickle format.*retrain"):
        load_model(path)
    assert not marker.exists()


def test_triage_once_imports_neither_scikit_learn_nor_scipy(tmp_path):
    empty = tmp_path / "inbox"
    for sub in ("cur", "new", "tmp"):
        (empty / sub).mkdir(parents=True)
    script = ("import sys; from triage.cli import main; "
              f"code = main(['once', {str(empty)!r}, '--state', {str(tmp_path / 's.db')!r}]); "
              "loaded = sorted(m for m in ('sklearn', 'scipy', 'joblib') if m in sys.modules); "
              "print(code, loaded)")
    import triage

    importable = {**os.environ, "PYTHONPATH": str(Path(triage.__file__).parent.parent)}  # this very triage
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                            env=importable, check=True)
    assert result.stdout.strip().splitlines()[-1] == "0 []", result.stdout + result.stderr


def test_character_blocks_match_on_real_mail_bodies(fitted):
    """Long real bodies (up to 20,000 characters) through the whole feature side."""
    pipeline, model = fitted["lr_word_char"]
    bodies = corpus_bodies(every=7)
    reference = pipeline.named_steps["features"].transform(bodies).toarray()
    ours = np.hstack([part.toarray() for part in model.features.transform(bodies).parts])
    assert np.abs(ours - reference).max() < 1e-12


# -- a dense block can be appended --------------------------------------------------------------

class LengthBlock:
    """A toy dense block (as a sentence embedding would be): text -> 2 numbers."""

    kind = "test_length"
    width = 2

    def __init__(self, name="length", weight=0.5, scale=None):
        self.name, self.weight = name, weight
        self.scale = np.array([0.01, 0.1]) if scale is None else scale

    def transform(self, texts):
        return np.array([[len(t), t.count("!")] for t in texts], dtype=np.float64) * self.scale

    def meta(self):
        return {"name": self.name, "kind": self.kind, "weight": self.weight, "width": self.width}

    def arrays(self):
        return {"scale": self.scale}

    @classmethod
    def from_data(cls, meta, arrays):
        return cls(meta["name"], meta["weight"], arrays["scale"])


def test_a_dense_block_appended_to_the_features_is_scored_saved_and_loaded(fitted, corpus_split, tmp_path, monkeypatch):
    from triage.features import BLOCK_KINDS, Features
    from triage.heads import LinearHeads
    from triage.model import CategoryModel

    _, sparse = fitted["lr_word_char"]
    monkeypatch.setitem(BLOCK_KINDS, LengthBlock.kind, LengthBlock)
    features = Features((*sparse.features.blocks, LengthBlock()))
    extra = np.array([[0.3, -0.2, 0.0, 0.1], [2.0, 0.0, -1.0, 0.5]])  # the dense block's rows of the coefficients
    heads = LinearHeads.logistic(np.vstack([sparse.heads.coef, extra]), sparse.heads.intercept)
    model = CategoryModel(features, heads, sparse.labels, sparse.thresholds, load_shipped()[0].tone)
    texts = corpus_split[2][:50]

    sparse_parts = [part.toarray() for part in sparse.features.transform(texts).parts]
    dense = np.hstack([*sparse_parts, 0.5 * LengthBlock().transform(texts)])
    expected = 1 / (1 + np.exp(-(dense @ heads.coef + heads.intercept)))
    assert np.abs(model.probabilities(texts) - expected).max() < 1e-12
    assert not np.allclose(model.probabilities(texts), sparse.probabilities(texts))  # the block counts

    save_model(model, tmp_path / "dense.npz", {})
    loaded, _ = load_model(tmp_path / "dense.npz")
    assert [b.kind for b in loaded.features.blocks] == ["tfidf_word", "tfidf_char_wb", "test_length"]
    assert np.array_equal(loaded.probabilities(texts), model.probabilities(texts))
    rows = loaded.features.transform(texts).select([3, 1])
    assert np.array_equal(rows.parts[2], loaded.features.blocks[2].transform([texts[3], texts[1]]))


def test_the_word_cache_starts_over_without_changing_a_number(fitted, corpus_split, monkeypatch):
    from triage import features

    pipeline, model = fitted["lr_word_char"]
    unseen = corpus_split[2][:60]
    expected = model.probabilities(unseen)
    monkeypatch.setattr(features, "CACHED_WORDS", 50)  # cleared before nearly every batch
    for start in range(0, 60, 7):
        assert np.abs(model.probabilities(unseen[start:start + 7]) - expected[start:start + 7]).max() < 1e-12
    assert np.abs(model.probabilities(unseen) - pipeline.predict_proba(unseen)).max() < 1e-9


# -- the word block finds its n-grams by token ids ---------------------------------------------

def _string_gram_rows(block, texts):
    """The word block's rows the plain way: every n-gram as a string, looked up."""
    from triage.features import _TOKENS, tfidf_rows

    low, high = block.ngram_range
    rows, columns = [], []
    for row, text in enumerate(texts):
        tokens = _TOKENS.findall(block._text(text))
        for n in range(low, high + 1):
            for start in range(len(tokens) - n + 1):
                column = block.vocabulary.get(" ".join(tokens[start:start + n]))
                if column is not None:
                    rows.append(row)
                    columns.append(column)
    return tfidf_rows(np.array(rows, dtype=np.int64), np.array(columns, dtype=np.int64), len(texts), block.idf,
                      sublinear_tf=block.sublinear_tf)


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (2, 2), (1, 3), (2, 3), (3, 3)])
def test_the_word_block_rows_are_those_of_its_n_gram_strings_bit_for_bit(corpus_split, ngram_range):
    """Unigrams and bigrams found by token ids (``TokenPairs``) give exactly the rows the
    n-gram strings give, so no score moves in its last bit; and scikit-learn's to 1e-12."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from triage.textprep import normalise
    from triage.training import export_vectorizer

    texts, _, unseen = corpus_split
    unseen = unseen + ["refund refund", "the the the the", "a b c d", "order order number number order"]
    vectorizer = TfidfVectorizer(preprocessor=normalise, ngram_range=ngram_range, sublinear_tf=True, min_df=2)
    vectorizer.fit(texts)
    block = export_vectorizer("word", vectorizer)
    for batch in (unseen, unseen[:1], unseen[-5:], []):
        ours, plain = block.transform(batch), _string_gram_rows(block, batch)
        for part in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(ours, part), getattr(plain, part))
    assert np.abs(block.transform(unseen).toarray() - vectorizer.transform(unseen).toarray()).max() < 1e-12
