import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lossbook import metrics
from lossbook.data import TensorLoader

REDUCTIONS = ["mean", "sum", "none"]


pytestmark = pytest.mark.usefixtures("one_thread")


def make_dataset(n, num_classes, seed):
    """Float64 logits, so that what is tested is the averaging, not float32 rounding."""
    generator = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(n, num_classes, generator=generator, dtype=torch.float64)
    y = torch.randint(num_classes, (n,), generator=generator)
    return logits, y


def epoch_metrics(loader, reduction):
    """An evaluation epoch as the book writes it: weighted loss and accuracy sums."""
    loss_metric, accuracy = metrics.Mean(), metrics.Accuracy()
    for logits, y in loader:
        loss = F.cross_entropy(logits, y, reduction=reduction)
        loss_metric.update(*metrics.mean_and_count(loss, y, reduction=reduction))
        accuracy.update(logits, y)
    return loss_metric.compute(), accuracy.compute()


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 300), batch_size=st.integers(1, 64), num_classes=st.integers(2, 6),
       seed=st.integers(0, 2**16), reduction=st.sampled_from(REDUCTIONS))
def test_epoch_metrics_equal_the_full_dataset_computation(n, batch_size, num_classes, seed, reduction):
    logits, y = make_dataset(n, num_classes, seed)
    loss, accuracy = epoch_metrics(TensorLoader(logits, y, batch_size, drop_last=False), reduction)
    assert loss == pytest.approx(F.cross_entropy(logits, y).item(), abs=1e-6)
    assert accuracy == pytest.approx((logits.argmax(dim=1) == y).sum().item() / n, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 300), batch_size=st.integers(1, 64), seed=st.integers(0, 2**16))
def test_float32_batches_are_accumulated_without_drift(n, batch_size, seed):
    logits, y = make_dataset(n, 10, seed)
    loader = TensorLoader(logits.float(), y, batch_size)
    loss, _ = epoch_metrics(loader, "mean")
    assert loss == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)


def mean_of_batch_means(losses, batch_size):
    batch_means = [xb.mean().item() for xb, _ in TensorLoader(losses, losses, batch_size)]
    return sum(batch_means) / len(batch_means)


@settings(max_examples=150, deadline=None)
@given(losses=st.lists(st.floats(0, 10), min_size=1, max_size=120), batch_size=st.integers(1, 40))
def test_mean_of_batch_means_is_biased_exactly_when_the_last_batch_is_partial(losses, batch_size):
    losses = torch.tensor(losses, dtype=torch.float64)
    n = len(losses)
    per_sample = losses.mean().item()
    biased = mean_of_batch_means(losses, batch_size)
    num_batches, last = math.ceil(n / batch_size), n - (math.ceil(n / batch_size) - 1) * batch_size
    if last == batch_size or num_batches == 1:
        assert biased == pytest.approx(per_sample, abs=1e-9)
        return
    # The chapter's formula: (mean of last batch - mean of the full ones) * (1/B - r/N).
    last_mean, full_mean = losses[-last:].mean().item(), losses[:-last].mean().item()
    bias = (last_mean - full_mean) * (1 / num_batches - last / n)
    assert biased - per_sample == pytest.approx(bias, abs=1e-9)
    if abs(last_mean - full_mean) > 1e-6:
        assert abs(biased - per_sample) > 1e-9


@settings(max_examples=60, deadline=None)
@given(full=st.integers(1, 20), batch_size=st.integers(2, 30), data=st.data())
def test_distinct_losses_with_a_partial_last_batch_always_show_the_bias(full, batch_size, data):
    last = data.draw(st.integers(1, batch_size - 1))
    n = full * batch_size + last
    # Distinct losses, and the last batch's differ from the rest's (a shuffled order can't hide it).
    losses = torch.arange(n, dtype=torch.float64) / n + data.draw(st.floats(0, 5))
    assert mean_of_batch_means(losses, batch_size) != pytest.approx(losses.mean().item(), abs=1e-9)
    loss_metric = metrics.Mean()
    for xb, _ in TensorLoader(losses, losses, batch_size):
        loss_metric.update(*metrics.mean_and_count(xb.mean(), torch.zeros(len(xb), dtype=torch.long),
                                                   reduction="mean"))
    assert loss_metric.compute() == pytest.approx(losses.mean().item(), abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 200), batch_size=st.integers(1, 50), num_classes=st.integers(2, 6),
       seed=st.integers(0, 2**16))
