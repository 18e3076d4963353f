"""How sure a number is: intervals for an accuracy, paired tests, bootstrap, standard errors.

Taught in the chapter "How sure is that number?" (chapter 8). scipy computes (`binomtest`,
`bootstrap`); this module checks the inputs, takes tensors or arrays, returns plain numbers.
"""

import math
import operator
from collections import namedtuple
from collections.abc import Callable

import numpy as np
import torch
from scipy import stats as scipy_stats

__all__ = ["Interval", "McNemarResult", "MeanWithError", "accuracy_interval", "bootstrap_interval",
           "mcnemar", "mean_with_error", "paired_bootstrap"]


BATCH = 100  # resamples (and BCa's jackknife samples) drawn at a time: memory BATCH × n
# A point estimate and the interval around it, as floats.
Interval = namedtuple("Interval", "estimate low high")
# The discordant pairs (b: only model a right, c: only model b right), the exact p-value.
McNemarResult = namedtuple("McNemarResult", "b c pvalue")
# A sample's mean, standard deviation (n - 1), standard error of the mean, and size.
MeanWithError = namedtuple("MeanWithError", "mean std standard_error count")


def _count(value, name: str) -> int:
    try:
        return operator.index(value)  # int, NumPy integer, integer 0-d tensor; not a float
    except TypeError:
        raise TypeError(f"{name} must be an integer count, got {value!r}.") from None


def _confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95), got {confidence!r}.")
    return float(confidence)


def _array(values, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"{name} must be one value per sample (1-D, not empty), got shape {array.shape}.")
    return array


def _correctness(values, name: str) -> np.ndarray:
    array = _array(values, name)
    if array.dtype != bool and not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must say per sample whether the prediction was right: booleans or 0/1.")
    return array.astype(bool)


def accuracy_interval(correct: int, total: int, confidence: float = 0.95, method: str = "wilson") -> Interval:
    """The accuracy `correct / total` with a confidence interval for the true accuracy.

    Args:
        correct: Correct predictions, an integer (`Accuracy().correct`).
        total: Samples counted, an integer of at least 1.
        confidence: The interval's confidence level.
        method: "wilson" (Wilson's score interval) or "exact" (Clopper-Pearson,
            conservative: covers at least `confidence` for every true accuracy).

    Example:
        >>> [round(x, 4) for x in accuracy_interval(8224, 10000)]
        [0.8224, 0.8148, 0.8298]
        >>> accuracy_interval(10, 10, method="exact").low  # 10 of 10: at least 69 %
        0.6915028921812371
        >>> accuracy_interval(0.82, 1)
        Traceback (most recent call last):
        TypeError: correct must be an integer count, got 0.82.
    """
    correct, total = _count(correct, "correct"), _count(total, "total")
    if total < 1 or not 0 <= correct <= total:
        raise ValueError(f"need 0 <= correct <= total and total >= 1, got correct={correct}, total={total}.")
    if method not in ("wilson", "exact"):
        raise ValueError(f"method must be 'wilson' or 'exact', got {method!r}.")
    ci = scipy_stats.binomtest(correct, total).proportion_ci(_confidence(confidence), method=method)
    return Interval(correct / total, float(ci.low), float(ci.high))


def mcnemar(correct_a, correct_b) -> McNemarResult:
    """McNemar's exact test: do two models, scored on the same samples, differ in accuracy?

    Only the samples on which they disagree count: `b` that model a gets right and model b
    wrong, `c` the reverse. If both have the same accuracy, each of these `b + c` samples is
    equally likely to be either kind: the two-sided p-value is that of `b` under
    Binomial(b + c, 1/2) (`scipy.stats.binomtest`), 1.0 when `b + c == 0`.

    Args:
        correct_a: Per sample, whether model a was right (booleans or 0/1, 1-D).
        correct_b: The same for model b, on the same samples in the same order.

    Example:
        >>> mcnemar([1, 1, 1, 1, 1, 1, 0, 1], [0, 0, 0, 0, 0, 0, 0, 1])
        McNemarResult(b=6, c=0, pvalue=0.03125)
        >>> mcnemar([True, False], [True])
        Traceback (most recent call last):
        ValueError: correct_a and correct_b must hold the same samples: 2 and 1 values.
    """
    a, b = _correctness(correct_a, "correct_a"), _correctness(correct_b, "correct_b")
    if len(a) != len(b):
        raise ValueError(f"correct_a and correct_b must hold the same samples: {len(a)} and {len(b)} values.")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    pvalue = scipy_stats.binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return McNemarResult(only_a, only_b, float(pvalue))


