"""The Brier score, the class-wise ECE and the debiased squared ECE (lossbook.metrics.scores)."""

import pytest
import torch
import torch.nn.functional as F

from lossbook import metrics


def make_logits(n=200, num_classes=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return 3 * torch.randn(n, num_classes, generator=generator), torch.randint(num_classes, (n,),
                                                                               generator=generator)


def brier_directly(logits, y):
    p = logits.double().softmax(dim=1)
    return ((p - F.one_hot(y, p.shape[1]).double()) ** 2).sum(dim=1).mean().item()


def classwise_directly(logits, y, n_bins):
    p = logits.double().softmax(dim=1)
    eces = []
    for c in range(p.shape[1]):
        bins = torch.clamp((p[:, c] * n_bins).floor().long(), max=n_bins - 1)
        gap = sum(abs((y[bins == b] == c).double().sum() - p[bins == b, c].sum()) for b in range(n_bins))
        eces.append(gap / len(y))
    return torch.stack(eces)


@pytest.mark.parametrize("batch_size", [1, 7, 200])
def test_brier_score_is_the_mean_squared_distance_to_the_one_hot_target_for_any_batching(batch_size):
    logits, y = make_logits()
    brier = metrics.BrierScore()
    for start in range(0, len(y), batch_size):
        brier.update(logits[start:start + batch_size], y[start:start + batch_size])
    assert brier.compute() == pytest.approx(brier_directly(logits, y), abs=1e-12)


def test_brier_score_bounds_and_ignored_targets():
    certain = torch.tensor([[50.0, 0.0], [0.0, 50.0]])
    brier = metrics.BrierScore()
    brier.update(certain, torch.tensor([0, 1]))
    assert brier.compute() < 1e-12
    brier.reset()
    brier.update(certain, torch.tensor([1, -100]))  # wrong and certain: 2; the padding is skipped
    assert brier.compute() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="nothing to average"):
        metrics.BrierScore().compute()
    with pytest.raises(ValueError, match="labels from 0 to 5"):
        metrics.BrierScore().update(certain, torch.tensor([0, 5]))


@pytest.mark.parametrize("n_bins", [1, 5, 15])
def test_classwise_ece_per_class_matches_a_direct_computation(n_bins):
    logits, y = make_logits()
    ece = metrics.ClasswiseCalibrationError(num_classes=4, n_bins=n_bins)
    for start in range(0, len(y), 64):
        ece.update(logits[start:start + 64], y[start:start + 64])
    expected = classwise_directly(logits, y, n_bins)
    assert torch.allclose(ece.per_class(), expected, atol=1e-12)
    assert ece.compute() == pytest.approx(expected.mean().item(), abs=1e-12)
    bins = ece.bins(2)
    assert int(bins.count.sum()) == len(y)


def test_classwise_ece_with_one_bin_is_the_mean_gap_between_frequency_and_probability():
    logits, y = make_logits()
    ece = metrics.ClasswiseCalibrationError(num_classes=4, n_bins=1)
    ece.update(logits, y)
    frequency = torch.bincount(y, minlength=4).double() / len(y)
    mean_probability = logits.double().softmax(dim=1).mean(dim=0)
    assert torch.allclose(ece.per_class(), (frequency - mean_probability).abs(), atol=1e-12)


def test_debiased_squared_error_is_about_zero_for_a_calibrated_model_where_the_plug_in_is_not():
    generator = torch.Generator().manual_seed(0)
    plug_in, debiased = [], []
    for _ in range(200):
        confidence = 0.5 + 0.5 * torch.rand(500, generator=generator, dtype=torch.float64)
        correct = torch.rand(500, generator=generator, dtype=torch.float64) < confidence  # calibrated
        logits = torch.stack([confidence.log(), (1 - confidence).log()], dim=1)
        ece = metrics.CalibrationError(n_bins=15)
        ece.update(logits, torch.where(correct, 0, 1))
        plug_in.append(metrics.calibration_error(ece.bins(), "l2") ** 2)
        debiased.append(metrics.debiased_squared_error(ece.bins()))
    plug_in, debiased = torch.tensor(plug_in), torch.tensor(debiased)
    assert plug_in.mean() > 5 * debiased.mean().abs()
    assert debiased.mean().abs() < 3 * debiased.std() / len(debiased) ** 0.5 + 1e-6
