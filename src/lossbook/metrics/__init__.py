"""Metrics as running sums: loss and accuracy averaged over what counts, over a whole epoch.

Taught in the chapter "Averaging loss and accuracy" (chapter 3) and used by every
training loop after it; chapter 6 adds class weights and ignored targets, chapter 7 the
metrics beyond accuracy. Each metric is an object with `update()` (add a batch to a few
sums, on the batch's device), `compute()` (divide once) and `reset()` (a new epoch), and
`compute(distributed=True)` adds the sums of every process first (see `sums`).

    from lossbook import metrics

    loss_metric, accuracy = metrics.Mean(), metrics.Accuracy()
    for X, y in test_loader:
        logits = model(X)
        loss_metric.update(*metrics.mean_and_count(loss_fn(logits, y), y, loss_fn))
        accuracy.update(logits, y)
    loss_metric.compute(), accuracy.compute()

Chapter 7's metrics keep sums the same way: `ConfusionMatrix` (counts per true and
predicted class, from which `precision`, `recall`, `f1_score` and `balanced_accuracy`)
and `CalibrationError` (per-bin sums of confidence and correctness). A scalar result is
a Python float; one value per class, a matrix or bins are CPU tensors.
"""

from lossbook.metrics.accuracy import Accuracy
from lossbook.metrics.calibration import CalibrationBins, CalibrationError, calibration_error
from lossbook.metrics.confusion import ConfusionMatrix
from lossbook.metrics.mean import Mean, mean_and_count
from lossbook.metrics.per_class import balanced_accuracy, f1_score, precision, recall

__all__ = [
    "Accuracy", "CalibrationBins", "CalibrationError", "ConfusionMatrix", "Mean", "balanced_accuracy",
    "calibration_error", "f1_score", "mean_and_count", "precision", "recall",
]
