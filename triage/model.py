"""The category model and its file format: data, never code.

A model is feature blocks (:mod:`triage.features`), linear heads (:mod:`triage.heads`),
per-category decision thresholds and the tone model that travels with it. Inference is
numpy and triage's own text code: scikit-learn is needed to *train* (:mod:`triage.training`
fits with it and exports to this form), never to load or score.

The file (``NAME.npz``) is a zip of ``.npy`` arrays written with numpy: every learned
array (vocabularies as UTF-8 bytes, idf weights, head coefficients, cue
weights) and ``meta``, the UTF-8 bytes of a JSON document (format version, labels,
thresholds, block settings, preprocessing limits). Loading reads it with
``np.load(allow_pickle=False)`` and ``json``: no object in it can run code. Beside it sits
the human-readable card ``NAME.card.json`` (scores, data hashes, versions).

The arrays, by name (format version 1):

- ``meta``: the JSON document, as uint8;
- ``features.BLOCK.*``: each feature block's arrays, named in ``meta["features"]`` (for
  TF-IDF blocks ``terms``, the vocabulary in column order as UTF-8 with ``\n`` between
  terms, and ``idf``);
- ``categories.{coef,intercept,scale,shift,output}``: the category heads
  (:class:`~triage.heads.LinearHeads`, one output per label in ``meta["labels"]``);
- ``tone.words.*``: the tone word head, over the category features when
  ``meta["tone"]["features"]`` is ``"shared"``, else over ``tone.features.BLOCK.*``;
- ``tone.cues.weights`` and ``tone.cues.intercept``: the lexicon-and-cues weights, in the
  order ``meta["tone"]["cue_features"]`` names.

Integrity: :func:`load_model` reads the file once, hashes those bytes and compares the
digest with the card's, and with ``expected_sha256`` when the caller holds a record the
models folder cannot forge (:mod:`triage.modelstore`, :mod:`triage.registry`) — before
parsing a byte of it. The old pickle format (``.joblib``) is refused, never unpickled.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from triage import CATEGORIES
from triage.errors import ModelError
from triage.features import Features, block_from
from triage.heads import LinearHeads
from triage.language import sure_categories
from triage.modelfile import SUFFIX, card_path, check_model_file, read_card, sha256_of, sync_folder, write_synced
from triage.textprep import MAX_MODEL_CHARS
from triage.tone import FEATURES as CUE_FEATURES
from triage.tone import MAX_TONE_CHARS, CueWeights, ToneModel

FORMAT = "triage-model"
FORMAT_VERSION = 1
"""Raised when the meaning of the arrays or the metadata changes; older files are refused."""
MAX_MODEL_BYTES = 256 << 20
"""Larger files are refused unread (the shipped model is a few MB)."""
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(eq=False)
class CategoryModel:
    """Features, one head per category, the per-label probability thresholds that turn
    scores into categories, and the tone model that travels with it (one file, one card,
    one hash)."""

    features: Features
    heads: LinearHeads
    labels: tuple[str, ...] = CATEGORIES
    thresholds: dict[str, float] = field(default_factory=lambda: {name: 0.5 for name in CATEGORIES})
    tone: ToneModel | None = None
    languages: frozenset[str] | None = None
    """The languages the training data covers (:func:`triage.language.coverage`): mail
    in another language gets no category guessed. None: not recorded, no check."""

    def covers(self, language: str) -> bool:
        """Whether the model may decide categories for mail in ``language`` (an ISO 639-1
        code, or "und" when undetermined, which is given the benefit of the doubt)."""
        return self.languages is None or language == "und" or language in self.languages

    def __post_init__(self) -> None:
        if self.heads.outputs != len(self.labels) or self.heads.width != self.features.width:
            raise ValueError(f"{self.heads.outputs} heads over {self.heads.width} columns do not fit "
                             f"{len(self.labels)} labels over {self.features.width} feature columns")

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """An ``(n, labels)`` array of category probabilities, unrounded."""
        return self.heads.probabilities(self.features.transform(texts))

    def scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Category -> probability for each text."""
        if not texts:
            return []
        return self._scores(self.heads.probabilities(self.features.transform(texts)))

    def scores_and_tone(self, texts: Sequence[str], tone_wanted: Sequence[bool]) -> tuple[list[dict[str, float]], list[float]]:
        """Category scores for every text, and the tone of those where ``tone_wanted``
        (0.0 elsewhere), vectorising each text once when the tone model shares this
        model's features. Needs :attr:`tone`."""
        if self.tone is None:
            raise ModelError("this model carries no tone model")
        texts = list(texts)
        if not texts:
            return [], []
        rows = self.features.transform(texts)
        wanted = [i for i, want in enumerate(tone_wanted) if want]
        if not self.tone.shares_features_with(self.features):
            tones = self.tone.scores([texts[i] for i in wanted])
            categories = self.heads.probabilities(rows)
        else:  # one pass over the rows for the category and the tone heads' columns
            products = rows.dot(self._joint_coef)
            members = self.heads.coef.shape[1]
            categories = self.heads.from_products(products[:, :members])
            word_scores = self.tone.words.from_products(products[wanted, members:])[:, 0] if wanted else []
            tones = self.tone.blended([texts[i] for i in wanted], word_scores)
        by_row = dict(zip(wanted, tones))
        return self._scores(categories), [by_row.get(i, 0.0) for i in range(len(texts))]

    @property
    def _joint_coef(self) -> np.ndarray:
        """The category heads' columns and the tone word head's, side by side (made once
        per tone model)."""
        made = self.__dict__.get("_joint")
        if made is None or made[0] is not self.heads or made[1] is not self.tone.words:
            made = self.__dict__["_joint"] = (self.heads, self.tone.words,
                                              np.ascontiguousarray(np.hstack([self.heads.coef, self.tone.words.coef])))
        return made[2]

    def _scores(self, probabilities: np.ndarray) -> list[dict[str, float]]:
        return [{label: round(float(p), 4) for label, p in zip(self.labels, row)} for row in probabilities]

    def decide(self, scores: dict[str, float]) -> list[str]:
        """The categories whose probability reaches its threshold, in canonical order."""
        return [label for label in self.labels if scores.get(label, 0.0) >= self.thresholds.get(label, 0.5)]

    def decide_uncovered(self, scores: dict[str, float], language: str) -> list[str]:
        """The categories for a message in ``language``, one the model does not cover
        (:meth:`covers`): only what it is sure of, in a Latin-script language
        (:func:`triage.language.sure_categories`), in canonical order."""
        sure = set(sure_categories(language, scores))
        return [label for label in self.labels if label in sure]


