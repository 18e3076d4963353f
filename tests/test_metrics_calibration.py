"""CalibrationError against torchmetrics and against its definition, for every batching."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossbook import metrics

torchmetrics = pytest.importorskip("torchmetrics")
from torchmetrics.classification import MulticlassCalibrationError  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
IGNORE = -100


def make_dataset(n, num_classes, seed, ignored=0.0, dtype=torch.float32):
    """Logits whose softmax never rounds to exactly 1.0 (gaps well below 17), and labels
    that agree with the argmax more often than chance, so that bins differ in accuracy."""
    generator = torch.Generator().manual_seed(seed)
    logits = 2 * torch.randn(n, num_classes, generator=generator, dtype=torch.float64)
    y = torch.where(torch.rand(n, generator=generator, dtype=torch.float64) < 0.5, logits.argmax(dim=1),
                    torch.randint(num_classes, (n,), generator=generator))
    y[torch.rand(n, generator=generator, dtype=torch.float64) < ignored] = IGNORE
    if (y == IGNORE).all():
        y[0] = 0
    return logits.to(dtype), y


def batches(n, batch_size):
    return [slice(start, start + batch_size) for start in range(0, n, batch_size)]


def by_definition(logits, y, n_bins):
    """The ECE written out: a loop over the bins [k/M, (k+1)/M), the last one closed."""
    keep = y != IGNORE
    confidence, preds = logits[keep].double().softmax(dim=1).max(dim=1)
    correct = (preds == y[keep]).double()
    ece = 0.0
    for k in range(n_bins):
        upper = confidence <= 1 if k == n_bins - 1 else confidence < (k + 1) / n_bins
        in_bin = (confidence >= k / n_bins) & upper
        if in_bin.any():
            ece += in_bin.double().mean() * (correct[in_bin].mean() - confidence[in_bin].mean()).abs()
    return float(ece)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), batch_size=st.integers(1, 50), num_classes=st.integers(2, 6),
       seed=st.integers(0, 2**16), n_bins=st.integers(1, 20), norm=st.sampled_from(["l1", "l2", "max"]),
       ignored=st.sampled_from([0.0, 0.3]))
def test_calibration_error_equals_torchmetrics(n, batch_size, num_classes, seed, n_bins, norm, ignored):
    logits, y = make_dataset(n, num_classes, seed, ignored)
    ignore_index = IGNORE if ignored else None
    ours = metrics.CalibrationError(n_bins, norm=norm, ignore_index=ignore_index)
    theirs = MulticlassCalibrationError(num_classes, n_bins=n_bins, norm=norm, ignore_index=ignore_index)
    for rows in batches(n, batch_size):
        ours.update(logits[rows], y[rows])
        # Probabilities: torchmetrics would leave logits that happen to lie in [0, 1] as they are.
        theirs.update(logits[rows].softmax(dim=1), y[rows])
    assert ours.compute() == pytest.approx(theirs.compute().item(), abs=1e-6)
    if norm == "l1":
        assert ours.compute() == pytest.approx(by_definition(logits, y, n_bins), abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 200), batch_size=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_the_sums_are_exact_for_every_batching(n, batch_size, seed):
    logits, y = make_dataset(n, 4, seed, dtype=torch.float64)
    whole, batched = metrics.CalibrationError(), metrics.CalibrationError()
    whole.update(logits, y)
    for rows in batches(n, batch_size):
        batched.update(logits[rows], y[rows])
    assert torch.equal(whole.count, batched.count) and torch.equal(whole.correct, batched.correct)
    torch.testing.assert_close(whole.confidence, batched.confidence, rtol=1e-12, atol=1e-12)
    assert batched.compute() == pytest.approx(by_definition(logits, y, 15), abs=1e-12)


def test_bins_hold_what_a_reliability_diagram_plots():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 0.1]])
    y = torch.tensor([0, 0, 0, 1])
    ece = metrics.CalibrationError(n_bins=4)
    ece.update(logits, y)
    bins = ece.bins()
    assert bins.edges.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert bins.count.tolist() == [0, 0, 2, 2]  # 0.525 and 0.731 in [0.5, 0.75); 0.881 twice
    assert bins.accuracy[2:].tolist() == [1.0, 0.5] and math.isnan(bins.accuracy[0])
    p = torch.tensor([2.0, 1.0, 0.1]).sigmoid().tolist()
    torch.testing.assert_close(bins.confidence[2:], torch.tensor([(p[1] + p[2]) / 2, p[0]],
                                                                 dtype=torch.float64))
    expected = 0.5 * (1 - (p[1] + p[2]) / 2) + 0.5 * abs(0.5 - p[0])
    assert ece.compute() == pytest.approx(expected, abs=1e-7)
    assert metrics.calibration_error(bins, "max") == pytest.approx(abs(0.5 - p[0]), abs=1e-7)
    assert repr(ece) == "CalibrationError(n_bins=4, norm='l1', total=4)"


def test_a_confidence_of_exactly_one_is_in_the_last_bin():
    # float32 softmax rounds to 1.0 for a gap above about 17: common for a confident model.
    logits = torch.tensor([[30.0, 0.0], [3.0, 0.0]])
    y = torch.tensor([1, 0])  # the sure prediction is wrong, the other one right
    confidence = logits.softmax(dim=1).max(dim=1).values
    assert confidence[0] == 1.0
    ece = metrics.CalibrationError(n_bins=15)
    ece.update(logits, y)
    assert ece.bins().count[-1] == 2  # both in [14/15, 1]
    assert ece.compute() == pytest.approx(abs(0.5 - confidence.double().mean().item()), abs=1e-7)
    # torchmetrics 1.9 counts the 1.0 in a 16th bin of its own (Lightning-AI/torchmetrics#3510):
    # there, the ECE is 0.5·|0 - 1| + 0.5·|1 - 0.953|, larger.
    theirs = MulticlassCalibrationError(2, n_bins=15)
    theirs.update(logits.softmax(dim=1), y)
    assert theirs.compute().item() >= ece.compute() - 1e-6


def test_float64_and_float16_logits():
    logits, y = make_dataset(64, 3, 0, dtype=torch.float64)
    for dtype in (torch.float64, torch.float32, torch.float16):
        ece = metrics.CalibrationError()
        ece.update(logits.to(dtype), y)
        assert ece.confidence.dtype == torch.float64
        # float16: confidences to 3 digits, a few of them may land in the next bin.
        tolerance = 0.03 if dtype == torch.float16 else 1e-6
        assert ece.compute() == pytest.approx(by_definition(logits, y, 15), abs=tolerance)


def test_extra_dimensions_and_ignored_targets():
    logits, y = make_dataset(24, 3, 1, ignored=0.25, dtype=torch.float64)
    flat = metrics.CalibrationError(n_bins=5, ignore_index=IGNORE)
    flat.update(logits, y)
    per_position = metrics.CalibrationError(n_bins=5, ignore_index=IGNORE)  # N×C×L, N×L
    per_position.update(logits.reshape(4, 6, 3).transpose(1, 2), y.reshape(4, 6))
    assert torch.equal(flat.count, per_position.count) and flat.count.sum() == (y != IGNORE).sum()
    assert per_position.compute() == pytest.approx(by_definition(logits, y, 5), abs=1e-12)


def test_reset_and_compute_before_any_update():
    ece = metrics.CalibrationError()
    with pytest.raises(ValueError, match=r"CalibrationError.compute\(\) called before any update"):
        ece.compute()
    ece.update(torch.randn(5, 3), torch.tensor([0, 1, 2, 0, 1]))
    assert ece.count.sum() == 5
    ece.reset()
    assert ece.count.sum() == 0 and ece.confidence.sum() == 0


@pytest.mark.parametrize("logits, target, message", [
    (torch.randn(2, 3), torch.tensor([0, 3]), "target holds labels from 0 to 3, but the logits have 3"),
    (torch.tensor([0.2, 1.0]), torch.tensor([0, 1]), "must be integer class indices"),
    (torch.tensor([0, 1]), torch.tensor([0, 1]), r"N×C floating-point logits .* got torch.int64"),
    (torch.randint(0, 3, (2, 3)), torch.tensor([0, 1]), "floating-point logits"),
    (torch.randn(3, 3), torch.tensor([0, 1]), r"floating-point logits .* shape \(3, 3\)"),
])
def test_bad_input_is_a_clear_error(logits, target, message):
    ece = metrics.CalibrationError()
    with pytest.raises(ValueError, match=message):
        ece.update(logits, target)
    assert ece.count.sum() == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"n_bins": 0}, "n_bins must be a positive integer"),
    ({"norm": "l3"}, "norm must be one of 'l1', 'l2', 'max'"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        metrics.CalibrationError(**kwargs)


def test_updates_never_read_values_back_to_the_host():
    logits = torch.randn(8, 3, device="meta")
    y = torch.zeros(8, dtype=torch.long, device="meta")
    ece = metrics.CalibrationError(ignore_index=-100)
    for _ in range(3):
        ece.update(logits, y)
    assert ece.count.device.type == ece.confidence.device.type == "meta"
    for compute in (ece.compute, ece.bins):
        with pytest.raises((RuntimeError, NotImplementedError)):
            compute()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_the_gpu_equal_the_cpu_result():
    logits, y = make_dataset(257, 5, 3, ignored=0.2)
    results = []
    for device in ("cpu", "cuda"):
        ece = metrics.CalibrationError(ignore_index=IGNORE)
        for rows in batches(257, 32):
            ece.update(logits[rows].to(device), y[rows].to(device))
        assert ece.count.device.type == device
        results.append(ece.compute())
    assert results[0] == pytest.approx(results[1], abs=1e-6)
