"""Linear heads: yes/no probabilities from feature rows, in numpy.

A head set holds independent outputs (one per category, or one for "frustrated"). Each
output is the mean of one or more *members*, each a logistic function of a linear score:

    p_j = mean over members m of output j of  expit(scale_m * (x · coef_m + intercept_m) + shift_m)

One member per output with scale 1 and shift 0 is (one-vs-rest) logistic regression, as
scikit-learn's ``LogisticRegression.predict_proba`` computes it for two classes; three
members with a sigmoid calibration each is ``CalibratedClassifierCV(LinearSVC(),
method="sigmoid", cv=3)``. The arrays are all a model file needs to hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from triage.features import FeatureRows

_ARRAYS = ("coef", "intercept", "scale", "shift", "output")


def expit(z: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + e^-z), without overflow warnings for large |z|."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True, eq=False)
class LinearHeads:
    """``coef`` is ``(features, members)``; ``intercept``, ``scale``, ``shift`` and
    ``output`` (which output a member belongs to) have one entry per member."""

    coef: np.ndarray
    intercept: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    output: np.ndarray
    outputs: int

    @classmethod
    def logistic(cls, coef: np.ndarray, intercept: np.ndarray) -> LinearHeads:
        """Plain logistic regression heads: ``coef`` is ``(features, outputs)``."""
        coef = np.ascontiguousarray(coef, dtype=np.float64)
        members = coef.shape[1]
        return cls(coef, np.asarray(intercept, dtype=np.float64).reshape(members), np.ones(members),
                   np.zeros(members), np.arange(members), members)

    def __post_init__(self) -> None:
        members = self.coef.shape[1] if self.coef.ndim == 2 else -1
        if members < 1 or any(np.shape(getattr(self, name)) != (members,) for name in _ARRAYS[1:]):
            raise ValueError("head arrays do not agree in size")
        if not np.array_equal(np.unique(self.output), np.arange(self.outputs)):
            raise ValueError("every output needs at least one member, and members only existing outputs")

    @property
    def width(self) -> int:
        """Feature columns the heads read."""
        return self.coef.shape[0]

    def probabilities(self, rows: FeatureRows) -> np.ndarray:
        """An ``(n, outputs)`` array of probabilities."""
        return self.from_products(rows.dot(self.coef))

    def from_products(self, products: np.ndarray) -> np.ndarray:
        """:meth:`probabilities` from ``rows.dot(coef)`` already computed (callers that
        serve several heads from one product of the rows with their joined columns)."""
        members = expit(self.scale * (products + self.intercept) + self.shift)
        if self.outputs == len(self.output):
            return members[:, np.argsort(self.output)]
        total = np.zeros((len(members), self.outputs))
        for output in range(self.outputs):
            chosen = self.output == output
            for column in np.flatnonzero(chosen):  # summed in member order, as scikit-learn averages
                total[:, output] += members[:, column]
            total[:, output] /= chosen.sum()
        return total

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays a model file stores."""
        return {name: getattr(self, name) for name in _ARRAYS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], outputs: int) -> LinearHeads:
        """Inverse of :meth:`arrays`; ValueError when they do not fit together."""
        floats = {name: np.ascontiguousarray(arrays[name], dtype=np.float64) for name in _ARRAYS[:-1]}
        output = arrays["output"]
        if output.dtype.kind not in "iu":
            raise ValueError("head output indices are not integers")
        return cls(**floats, output=output.astype(np.int64), outputs=int(outputs))
