"""Text -> feature rows in numpy: the feature side of a model, as a list of blocks.

Each block turns a batch of texts into rows of its own columns, and the model's linear
heads read the blocks side by side, each scaled by its weight — what scikit-learn's
``FeatureUnion`` does when it concatenates its transformers' outputs. Two kinds of block
exist today, both TF-IDF and both equal to scikit-learn's ``TfidfVectorizer.transform``
for the settings triage trains with (tested to 1e-12 in tests/test_model_format.py):

- ``tfidf_word``: word 1–2-grams of the normalised text (:func:`triage.textprep.normalise`);
- ``tfidf_char_wb``: character 3–5-grams inside word boundaries of its first 1,000
  characters. Such n-grams never cross a word, so a word always yields the same ones: the
  block remembers each word's vocabulary columns and a message becomes a concatenation
  of cached arrays (scikit-learn builds and looks up every n-gram string each time).

A block is data: its settings go to the model's JSON metadata (:meth:`meta`) and its
learned arrays (vocabulary, idf) to the model's ``.npz`` (:meth:`arrays`); :func:`block_from` rebuilds it.
A dense block (say, a sentence embedding) needs ``name``, ``kind``, ``width``, ``weight``,
``transform(texts) -> ndarray (n, width)``, ``meta()``, ``arrays()`` and a ``from_data``
classmethod, and an entry in :data:`BLOCK_KINDS`; the heads and the format take it as is.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from triage.textprep import normalise

CACHED_WORDS = 20_000
"""Words whose n-gram columns a character block remembers before it starts over (~4 MB).
Real mail's vocabulary never stops growing (names, order numbers, codes), so a bigger
cache only fills with words met once: at 50,000 an analysis worker was 12 MiB bigger
after 100,000 messages than after 10,000."""

TOKEN_PATTERN = r"(?u)\b\w\w+\b"
"""scikit-learn's default word token pattern, the one triage trains with."""

_TOKENS = re.compile(TOKEN_PATTERN)


@dataclass(frozen=True)
class SparseRows:
    """Rows of a sparse matrix in CSR form: row ``i`` holds ``data[indptr[i]:indptr[i+1]]``
    at columns ``indices[...]`` (sorted within a row)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    width: int

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def select(self, rows: Sequence[int]) -> SparseRows:
        """The given rows, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = np.diff(self.indptr)[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        take = np.repeat(self.indptr[rows] - indptr[:-1], lengths) + np.arange(indptr[-1])
        return SparseRows(indptr, self.indices[take], self.data[take], self.width)

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """``self @ weights`` for a dense ``(width, k)`` matrix: an ``(n, k)`` array."""
        out = np.zeros((len(self), weights.shape[1]))
        filled = np.flatnonzero(np.diff(self.indptr))
        if len(filled):
            # Rows are contiguous runs of entries: sum each run (empty rows have none).
            contributions = weights[self.indices] * self.data[:, None]
            out[filled] = np.add.reduceat(contributions, self.indptr[:-1][filled], axis=0)
        return out

    def toarray(self) -> np.ndarray:
        """The dense matrix (for tests and small batches)."""
        dense = np.zeros((len(self), self.width))
        rows = np.repeat(np.arange(len(self)), np.diff(self.indptr))
        dense[rows, self.indices] = self.data
        return dense


Rows = SparseRows | np.ndarray
"""What a block returns: sparse rows, or a dense ``(n, width)`` array."""


def _select(rows: Rows, which: Sequence[int]) -> Rows:
    return rows.select(which) if isinstance(rows, SparseRows) else rows[np.asarray(which, dtype=np.int64)]


def _dot(rows: Rows, weights: np.ndarray) -> np.ndarray:
    return rows.dot(weights) if isinstance(rows, SparseRows) else rows @ weights


def tfidf_rows(row_of: np.ndarray, columns: np.ndarray, n_rows: int, idf: np.ndarray, *,
               sublinear_tf: bool) -> SparseRows:
    """L2-normalised TF-IDF rows from one (row, column) pair per occurrence of a term,
    as ``TfidfTransformer`` computes them from term counts: tf = count (or 1 + ln count
    when ``sublinear_tf``), times idf, each row divided by its Euclidean norm."""
    width = len(idf)
    # 32-bit keys when they fit (a batch of 500 rows of 60,000 columns does): the sort in
    # np.unique, the most of this, takes half the time on half the bytes.
    key_type = np.int32 if n_rows * width < 2**31 else np.int64
    keys, counts = np.unique(row_of.astype(key_type) * key_type(width) + columns.astype(key_type),
                             return_counts=True)
    rows, columns = np.divmod(keys.astype(np.int64), width)
    values = counts.astype(np.float64)
    if sublinear_tf:
        np.log(values, out=values)
        values += 1
    values *= idf[columns]
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n_rows))
    values /= norms[rows]  # every stored value is > 0, so a row with entries has a norm
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return SparseRows(indptr, columns, values, width)


