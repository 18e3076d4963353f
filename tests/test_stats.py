import math

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats
from statsmodels.stats import contingency_tables, proportion

from lossbook import stats

RNG_CASES = range(40)


def random_count(seed):
    rng = np.random.default_rng(seed)
    total = int(rng.choice([1, 2, 5, 30, 100, 1000, 10_000, 60_000]))
    return int(rng.integers(0, total + 1)), total


@pytest.mark.parametrize("seed", RNG_CASES)
@pytest.mark.parametrize("method, statsmodels_name", [("wilson", "wilson"), ("exact", "beta")])
def test_accuracy_interval_equals_scipy_and_statsmodels(seed, method, statsmodels_name):
    correct, total = random_count(seed)
    confidence = [0.95, 0.9, 0.99][seed % 3]
    interval = stats.accuracy_interval(correct, total, confidence, method=method)
    ci = scipy_stats.binomtest(correct, total).proportion_ci(confidence, method=method)
    assert interval == (correct / total, ci.low, ci.high)
    low, high = proportion.proportion_confint(correct, total, 1 - confidence, method=statsmodels_name)
    assert interval.low == pytest.approx(low, abs=1e-12)
    assert interval.high == pytest.approx(high, abs=1e-12)


@pytest.mark.parametrize("seed", RNG_CASES)
def test_wilson_interval_is_the_textbook_formula(seed):
    correct, total = random_count(seed)
    p, z = correct / total, scipy_stats.norm.ppf(0.975)
    centre = (p + z**2 / (2 * total)) / (1 + z**2 / total)
    half = z / (1 + z**2 / total) * math.sqrt(p * (1 - p) / total + z**2 / (4 * total**2))
    interval = stats.accuracy_interval(correct, total)
    assert interval.low == pytest.approx(centre - half, abs=1e-12)
    assert interval.high == pytest.approx(centre + half, abs=1e-12)


def test_accuracy_interval_takes_integer_tensors_and_refuses_bad_input():
    assert stats.accuracy_interval(torch.tensor(3), torch.tensor(4)) == stats.accuracy_interval(3, 4)
    with pytest.raises(TypeError, match="integer count"):
        stats.accuracy_interval(0.5, 10)
    with pytest.raises(TypeError, match="integer count"):
        stats.accuracy_interval(torch.tensor(5.0), 10)
    for correct, total in [(11, 10), (-1, 10), (0, 0)]:
        with pytest.raises(ValueError, match="correct <= total"):
            stats.accuracy_interval(correct, total)
    with pytest.raises(ValueError, match="'wilson' or 'exact'"):
        stats.accuracy_interval(5, 10, method="normal")
    for confidence in (0, 1, 95):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            stats.accuracy_interval(5, 10, confidence)


def random_correctness(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 3, 10, 50, 500, 10_000]))
    a = rng.random(n) < rng.uniform(0.3, 1)
    flip = rng.random(n) < rng.uniform(0, 0.3)
    return a, a ^ flip


@pytest.mark.parametrize("seed", RNG_CASES)
def test_mcnemar_equals_statsmodels_exact_test(seed):
    a, b = random_correctness(seed)
    result = stats.mcnemar(torch.from_numpy(a), b.astype(int))
    table = [[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]]
    reference = contingency_tables.mcnemar(np.array(table), exact=True)
    assert (result.b, result.c) == (table[0][1], table[1][0])
    assert reference.statistic == min(result.b, result.c)
    assert result.pvalue == pytest.approx(reference.pvalue, abs=1e-12)
    assert stats.mcnemar(b, a) == (result.c, result.b, result.pvalue)


def test_mcnemar_without_disagreement_and_with_bad_input():
    assert stats.mcnemar([1, 0, 1], [1, 0, 1]) == (0, 0, 1.0)
    with pytest.raises(ValueError, match="same samples"):
        stats.mcnemar([1, 0], [1, 0, 1])
    with pytest.raises(ValueError, match="booleans or 0/1"):
        stats.mcnemar([1, 2], [1, 0])
    with pytest.raises(ValueError, match="1-D, not empty"):
        stats.mcnemar([], [])
    with pytest.raises(ValueError, match="1-D, not empty"):
        stats.mcnemar([[1, 0]], [[1, 0]])


