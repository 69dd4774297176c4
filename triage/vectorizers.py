"""Character n-gram TF-IDF that counts word by word, remembering each word's n-grams.

scikit-learn's ``char_wb`` analyzer builds every n-gram of every word as a new string and
looks each one up in the vocabulary, in Python: on support mail that was the costliest
feature of the category model (0.8 ms a message). Its n-grams never cross a word
boundary, so a word always yields the same ones: this vectorizer keeps, per word, the
vocabulary indices of its n-grams, and a message becomes a concatenation of cached index
arrays. Same matrix as :class:`~sklearn.feature_extraction.text.TfidfVectorizer` (tested),
a fraction of the cost; fitting is unchanged.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

CACHED_WORDS = 50_000
"""Words remembered per process before the cache starts over (about 10 MB)."""

_NO_FEATURES = np.zeros(0, dtype=np.int32)


class WordCachedCharTfidf(TfidfVectorizer):
    """A ``TfidfVectorizer(analyzer="char_wb", ...)`` with a faster ``transform``."""

    def __init__(self, *, preprocessor=None, ngram_range=(3, 5), min_df=1, max_features=None, sublinear_tf=False,
                 dtype=np.float64):
        super().__init__(preprocessor=preprocessor, analyzer="char_wb", ngram_range=ngram_range, min_df=min_df,
                         max_features=max_features, sublinear_tf=sublinear_tf, dtype=dtype)

    def transform(self, raw_documents):
        """TF-IDF matrix of ``raw_documents``, equal to the parent's."""
        check_is_fitted(self, msg="The TF-IDF vectorizer is not fitted")
        preprocess = self.build_preprocessor()
        cache = self.__dict__.setdefault("_word_indices", {})
        if len(cache) > CACHED_WORDS:
            cache.clear()
        pieces: list[np.ndarray] = []
        lengths: list[int] = []
        for document in raw_documents:
            text = self._white_spaces.sub(" ", preprocess(self.decode(document)))
            found = 0
            for word in text.split():
                indices = cache.get(word)
                if indices is None:
                    indices = cache[word] = self._indices_of(word)
                if len(indices):
                    pieces.append(indices)
                    found += len(indices)
            lengths.append(found)
        columns = np.concatenate(pieces) if pieces else _NO_FEATURES
        rows = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
        counts = sp.csr_matrix((np.ones(len(columns), dtype=self.dtype), (rows, columns)),
                               shape=(len(lengths), len(self.vocabulary_)), dtype=self.dtype)
        counts.sum_duplicates()
        counts.sort_indices()
        return self._tfidf.transform(counts, copy=False)

    def _indices_of(self, word: str) -> np.ndarray:
        vocabulary = self.vocabulary_
        found = [vocabulary[gram] for gram in self._char_wb_ngrams(word) if gram in vocabulary]
        return np.array(found, dtype=np.int32) if found else _NO_FEATURES

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_word_indices", None)  # a per-process cache, rebuilt on use
        return state
