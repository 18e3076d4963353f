"""ConfusionMatrix and what is computed from it, and top-k Accuracy, against torchmetrics."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossbook import metrics

torchmetrics = pytest.importorskip("torchmetrics")
from torchmetrics.classification import (  # noqa: E402
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

pytestmark = pytest.mark.usefixtures("one_thread")
AVERAGES = ["micro", "macro", "weighted", "none"]
IGNORE = -100


def make_dataset(n, num_classes, seed, ignored=0.0):
    """Float64 logits and labels, a fraction of them set to IGNORE (at least one counts)."""
    generator = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(n, num_classes, generator=generator, dtype=torch.float64)
    y = torch.randint(num_classes, (n,), generator=generator)
    y[torch.rand(n, generator=generator, dtype=torch.float64) < ignored] = IGNORE
    if (y == IGNORE).all():
        y[0] = 0
    return logits, y


def batches(n, batch_size):
    return [slice(start, start + batch_size) for start in range(0, n, batch_size)]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 150), batch_size=st.integers(1, 40), num_classes=st.integers(2, 6),
       seed=st.integers(0, 2**16), ignored=st.sampled_from([0.0, 0.3]), as_classes=st.booleans())
def test_confusion_matrix_and_its_averages_equal_torchmetrics(n, batch_size, num_classes, seed, ignored,
                                                               as_classes):
    logits, y = make_dataset(n, num_classes, seed, ignored)
    ignore_index = IGNORE if ignored else None
    ours = metrics.ConfusionMatrix(num_classes, ignore_index=ignore_index)
    options = {"num_classes": num_classes, "ignore_index": ignore_index}
    theirs = {"matrix": MulticlassConfusionMatrix(**options)}
    for average in AVERAGES:
        kind = average
        theirs |= {(name, kind): cls(average=kind, **options) for name, cls in
                   [("precision", MulticlassPrecision), ("recall", MulticlassRecall),
                    ("f1_score", MulticlassF1Score)]}
    for rows in batches(n, batch_size):
        scores = logits[rows].argmax(dim=1) if as_classes else logits[rows]
        ours.update(scores, y[rows])
        for metric in theirs.values():
            metric.update(scores, y[rows])
    matrix = ours.compute()
    assert matrix.dtype == torch.int64 and torch.equal(matrix, theirs.pop("matrix").compute())
    for (name, kind), metric in theirs.items():
        value = getattr(ours, name)(kind)
        expected = metric.compute().double()
        if kind == "none":
            torch.testing.assert_close(value, expected, atol=1e-6, rtol=0)
        else:
            assert value == pytest.approx(expected.item(), abs=1e-6), (name, kind)
        # The method is the function of the matrix.
        assert torch.equal(torch.as_tensor(value), torch.as_tensor(getattr(metrics, name)(matrix, kind)))
    # Balanced accuracy: the mean recall over the classes that occur in the targets.
    occurring = matrix.sum(dim=1) > 0
    per_class = matrix.diag()[occurring].double() / matrix.sum(dim=1)[occurring]
    assert ours.balanced_accuracy() == pytest.approx(per_class.mean().item(), abs=1e-12)
    predicted = matrix.sum(dim=0) > 0
    if not (predicted & ~occurring).any():  # then it is the macro recall (torchmetrics' default)
        assert ours.balanced_accuracy() == pytest.approx(ours.recall("macro"), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 150), batch_size=st.integers(1, 40), num_classes=st.integers(2, 6),
       seed=st.integers(0, 2**16), data=st.data(), ignored=st.sampled_from([0.0, 0.3]))
def test_top_k_accuracy_equals_torchmetrics(n, batch_size, num_classes, seed, data, ignored):
    top_k = data.draw(st.integers(1, num_classes))
    logits, y = make_dataset(n, num_classes, seed, ignored)
    ignore_index = IGNORE if ignored else None
    ours = metrics.Accuracy(top_k=top_k, ignore_index=ignore_index)
    theirs = MulticlassAccuracy(num_classes, top_k=top_k, average="micro", ignore_index=ignore_index)
    for rows in batches(n, batch_size):
        ours.update(logits[rows], y[rows])
        theirs.update(logits[rows], y[rows])
    assert ours.compute() == pytest.approx(theirs.compute().item(), abs=1e-6)
    if top_k == num_classes:
        assert ours.compute() == 1.0


def test_micro_averages_are_the_accuracy_and_macro_recall_is_torchmetrics_default_accuracy():
    logits, y = make_dataset(300, 5, 0)
    y[y == 4] = torch.where(torch.arange(len(y))[y == 4] % 5 == 0, 4, 0)  # class 4 made rare
    logits[y == 0, 0] += 5  # class 0, now the most frequent, is easy: micro > macro
    confusion, accuracy = metrics.ConfusionMatrix(5), metrics.Accuracy()
    confusion.update(logits, y)
    accuracy.update(logits, y)
    for name in ("precision", "recall", "f1_score"):
        assert getattr(confusion, name)("micro") == pytest.approx(accuracy.compute(), abs=1e-12)
    default = MulticlassAccuracy(num_classes=5)  # average="macro" unless told otherwise
    default.update(logits, y)
    assert default.compute().item() == pytest.approx(confusion.recall("macro"), abs=1e-6)
    assert accuracy.compute() - default.compute().item() > 0.05


def test_zero_over_zero_conventions():
    # Class 2 never occurs and is never predicted; class 1 is predicted but never occurs.
    matrix = torch.tensor([[6, 2, 0], [0, 0, 0], [0, 0, 0]])
    assert metrics.precision(matrix, "none").tolist() == [1.0, 0.0, 0.0]  # 0/2, and 0/0 -> 0
    assert metrics.recall(matrix, "none").tolist() == [0.75, 0.0, 0.0]    # 0/0 -> 0
    assert metrics.precision(matrix) == 0.5           # classes 0 and 1; class 2 left out
    assert metrics.recall(matrix) == 0.375            # (0.75 + 0) / 2: torchmetrics' macro
    assert metrics.balanced_accuracy(matrix) == 0.75  # class 0 only: sklearn's definition
    assert metrics.recall(matrix, "weighted") == 0.75  # weighted by support: class 0 only
    assert metrics.f1_score(matrix, "none")[0].item() == pytest.approx(12 / 14)
    theirs = MulticlassRecall(num_classes=3)
    theirs.update(torch.tensor([0] * 6 + [1] * 2), torch.zeros(8, dtype=torch.long))
    assert theirs.compute().item() == 0.375


def test_the_metric_counts_exactly_for_every_batching_and_reset_forgets():
    logits, y = make_dataset(97, 4, 3)
    whole, batched = metrics.ConfusionMatrix(4), metrics.ConfusionMatrix(4)
    whole.update(logits, y)
    for rows in batches(97, 10):
        batched.update(logits[rows], y[rows])
    assert torch.equal(whole.compute(), batched.compute()) and whole.compute().sum() == 97
    assert repr(whole) == "ConfusionMatrix(num_classes=4, total=97)"
    matrix = whole.compute()
    matrix += 1  # a copy: the state is unchanged
    assert whole.compute().sum() == 97
    whole.reset()
    assert whole.compute().sum() == 0
    with pytest.raises(ValueError, match="counts nothing"):
        whole.precision()


def test_extra_dimensions_and_ignored_targets():
    logits, y = make_dataset(24, 3, 1, ignored=0.25)
    flat = metrics.ConfusionMatrix(3, ignore_index=IGNORE)
    flat.update(logits, y)
    per_position = metrics.ConfusionMatrix(3, ignore_index=IGNORE)  # N×C×L against N×L
    per_position.update(logits.reshape(4, 6, 3).transpose(1, 2), y.reshape(4, 6))
    assert torch.equal(flat.compute(), per_position.compute())
    assert flat.compute().sum() == (y != IGNORE).sum()


@pytest.mark.parametrize("preds, target, message", [
    (torch.randn(2, 3), torch.tensor([0, 3]), "target holds labels from 0 to 3, but there are 3 classes"),
    (torch.randn(2, 3), torch.tensor([-1, 1]), r"ConfusionMatrix\(ignore_index=-1\)"),
    (torch.tensor([0, 5]), torch.tensor([0, 1]), "the prediction holds labels from 0 to 5"),
    (torch.randn(2, 4), torch.tensor([0, 1]), r"ConfusionMatrix\(3\): the scores have 4 classes"),
    (torch.randn(3, 3), torch.tensor([0, 1]), r"shape \(3, 3\) do not match target of shape \(2,\)"),
    (torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), "must be integer class indices"),
    (torch.randn(2, 3), torch.tensor([0.0, 1.0]), "target must hold integer class labels"),
])
def test_bad_input_is_a_clear_error(preds, target, message):
    confusion = metrics.ConfusionMatrix(3)
    with pytest.raises(ValueError, match=message):
        confusion.update(preds, target)
    assert confusion.compute().sum() == 0  # nothing half-added


@pytest.mark.parametrize("call, message", [
    (lambda: metrics.ConfusionMatrix(1), "num_classes must be an integer >= 2"),
    (lambda: metrics.precision(torch.eye(3), "samples"), "average must be one of 'micro', 'macro'"),
    (lambda: metrics.recall(torch.eye(3), None), "average must be one of .*'none', got None"),
    (lambda: metrics.recall(torch.ones(2, 3)), r"C×C confusion matrix, got shape \(2, 3\)"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_updates_never_read_values_back_to_the_host():
    # As in test_metrics.py: on the meta device any read raises; updates must not read.
    logits = torch.randn(8, 3, device="meta")
    y = torch.zeros(8, dtype=torch.long, device="meta")
    confusion = metrics.ConfusionMatrix(3, ignore_index=-100)
    top2 = metrics.Accuracy(top_k=2)
    for _ in range(2):
        confusion.update(logits, y)
        confusion.update(logits.argmax(dim=1), y)
        top2.update(logits, y)
    assert confusion.matrix.device.type == "meta"
    for compute in (confusion.compute, top2.compute):
        with pytest.raises((RuntimeError, NotImplementedError)):
            compute()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_the_gpu_equal_the_cpu_result():
    logits, y = make_dataset(257, 5, 3, ignored=0.2)
    results = []
    for device in ("cpu", "cuda"):
        confusion = metrics.ConfusionMatrix(5, ignore_index=IGNORE)
        for rows in batches(257, 32):
            confusion.update(logits[rows].to(device), y[rows].to(device))
        assert confusion.matrix.device.type == device
        results.append(confusion.compute())
    assert torch.equal(*results)