# -- the file format ---------------------------------------------------------------------

def _features_data(features: Features, prefix: str) -> tuple[list[dict], dict[str, np.ndarray]]:
    metas, arrays = [], {}
    for block in features.blocks:
        metas.append(block.meta())
        arrays.update({f"{prefix}.{block.name}.{key}": value for key, value in block.arrays().items()})
    return metas, arrays


def _features_from(metas: list, arrays: dict[str, np.ndarray], prefix: str) -> Features:
    blocks = []
    for meta in metas:
        own = f"{prefix}.{meta['name']}."
        blocks.append(block_from(meta, {key[len(own):]: value for key, value in arrays.items() if key.startswith(own)}))
    if len({block.name for block in blocks}) != len(blocks):
        raise ValueError("two feature blocks share a name")
    return Features(tuple(blocks))


def model_data(model: CategoryModel) -> tuple[dict, dict[str, np.ndarray]]:
    """The model as (metadata, arrays): what the file holds."""
    if model.tone is None:
        raise ModelError("a model file needs a tone model")
    features_meta, arrays = _features_data(model.features, "features")
    arrays.update({f"categories.{key}": value for key, value in model.heads.arrays().items()})
    tone = model.tone
    if tone.shares_features_with(model.features):
        tone_features = "shared"
    else:
        tone_features, tone_arrays = _features_data(tone.features, "tone.features")
        arrays.update(tone_arrays)
    arrays.update({f"tone.words.{key}": value for key, value in tone.words.arrays().items()})
    arrays["tone.cues.weights"] = np.array(tone.cues.weights, dtype=np.float64)
    arrays["tone.cues.intercept"] = np.array([tone.cues.intercept], dtype=np.float64)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "labels": list(model.labels),
        "thresholds": {label: float(model.thresholds[label]) for label in model.labels},
        "preprocessing": {"max_model_chars": MAX_MODEL_CHARS, "max_tone_chars": MAX_TONE_CHARS},
        "features": features_meta,
        "categories": {"outputs": model.heads.outputs},
        "tone": {"features": tone_features, "word_share": tone.word_share, "cue_features": list(CUE_FEATURES)},
    }
    if model.languages is not None:
        meta["languages"] = sorted(model.languages)
    return meta, arrays


def model_bytes(model: CategoryModel) -> bytes:
    """The model file's bytes: an uncompressed ``.npz`` (it loads in a third of the time
    of a deflated one; wheels and git compress it anyway) with fixed timestamps, so one
    model always gives the same bytes (and the same sha256)."""
    meta, arrays = model_data(model)
    arrays = {"meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8), **arrays}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE)
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(arrays[key]), allow_pickle=False)
    return buffer.getvalue()