def test_same_results_as_torchmetrics(n, batch_size, num_classes, seed):
    torchmetrics = pytest.importorskip("torchmetrics")
    from torchmetrics.classification import MulticlassAccuracy

    logits, y = make_dataset(n, num_classes, seed)
    weights = torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    ours_mean, ours_accuracy = metrics.Mean(), metrics.Accuracy()
    theirs_mean = torchmetrics.MeanMetric().set_dtype(torch.float64)
    theirs_accuracy = MulticlassAccuracy(num_classes=num_classes, average="micro")
    for start in range(0, n, batch_size):
        rows = slice(start, start + batch_size)
        values = F.cross_entropy(logits[rows], y[rows], reduction="none")
        ours_mean.update(values, weights[rows])
        theirs_mean.update(values, weights[rows])
        ours_accuracy.update(logits[rows], y[rows])
        theirs_accuracy.update(logits[rows], y[rows])
    assert ours_mean.compute() == pytest.approx(theirs_mean.compute().item(), abs=1e-9)
    assert ours_accuracy.compute() == pytest.approx(theirs_accuracy.compute().item(), abs=1e-6)


def test_weighted_gives_the_same_mean_for_every_reduction():
    logits, y = make_dataset(7, 3, 0)
    for reduction in REDUCTIONS:
        loss_metric = metrics.Mean()
        loss = F.cross_entropy(logits, y, reduction=reduction)
        loss_metric.update(*metrics.mean_and_count(loss, y, reduction=reduction))
        assert loss_metric.compute() == pytest.approx(F.cross_entropy(logits, y).item(), abs=1e-12)


def test_accuracy_takes_logits_or_class_indices_and_extra_dimensions():
    logits, y = make_dataset(12, 4, 1)
    from_logits, from_preds = metrics.Accuracy(), metrics.Accuracy()
    from_logits.update(logits, y)
    from_preds.update(logits.argmax(dim=1), y)
    assert from_logits.compute() == from_preds.compute()
    per_pixel = metrics.Accuracy()  # N×C×L scores against N×L labels, as in segmentation
    per_pixel.update(logits.reshape(3, 4, 4).transpose(1, 2), y.reshape(3, 4))
    assert per_pixel.compute() == from_logits.compute()


def test_reset_forgets_and_compute_leaves_the_state_alone():
    m = metrics.Mean()
    m.update(torch.tensor([1.0, 2.0, 6.0]))
    assert m.compute() == m.compute(distributed=True) == 3.0  # no process group: local
    assert (m.value_sum.item(), m.weight_sum.item()) == (9.0, 3.0)
    m.reset()
    with pytest.raises(ValueError, match="before any update"):
        m.compute()


def test_accumulating_a_loss_keeps_no_graph():
    w = torch.ones(3, requires_grad=True)
    m = metrics.Mean()
    m.update((w * 2).sum(), weight=4)
    assert not m.value_sum.requires_grad and m.value_sum.grad_fn is None
    assert m.compute() == 6.0


def test_per_sample_weights_and_zero_weights():
    m = metrics.Mean()
    m.update(torch.tensor([1.0, 100.0, 3.0]), torch.tensor([1.0, 0.0, 3.0]))
    assert m.compute() == pytest.approx(10 / 4)
    m.update(5.0, torch.tensor([2]))  # a one-element weight counts as a number
    assert m.compute() == pytest.approx(20 / 6)


def test_repr_shows_the_sums():
    acc = metrics.Accuracy()
    acc.update(torch.tensor([1, 0]), torch.tensor([1, 1]))
    assert repr(acc) == "Accuracy(correct=1, total=2)"


@pytest.mark.parametrize("metric", [metrics.Mean(), metrics.Accuracy()], ids=["Mean", "Accuracy"])
def test_compute_before_any_update_is_a_clear_error(metric):
    with pytest.raises(ValueError, match=rf"{type(metric).__name__}.compute\(\) called before any update"):
        metric.compute()