def bootstrap_interval(metric: Callable[..., float], *arrays, confidence: float = 0.95,
                       n_resamples: int = 2000, method: str = "percentile", seed: int = 0) -> Interval:
    """A bootstrap interval for any metric of per-sample values, resampling the samples.

    Args:
        metric: Called as `metric(*arrays)` on NumPy arrays resampled together (the same
            rows of each), returns a float: e.g. macro-F1 of predictions and targets.
        *arrays: Per-sample values, 1-D, all of the same length (tensors or arrays).
        confidence: The interval's confidence level.
        n_resamples: How many resamples `scipy.stats.bootstrap` draws.
        method: "percentile" or "bca" (bias-corrected and accelerated; also a jackknife).
        seed: Seeds the resampling, so that the interval is reproducible.

    Example:
        >>> bootstrap_interval(np.mean, np.r_[np.ones(80), np.zeros(20)], n_resamples=999)
        Interval(estimate=0.8, low=0.72, high=0.88)
    """
    arrays = tuple(_array(array, "each array") for array in arrays)
    if len({len(array) for array in arrays}) != 1:
        raise ValueError(f"the arrays must hold the same samples, got lengths {[len(a) for a in arrays]}.")
    if method not in ("percentile", "bca") or len(arrays[0]) < 2:
        raise ValueError(f"method must be 'percentile' or 'bca' (got {method!r}), with at least 2 samples.")
    estimate = float(metric(*arrays))
    # Resample row indices, as scipy's paired=True does, but keep each array's dtype.
    result = scipy_stats.bootstrap(
        (np.arange(len(arrays[0])),), lambda rows: metric(*(array[rows] for array in arrays)),
        n_resamples=_count(n_resamples, "n_resamples"), vectorized=False, batch=BATCH,
        confidence_level=_confidence(confidence), method="BCa" if method == "bca" else method,
        rng=np.random.default_rng(seed))
    return Interval(estimate, float(result.confidence_interval.low), float(result.confidence_interval.high))


def paired_bootstrap(metric: Callable[..., float], a, b, confidence: float = 0.95,
                     n_resamples: int = 2000, method: str = "percentile", seed: int = 0) -> Interval:
    """An interval for `metric(*a) - metric(*b)`, two models scored on the same samples.

    Both models' values are resampled with the same rows, so that what the two share
    (an easy or a hard test set) cancels in the difference.

    Args:
        metric: Called as `metric(*a)` and `metric(*b)` on NumPy arrays; returns a float.
        a: Model a's per-sample arrays: a tuple of them, or one array.
        b: Model b's, of the same samples in the same order.
        confidence: As in `bootstrap_interval`.
        n_resamples: As in `bootstrap_interval`.
        method: As in `bootstrap_interval`.
        seed: As in `bootstrap_interval`.

    Example:
        >>> right_a = np.r_[np.ones(85), np.zeros(15)]
        >>> right_b = np.r_[np.ones(80), np.zeros(20)]
        >>> [round(x, 4) for x in paired_bootstrap(np.mean, right_a, right_b, n_resamples=999)]
        [0.05, 0.01, 0.1]
    """
    a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
    if len(a) != len(b):
        raise ValueError(f"a and b must give the metric the same arguments: {len(a)} and {len(b)} arrays.")

    def difference(*arrays):
        return metric(*arrays[:len(a)]) - metric(*arrays[len(a):])

    return bootstrap_interval(difference, *a, *b, confidence=confidence, n_resamples=n_resamples,
                              method=method, seed=seed)


def mean_with_error(values) -> MeanWithError:
    """The mean of independent values and its standard error, `std / sqrt(n)`.

    For per-sample losses it says how far the test loss would move on another test set
    of the same size; for one result per seed, how far the mean over seeds would.

    Args:
        values: At least 2 finite numbers, 1-D (a tensor, an array or a list).

    Example:
        >>> [round(x, 5) for x in mean_with_error([0.8224, 0.8095, 0.8245, 0.8228, 0.8239])]
        [0.82062, 0.00627, 0.00281, 5]
        >>> mean_with_error([1.0])
        Traceback (most recent call last):
        ValueError: a standard error needs at least 2 values, got 1.
    """
    array = _array(values, "values").astype(np.float64)
    if len(array) < 2:
        raise ValueError(f"a standard error needs at least 2 values, got {len(array)}.")
    if not np.isfinite(array).all():
        raise ValueError("values must be finite: found NaN or infinity.")
    std = float(array.std(ddof=1))
    return MeanWithError(float(array.mean()), std, std / math.sqrt(len(array)), len(array))