def check_declared_sizes(data: bytes) -> None:
    """ValueError when an array of the model file's bytes declares more data than the file
    holds for it, or the arrays together more than :data:`MAX_MODEL_BYTES`. numpy
    allocates what an array's header declares before it reads a byte: a crafted file
    declaring 745 GiB in a few bytes was a MemoryError (or, with overcommit, a process
    taking the machine's memory)."""
    total = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            total += info.file_size
            if total > MAX_MODEL_BYTES:
                raise ValueError(f"its arrays unpack to more than {MAX_MODEL_BYTES >> 20} MiB")
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    raise ValueError(f"{info.filename}: array format {version} is not one triage writes")
                declared = math.prod(shape) * dtype.itemsize
                if declared > info.file_size - member.tell():
                    raise ValueError(f"{info.filename} declares {declared:,} bytes of data and holds "
                                     f"{max(info.file_size - member.tell(), 0):,}")


def model_from_bytes(data: bytes) -> CategoryModel:
    """Parse a model file's bytes (numpy arrays and JSON only); ValueError/KeyError when
    they are not a model of this format (:func:`check_declared_sizes` first)."""
    check_declared_sizes(data)
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError("no triage model metadata")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"format version {meta.get('format_version')}, this triage reads {FORMAT_VERSION}")
    prep = meta["preprocessing"]
    if (prep["max_model_chars"], prep["max_tone_chars"]) != (MAX_MODEL_CHARS, MAX_TONE_CHARS) \
            or meta["tone"]["cue_features"] != list(CUE_FEATURES):
        raise ValueError("made for another text preparation or tone cues than this triage's")
    labels = tuple(str(label) for label in meta["labels"])
    thresholds = {label: float(meta["thresholds"][label]) for label in labels}
    features = _features_from(meta["features"], arrays, "features")
    heads = LinearHeads.from_arrays({key.removeprefix("categories."): value for key, value in arrays.items()
                                     if key.startswith("categories.")}, meta["categories"]["outputs"])
    tone_meta = meta["tone"]
    tone_features = features if tone_meta["features"] == "shared" else \
        _features_from(tone_meta["features"], arrays, "tone.features")
    words = LinearHeads.from_arrays({key.removeprefix("tone.words."): value for key, value in arrays.items()
                                     if key.startswith("tone.words.")}, 1)
    if words.width != tone_features.width:
        raise ValueError("the tone word head does not fit its features")
    weights = arrays["tone.cues.weights"].astype(np.float64)
    if weights.shape != (len(CUE_FEATURES),):
        raise ValueError("cue weights do not fit the cue features")
    cues = CueWeights(tuple(float(w) for w in weights), float(arrays["tone.cues.intercept"].reshape(-1)[0]))
    tone = ToneModel(tone_features, words, cues, float(tone_meta["word_share"]))
    languages = frozenset(str(code) for code in meta["languages"]) if "languages" in meta else None
    return CategoryModel(features, heads, labels, thresholds, tone, languages)


def save_model(model: CategoryModel, path: str | Path, card: dict) -> dict:
    """Write the model and its card; the card gains the file's name, sha256, format
    version, labels and thresholds. Returns the card."""
    path = Path(path)
    if path.suffix != SUFFIX:
        raise ModelError(f"{path}: a model file is named NAME{SUFFIX}")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = model_bytes(model)
    write_synced(path, data)
    card = {
        **card,
        "file": path.name,
        "sha256": sha256_of(data),
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "labels": list(model.labels),
        "thresholds": model.thresholds,
    }
    write_synced(card_path(path), (json.dumps(card, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    sync_folder(path.parent)
    return card


def load_model(path: str | Path, expected_sha256: str | None = None) -> tuple[CategoryModel, dict]:
    """Load a model file and its card. The file is read once; its sha256 must match the
    card's and, when given, ``expected_sha256`` (a record kept outside the models
    folder), before any of it is parsed."""
    path = check_model_file(path)
    card = read_card(path)
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise ModelError(f"{path}: larger than {MAX_MODEL_BYTES >> 20} MiB; not a triage model")
    data = path.read_bytes()
    actual = sha256_of(data)
    if expected_sha256 is not None and actual != expected_sha256:
        raise ModelError(f"{path}: sha256 {actual[:12]}… is not the {expected_sha256[:12]}… recorded when the model "
                         "was saved; the file was changed or replaced, refusing to read it")
    if card.get("sha256") != actual:
        raise ModelError(f"{path}: sha256 {actual[:12]}… does not match its card ({str(card.get('sha256'))[:12]}…); "
                         "the file was changed or replaced, refusing to read it")
    try:
        model = model_from_bytes(data)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: not a triage model file of format {FORMAT_VERSION} ({exc}); "
                         "retrain it with `triage train`") from None
    return model, card