def test_only_zero_weights_or_empty_batches_say_so():
    m, acc = metrics.Mean(), metrics.Accuracy()
    m.update(3.0, weight=0)
    acc.update(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="every weight was 0"):
        m.compute()
    with pytest.raises(ValueError, match="empty batches"):
        acc.compute()


@pytest.mark.parametrize("weight, message", [
    (-1.0, "finite and >= 0, got -1.0"),
    (torch.tensor([1.0, -2.0]), "finite and >= 0, got -2.0"),
    (float("nan"), "finite and >= 0, got nan"),
    (torch.ones(3), r"weight of shape \(3,\) does not match value of shape \(2,\)"),
])
def test_bad_weights(weight, message):
    m = metrics.Mean()
    with pytest.raises(ValueError, match=message):
        m.update(torch.tensor([1.0, 2.0]), weight)
    assert m.weight_sum == 0  # nothing half-added


@pytest.mark.parametrize("target", [torch.tensor([0.0, 1.0]), torch.tensor([True, False])])
def test_non_integer_targets(target):
    with pytest.raises(ValueError, match=r"integer class labels, got torch\.(float32|bool); .*long\(\)"):
        metrics.Accuracy().update(torch.randn(2, 3), target)


@pytest.mark.parametrize("preds, target, message", [
    (torch.randn(4, 3), torch.tensor([0, 1, 2]), r"shape \(4, 3\) do not match target of shape \(3,\)"),
    (torch.randn(4, 3), torch.tensor([1]), r"shape \(4, 3\) do not match target of shape \(1,\)"),
    (torch.tensor([0, 1, 1]), torch.tensor([0, 1]), r"shape \(3,\) do not match"),
    (torch.tensor([0.9, 0.2]), torch.tensor([1, 0]), "must be integer class indices, got torch.float32"),
    (torch.randn(2, 3), torch.tensor([0, 3]), "labels from 0 to 3, but the logits have 3 classes"),
    (torch.randn(2, 3), torch.tensor([-1, 1]), r"labels from -1 to 1.*Accuracy\(ignore_index=-1\)"),
    (torch.tensor([0.9, -0.2]), torch.tensor([1, 0]),
     r"one logit per sample, preds = \(logits > 0\).long\(\)"),
    (torch.randn(3), torch.tensor(1), "got a single number"),
])
def test_mismatched_predictions_and_targets(preds, target, message):
    with pytest.raises(ValueError, match=message):
        metrics.Accuracy().update(preds, target)


@pytest.mark.parametrize("loss, y, reduction, message", [
    (torch.tensor(1.0), torch.tensor([0, 1]), "avg", "reduction must be 'mean', 'sum' or 'none'"),
    (torch.tensor(1.0), 4, "mean", "y must be the batch's targets as a tensor, got int"),
    (torch.ones(4), torch.tensor([0, 1, 0, 1]), "mean", r"\(4,\); was it computed with reduction='none'"),
    (torch.ones(3), torch.tensor([0, 1, 0, 1]), "none", r"one loss per target, shape \(4,\), but .* \(3,\)"),
])
def test_weighted_rejects_inconsistent_arguments(loss, y, reduction, message):
    with pytest.raises((ValueError, TypeError), match=message):
        metrics.mean_and_count(loss, y, reduction=reduction)


def test_distributed_must_be_a_boolean():
    m = metrics.Mean()
    m.update(1.0)
    with pytest.raises(TypeError, match="distributed must be True or False"):
        m.compute(distributed="yes")


def test_nan_loss_shows_in_the_mean():
    m = metrics.Mean()
    m.update(float("nan"), weight=2)
    assert math.isnan(m.compute())


def test_python_numbers_are_kept_in_float64_without_a_float32_detour():
    m = metrics.Mean()
    m.update(0.1)
    assert m.compute() == 0.1
    m = metrics.Mean()
    m.update(1.0, 0.1)
    m.update(3.0, 0.3)
    assert m.compute() == (1.0 * 0.1 + 3.0 * 0.3) / (0.1 + 0.3)  # float64 arithmetic throughout


def test_a_weight_of_zero_counts_for_nothing_even_nan():
    m = metrics.Mean()
    m.update(torch.tensor(float("nan")), weight=torch.tensor(0.0))  # torch's mean over ignored targets
    m.update(2.0, weight=3)
    assert m.compute() == 2.0