class Block(Protocol):
    """One group of feature columns (see the module notes)."""

    name: str
    kind: str
    weight: float

    @property
    def width(self) -> int: ...

    def transform(self, texts: Sequence[str]) -> Rows: ...

    def meta(self) -> dict: ...

    def arrays(self) -> dict[str, np.ndarray]: ...


TERM_SEPARATOR = "\n"
"""Between the terms of a packed vocabulary: no term holds it (word n-grams join tokens
with a space, character n-grams come from whitespace-split words)."""


def pack_terms(terms: Sequence[str]) -> np.ndarray:
    """A vocabulary in column order as one plain array: the UTF-8 bytes of the terms,
    separated by :data:`TERM_SEPARATOR`."""
    if any(TERM_SEPARATOR in term or not term for term in terms):
        raise ValueError("a term is empty or holds the term separator")
    return np.frombuffer(TERM_SEPARATOR.join(terms).encode("utf-8"), dtype=np.uint8)


def unpack_terms(blob: np.ndarray, count: int) -> list[str]:
    """Inverse of :func:`pack_terms`; ValueError when the blob does not hold ``count`` terms."""
    terms = blob.tobytes().decode("utf-8").split(TERM_SEPARATOR) if count else []
    if len(terms) != count:
        raise ValueError(f"{len(terms)} terms where {count} were expected")
    return terms


@dataclass(eq=False)
class _TfidfBlock:
    """What both TF-IDF blocks share: vocabulary (term -> column), idf weights, settings."""

    name: str
    terms: list[str]
    idf: np.ndarray
    ngram_range: tuple[int, int]
    sublinear_tf: bool = True
    head_chars: int | None = None
    """Only the first this many characters of the normalised text are read (None: all)."""
    weight: float = 1.0
    vocabulary: dict[str, int] = field(init=False, repr=False)

    kind = ""

    def __post_init__(self) -> None:
        if len(self.terms) != len(self.idf):
            raise ValueError(f"block {self.name}: {len(self.terms)} terms but {len(self.idf)} idf weights")
        self.vocabulary = dict(zip(self.terms, range(len(self.terms))))
        if len(self.vocabulary) != len(self.terms):
            raise ValueError(f"block {self.name}: a term is listed twice")

    @property
    def width(self) -> int:
        return len(self.terms)

    def _text(self, text: str) -> str:
        text = normalise(text)
        return text if self.head_chars is None else text[: self.head_chars]

    def meta(self) -> dict:
        """Settings for the model's metadata (the arrays go to :meth:`arrays`)."""
        return {"name": self.name, "kind": self.kind, "ngram_range": list(self.ngram_range),
                "sublinear_tf": self.sublinear_tf, "norm": "l2", "preprocessor": "normalise",
                "head_chars": self.head_chars, "weight": self.weight, "width": self.width}

    def arrays(self) -> dict[str, np.ndarray]:
        """The learned arrays: the packed vocabulary (:func:`pack_terms`) and idf."""
        return {"terms": pack_terms(self.terms), "idf": self.idf}

    @classmethod
    def from_data(cls, meta: dict, arrays: dict[str, np.ndarray]) -> _TfidfBlock:
        """The block described by ``meta`` with its ``arrays`` (ValueError when they disagree)."""
        if meta.get("norm") != "l2" or meta.get("preprocessor") != "normalise":
            raise ValueError(f"block {meta.get('name')}: unsupported settings {meta}")
        low, high = (int(n) for n in meta["ngram_range"])
        if not 1 <= low <= high <= 10:
            raise ValueError(f"block {meta.get('name')}: bad n-gram range {meta['ngram_range']}")
        head = meta.get("head_chars")
        block = cls(name=str(meta["name"]), terms=unpack_terms(arrays["terms"], int(meta["width"])),
                    idf=np.ascontiguousarray(arrays["idf"], dtype=np.float64), ngram_range=(low, high),
                    sublinear_tf=bool(meta["sublinear_tf"]), head_chars=None if head is None else int(head),
                    weight=float(meta.get("weight", 1.0)))
        return block


