import pickle

from sklearn.feature_extraction.text import TfidfVectorizer

from helpers import corpus_bodies
from triage.textprep import NormalisedHead
from triage.vectorizers import WordCachedCharTfidf


def test_the_word_cached_matrix_is_scikit_learns_own():
    """The cache changes the cost, never a number: same matrix as TfidfVectorizer's
    transform, on mail it was not fitted on and on odd whitespace and empty text."""
    bodies = corpus_bodies()
    vectorizer = WordCachedCharTfidf(preprocessor=NormalisedHead(1000), ngram_range=(3, 5), min_df=2,
                                     sublinear_tf=True).fit(bodies[:400])
    unseen = bodies[400:] + ["", "   ", "a", "ÜBER straße  naïve\tcafé\n\nx", "refund refund refund"]
    for _ in range(2):  # a cold cache, then a warm one
        ours = vectorizer.transform(unseen)
        reference = TfidfVectorizer.transform(vectorizer, unseen)
        assert ours.shape == reference.shape and ours.nnz == reference.nnz > 0
        assert abs(ours - reference).max() < 1e-12


def test_the_cache_is_not_pickled():
    vectorizer = WordCachedCharTfidf(ngram_range=(3, 4)).fit(["a refund please", "cancel my plan"])
    vectorizer.transform(["refund my plan"])
    assert vectorizer.__dict__.get("_word_indices")
    restored = pickle.loads(pickle.dumps(vectorizer))
    assert "_word_indices" not in restored.__dict__
    assert (restored.transform(["refund my plan"]) != vectorizer.transform(["refund my plan"])).nnz == 0