def test_the_state_lives_on_the_device_of_the_values():
    m, acc = metrics.Mean(), metrics.Accuracy()
    m.update(torch.ones(3, device="meta"))
    acc.update(torch.zeros(3, 4, device="meta"), torch.zeros(3, dtype=torch.long, device="meta"))
    assert m.value_sum.device.type == m.weight_sum.device.type == "meta"
    assert acc.correct.device.type == acc.total.device.type == "meta"
    m.reset()
    assert m.value_sum.device.type == "meta", "reset keeps the device"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_metrics_on_the_gpu_equal_the_cpu_result():
    logits, y = make_dataset(257, 5, 3)
    y[::7] = -100
    results = []
    for device in ("cpu", "cuda"):
        loss_metric, accuracy = metrics.Mean(), metrics.Accuracy(ignore_index=-100)
        for start in range(0, len(y), 32):
            z, t = logits[start:start + 32].to(device), y[start:start + 32].to(device)
            loss_metric.update(*metrics.mean_and_count(F.cross_entropy(z, t), t, reduction="mean"))
            accuracy.update(z, t)
        assert loss_metric.value_sum.device.type == device
        results.append((loss_metric.compute(), accuracy.compute()))
    assert results[0] == pytest.approx(results[1], rel=1e-12)


def test_updates_never_read_values_back_to_the_host():
    # The meta device has shapes but no values: reading one (.item(), bool(), .cpu()) raises.
    # Updates must run there, as they would on a GPU without making it wait; compute reads.
    logits = torch.randn(8, 3, device="meta")
    y = torch.zeros(8, dtype=torch.long, device="meta")
    loss_metric, accuracy = metrics.Mean(), metrics.Accuracy(ignore_index=-100)
    for _ in range(3):
        loss = F.cross_entropy(logits, y, reduction="sum")
        loss_metric.update(*metrics.mean_and_count(loss, y, reduction="sum"))
        accuracy.update(logits, y)
    for metric in loss_metric, accuracy:
        with pytest.raises((RuntimeError, NotImplementedError)):
            metric.compute()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 120), batch_size=st.integers(1, 40), num_classes=st.integers(2, 5),
       seed=st.integers(0, 2**16), use_weight=st.booleans(), ignored=st.floats(0, 0.9),
       reduction=st.sampled_from(REDUCTIONS))
def test_epoch_loss_equals_one_call_over_the_dataset_with_weights_and_ignored_targets(
        n, batch_size, num_classes, seed, use_weight, ignored, reduction):
    logits, y = make_dataset(n, num_classes, seed)
    generator = torch.Generator().manual_seed(seed + 1)
    y[torch.rand(n, generator=generator, dtype=torch.float64) < ignored] = -100
    if (y == -100).all():
        y[0] = 0
    weight = torch.rand(num_classes, generator=generator, dtype=torch.float64) + 0.1 if use_weight else None
    loss_metric = metrics.Mean()
    for start in range(0, n, batch_size):
        z, t = logits[start:start + batch_size], y[start:start + batch_size]
        loss = F.cross_entropy(z, t, weight=weight, reduction=reduction)
        loss_metric.update(*metrics.mean_and_count(loss, t, reduction=reduction, weight=weight))
    expected = F.cross_entropy(logits, y, weight=weight).item()
    assert loss_metric.compute() == pytest.approx(expected, rel=1e-6)
    # The mean of batch-size-weighted batch means is what this replaces; with ignored targets
    # or class weights it is generally off.


def test_accuracy_skips_ignored_targets_and_counts_top_k():
    logits = torch.tensor([[3.0, 2.0, 1.0], [1.0, 3.0, 2.0], [1.0, 2.0, 3.0], [0.0, 0.5, 1.0]])
    y = torch.tensor([1, 2, -100, 0])
    top1, top2 = metrics.Accuracy(ignore_index=-100), metrics.Accuracy(top_k=2, ignore_index=-100)
    top1.update(logits, y)
    top2.update(logits, y)
    assert (top1.correct.item(), top1.total.item()) == (0, 3)
    assert (top2.correct.item(), top2.total.item()) == (2, 3)
    with pytest.raises(ValueError, match="top_k > 1 needs the scores"):
        metrics.Accuracy(top_k=2).update(torch.tensor([0, 1]), torch.tensor([0, 1]))