class WordTfidf(_TfidfBlock):
    """TF-IDF of word n-grams: scikit-learn's ``TfidfVectorizer(preprocessor=normalise,
    ngram_range=..., sublinear_tf=True)`` with its default token pattern."""

    kind = "tfidf_word"

    def meta(self) -> dict:
        return {**super().meta(), "token_pattern": TOKEN_PATTERN}

    @classmethod
    def from_data(cls, meta: dict, arrays: dict[str, np.ndarray]) -> WordTfidf:
        if meta.get("token_pattern") != TOKEN_PATTERN:
            raise ValueError(f"block {meta.get('name')}: unsupported token pattern {meta.get('token_pattern')!r}")
        return super().from_data(meta, arrays)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._pairs = TokenPairs.of(self.vocabulary) if self.ngram_range[0] <= 2 else None

    def transform(self, texts: Sequence[str]) -> SparseRows:
        """The TF-IDF rows of ``texts``: unigrams and bigrams found through token ids
        (:class:`TokenPairs`), longer n-grams as strings."""
        lookup = self.vocabulary.get
        low, high = self.ngram_range
        pairs = self._pairs
        tokens_of = [_TOKENS.findall(self._text(text)) for text in texts]
        row_parts: list[np.ndarray] = []
        column_parts: list[np.ndarray] = []
        if pairs is not None:
            rows, columns = pairs.columns(tokens_of, unigrams=low == 1, bigrams=high >= 2)
            row_parts.append(rows)
            column_parts.append(columns)
        if high >= 3:
            columns_n: list[int] = []
            lengths: list[int] = []
            for tokens in tokens_of:
                grams: list[str] = []
                for n in range(max(low, 3), min(high, len(tokens)) + 1):
                    grams = grams + [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
                found = [c for c in map(lookup, grams) if c is not None]
                columns_n.extend(found)
                lengths.append(len(found))
            row_parts.append(np.repeat(np.arange(len(lengths)), lengths))
            column_parts.append(np.array(columns_n, dtype=np.int64))
        row_of = np.concatenate(row_parts) if row_parts else np.zeros(0, dtype=np.int64)
        columns = np.concatenate(column_parts) if column_parts else np.zeros(0, dtype=np.int64)
        # tfidf_rows counts (row, column) pairs whatever their order: the same pairs as
        # scikit-learn's n-gram strings give the same rows, bit for bit.
        return tfidf_rows(row_of, columns, len(texts), self.idf, sublinear_tf=self.sublinear_tf)


@dataclass(frozen=True, eq=False)
class TokenPairs:
    """A word vocabulary's unigrams and bigrams by token id: every token that is a
    unigram term or a part of a bigram term has an id, and a bigram term is the pair of
    its parts' ids. A batch's unigram and bigram columns then come from one dict lookup a
    token and a few numpy operations, instead of building and looking up a string for
    every pair of neighbouring tokens (most of which are in no vocabulary)."""

    ids: dict[str, int]
    unigram_column: np.ndarray
    """Column of each token id as a unigram term, or -1."""
    pair_keys: np.ndarray
    """``first id * len(ids) + second id`` of every bigram term, sorted."""
    pair_columns: np.ndarray
    """The column of each of ``pair_keys``."""

    @classmethod
    def of(cls, vocabulary: dict[str, int]) -> TokenPairs:
        """The pairs of a vocabulary of word n-gram terms (tokens joined by a space)."""
        unigrams = [(term, column) for term, column in vocabulary.items() if " " not in term]
        ids = dict(zip((term for term, _ in unigrams), range(len(unigrams))))
        unigram_column = np.array([column for _, column in unigrams], dtype=np.int64)
        bigrams = [(term.split(" "), column) for term, column in vocabulary.items() if term.count(" ") == 1]
        for (first, second), _ in bigrams:  # parts that are no unigram term get ids after them
            ids.setdefault(first, len(ids))
            ids.setdefault(second, len(ids))
        unigram_column = np.concatenate([unigram_column, np.full(len(ids) - len(unigrams), -1, dtype=np.int64)])
        firsts = np.fromiter((ids[first] for (first, _), _ in bigrams), dtype=np.int64, count=len(bigrams))
        seconds = np.fromiter((ids[second] for (_, second), _ in bigrams), dtype=np.int64, count=len(bigrams))
        columns = np.fromiter((column for _, column in bigrams), dtype=np.int64, count=len(bigrams))
        keys = firsts * len(ids) + seconds
        order = np.argsort(keys, kind="stable")
        return cls(ids, unigram_column, keys[order], columns[order])

    def columns(self, tokens_of: Sequence[list[str]], *, unigrams: bool, bigrams: bool) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every unigram (and bigram) term occurrence in each row's
        tokens, in no particular order."""
        lengths = np.fromiter(map(len, tokens_of), dtype=np.int64, count=len(tokens_of))
        total = int(lengths.sum())
        get = self.ids.get
        ids = np.fromiter(map(get, itertools.chain.from_iterable(tokens_of), itertools.repeat(-1)),
                          dtype=np.int64, count=total)
        row_of = np.repeat(np.arange(len(tokens_of)), lengths)
        row_parts = []
        column_parts = []
        if unigrams:
            known = ids >= 0
            columns = self.unigram_column[ids[known]]
            found = columns >= 0
            row_parts.append(row_of[known][found])
            column_parts.append(columns[found])
        if bigrams and total > 1 and len(self.pair_keys):
            first, second = ids[:-1], ids[1:]
            # a pair within one row, both of whose tokens are in some term
            candidate = (row_of[:-1] == row_of[1:]) & (first >= 0) & (second >= 0)
            keys = first[candidate] * len(self.ids) + second[candidate]
            at = np.minimum(np.searchsorted(self.pair_keys, keys), len(self.pair_keys) - 1)
            found = self.pair_keys[at] == keys
            row_parts.append(row_of[:-1][candidate][found])
            column_parts.append(self.pair_columns[at[found]])
        if not row_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(row_parts), np.concatenate(column_parts)


class CharWbTfidf(_TfidfBlock):
    """TF-IDF of character n-grams inside word boundaries: scikit-learn's
    ``TfidfVectorizer(analyzer="char_wb", ...)``, counted word by word from a cache."""

    kind = "tfidf_char_wb"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._words = WordColumns()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_words": WordColumns()}  # a per-process cache (worker pickling)

    def transform(self, texts: Sequence[str]) -> SparseRows:
        """The TF-IDF rows of ``texts``."""
        words = self._words
        if len(words) > CACHED_WORDS:
            words.clear()
        known = words.ids
        ids: list[int] = []
        counts: list[int] = []
        for text in texts:
            # scikit-learn first squeezes whitespace runs (r"\s\s+" -> " "); the normalised
            # text has none left, so splitting it gives the same words.
            split = self._text(text).split()
            for word in [w for w in split if w not in known]:
                words.add(word, self._columns_of(word))
            ids.extend([known[w] for w in split])
            counts.append(len(split))
        row_of, columns = words.columns(np.array(ids, dtype=np.int64), np.array(counts, dtype=np.int64))
        return tfidf_rows(row_of, columns, len(counts), self.idf, sublinear_tf=self.sublinear_tf)

    def _columns_of(self, word: str) -> list[int]:
        lookup = self.vocabulary.get
        return [c for c in map(lookup, char_wb_ngrams(word, self.ngram_range)) if c is not None]


class WordColumns:
    """Each word seen so far, the vocabulary columns of its n-grams, all in flat arrays:
    a batch's words become its columns in a few numpy operations, however many words."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every word."""
        self.ids: dict[str, int] = {}
        self._start = np.zeros(1024, dtype=np.int64)
        self._length = np.zeros(1024, dtype=np.int64)
        self._flat = np.zeros(1 << 14, dtype=np.int64)
        self._used = 0

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, word: str, columns: list[int]) -> None:
        """Remember ``word`` and its columns (a word met twice is kept once)."""
        if word in self.ids:
            return
        n = len(self.ids)
        if n == len(self._start):
            self._start = np.resize(self._start, 2 * n)
            self._length = np.resize(self._length, 2 * n)
        while self._used + len(columns) > len(self._flat):
            self._flat = np.resize(self._flat, 2 * len(self._flat))
        self._flat[self._used:self._used + len(columns)] = columns
        self._start[n], self._length[n] = self._used, len(columns)
        self._used += len(columns)
        self.ids[word] = n

    def columns(self, ids: np.ndarray, words_per_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every n-gram occurrence, for rows of ``words_per_row`` words
        whose ids follow one another in ``ids``."""
        lengths = self._length[ids]
        total = int(lengths.sum())
        first = np.cumsum(lengths) - lengths  # where each word's columns go in the result
        take = np.repeat(self._start[ids] - first, lengths) + np.arange(total)
        row_of = np.repeat(np.repeat(np.arange(len(words_per_row)), words_per_row), lengths)
        return row_of, self._flat[take]


def char_wb_ngrams(word: str, ngram_range: tuple[int, int]) -> list[str]:
    """The n-grams scikit-learn's ``char_wb`` analyzer takes from one word: padded with a
    space on each side, and a word shorter than ``n`` counted once, whole."""
    padded = f" {word} "
    low, high = ngram_range
    grams = []
    for n in range(low, high + 1):
        grams.append(padded[:n])
        last = len(padded) - n
        if last <= 0:
            break
        grams.extend(padded[offset:offset + n] for offset in range(1, last + 1))
    return grams


BLOCK_KINDS: dict[str, type] = {WordTfidf.kind: WordTfidf, CharWbTfidf.kind: CharWbTfidf}
"""Every kind of block a model file may name, and the class that reads it."""


def block_from(meta: dict, arrays: dict[str, np.ndarray]) -> Block:
    """The block a model file describes; ValueError for an unknown kind or bad data."""
    kind = BLOCK_KINDS.get(meta.get("kind"))
    if kind is None:
        raise ValueError(f"unknown feature block kind {meta.get('kind')!r}")
    return kind.from_data(meta, arrays)


@dataclass(frozen=True)
class FeatureRows:
    """One batch of texts as every block's rows, read side by side."""

    parts: tuple[Rows, ...]
    blocks: tuple[Block, ...]

    def __len__(self) -> int:
        return len(self.parts[0]) if self.parts else 0

    def select(self, rows: Sequence[int]) -> FeatureRows:
        """The given rows of every block."""
        return FeatureRows(tuple(_select(part, rows) for part in self.parts), self.blocks)

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """The concatenated (and block-weighted) feature matrix times ``weights``, whose
        rows follow the blocks' columns in order: an ``(n, k)`` array."""
        out = None
        start = 0
        for part, block in zip(self.parts, self.blocks):
            product = _dot(part, weights[start:start + block.width])
            if block.weight != 1.0:
                product *= block.weight
            out = product if out is None else out + product
            start += block.width
        return out


@dataclass(frozen=True, eq=False)
class Features:
    """The blocks of a model, in column order."""

    blocks: tuple[Block, ...]

    @property
    def width(self) -> int:
        """Columns of all blocks together."""
        return sum(block.width for block in self.blocks)

    def transform(self, texts: Sequence[str]) -> FeatureRows:
        """Every block's rows for ``texts``."""
        texts = list(texts)
        return FeatureRows(tuple(block.transform(texts) for block in self.blocks), self.blocks)
