"""What intervals need, kept by the metrics: Accuracy's interval, Mean's standard error (chapter 8)."""

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats

from lossbook import distributed, metrics, stats


@pytest.mark.parametrize("method", ["wilson", "exact"])
def test_the_accuracy_interval_comes_from_the_counts(method):
    generator = torch.Generator().manual_seed(0)
    logits, y = torch.randn(1000, 5, generator=generator), torch.randint(5, (1000,), generator=generator)
    accuracy = metrics.Accuracy()
    for rows in torch.arange(1000).split(64):
        accuracy.update(logits[rows], y[rows])
    correct = int((logits.argmax(1) == y).sum())
    assert accuracy.interval(0.9, method) == stats.accuracy_interval(correct, 1000, 0.9, method)


def test_an_empty_accuracy_has_no_interval():
    with pytest.raises(ValueError, match="nothing to average"):
        metrics.Accuracy().interval()


@pytest.mark.parametrize("seed", range(5))
def test_the_standard_error_of_per_sample_values_equals_scipys(seed):
    values = torch.randn(997, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 3 + 1
    mean = metrics.Mean()
    for i, chunk in enumerate(values.split(100)):
        mean.update(chunk if i % 2 else chunk.reshape(-1, 1))  # any shape, weight 1 each
    assert mean.compute() == pytest.approx(values.mean().item(), rel=1e-12)
    assert mean.standard_error() == pytest.approx(scipy_stats.sem(values.numpy()), rel=1e-10)


def test_integer_weights_count_as_repeated_samples():
    mean = metrics.Mean()
    mean.update(torch.tensor(2.0), weight=3)
    mean.update(torch.tensor([5.0, 7.0]))
    assert mean.standard_error() == pytest.approx(scipy_stats.sem([2.0, 2.0, 2.0, 5.0, 7.0]), rel=1e-12)


def test_one_sample_has_no_standard_error():
    mean = metrics.Mean()
    mean.update(1.0)
    with pytest.raises(ValueError, match="more than one sample"):
        mean.standard_error()


def shared_standard_error(values):
    """Each process holds every other value; the sums over both give the whole set's error."""
    import torch.distributed as dist

    mean = metrics.Mean()
    mean.update(values[dist.get_rank()::2])
    return mean.standard_error(distributed=True)


def test_the_standard_error_is_exact_across_processes():
    values = torch.randn(101, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    results = distributed.launch(shared_standard_error, world_size=2, args=(values,), timeout=60,
                                 start_method="fork")
    assert results == pytest.approx([scipy_stats.sem(np.asarray(values))] * 2, rel=1e-10)