def macro_recall(y_hat, y):
    return np.mean([np.mean(y_hat[y == k] == k) for k in np.unique(y)])


@pytest.mark.parametrize("method, scipy_method", [("percentile", "percentile"), ("bca", "BCa")])
def test_paired_bootstrap_is_scipys_paired_bootstrap_of_the_difference(method, scipy_method):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    y_hat_a = np.where(rng.random(300) < 0.8, y, rng.integers(0, 3, 300))
    y_hat_b = np.where(rng.random(300) < 0.7, y, rng.integers(0, 3, 300))
    interval = stats.paired_bootstrap(macro_recall, (y_hat_a, y), (y_hat_b, y), n_resamples=500,
                                      method=method, seed=7)
    reference = scipy_stats.bootstrap(
        (y_hat_a, y, y_hat_b, y), lambda a, ya, b, yb: macro_recall(a, ya) - macro_recall(b, yb),
        paired=True, vectorized=False, n_resamples=500, method=scipy_method, batch=stats.BATCH,
        rng=np.random.default_rng(7)).confidence_interval
    assert interval == (macro_recall(y_hat_a, y) - macro_recall(y_hat_b, y), reference.low, reference.high)
    assert interval.low < interval.estimate < interval.high


def test_bootstrap_keeps_each_arrays_dtype():
    # scipy's own paired bootstrap concatenates the arrays: integers would become floats.
    def mean_of_class(labels, values):
        assert labels.dtype == np.int64 and values.dtype == np.float64
        return values[labels == 1].mean()

    labels, values = np.array([0, 1] * 20), np.arange(40.0)
    assert stats.bootstrap_interval(mean_of_class, labels, values, n_resamples=99).estimate == 20.0


def test_paired_bootstrap_of_accuracies_resamples_pairs_together():
    a, b = random_correctness(3)
    difference = stats.paired_bootstrap(np.mean, a, b, n_resamples=999)
    per_sample = stats.bootstrap_interval(np.mean, a.astype(float) - b, n_resamples=999)
    for ours, theirs in zip(difference, per_sample, strict=True):
        assert ours == pytest.approx(theirs, abs=1e-12)
    same = stats.paired_bootstrap(np.mean, a, a, n_resamples=99)
    assert same == (0.0, 0.0, 0.0)  # pairs move together: no spread at all


def test_bootstrap_refuses_bad_input():
    with pytest.raises(ValueError, match="same samples"):
        stats.bootstrap_interval(np.mean, [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="'percentile' or 'bca'"):
        stats.bootstrap_interval(np.mean, [1.0, 2.0], method="basic")
    with pytest.raises(ValueError, match="at least 2"):
        stats.bootstrap_interval(np.mean, [1.0])
    with pytest.raises(ValueError, match="same arguments"):
        stats.paired_bootstrap(np.mean, ([1.0, 2.0], [1.0, 2.0]), [1.0, 2.0])
    with pytest.raises(ValueError, match="strictly between"):
        stats.paired_bootstrap(np.mean, [1.0, 2.0], [1.0, 2.0], confidence=1.0)


@pytest.mark.parametrize("seed", RNG_CASES)
def test_mean_with_error_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    values = rng.exponential(size=int(rng.integers(2, 2000)))
    result = stats.mean_with_error(torch.from_numpy(values))
    assert result.count == len(values)
    assert result.mean == pytest.approx(np.mean(values), abs=1e-12)
    assert result.std == pytest.approx(np.std(values, ddof=1), abs=1e-12)
    assert result.standard_error == pytest.approx(scipy_stats.sem(values), abs=1e-12)


def test_mean_with_error_refuses_bad_input():
    with pytest.raises(ValueError, match="at least 2 values"):
        stats.mean_with_error([1.0])
    with pytest.raises(ValueError, match="finite"):
        stats.mean_with_error([1.0, float("nan")])
    with pytest.raises(ValueError, match="1-D"):
        stats.mean_with_error(np.ones((2, 2)))
