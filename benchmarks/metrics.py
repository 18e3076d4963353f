"""Per-update cost of lossbook's metrics against torchmetrics', on the same inputs (CPU, one thread).

Run with `make bench`. One batch of 64 samples and 10 classes (the size of the MNIST
chapter's batches): logits, labels and a batch mean loss. Each metric's `update` is timed
over many calls in alternation with its torchmetrics counterpart, best of several rounds:

| lossbook | torchmetrics |
| --- | --- |
| `metrics.Mean` (`update(loss, weight=64)`) | `MeanMetric` (`update(loss, weight=64)`) |
| `metrics.Accuracy` | `MulticlassAccuracy(average="micro")` |
| `metrics.ConfusionMatrix` | `MulticlassConfusionMatrix` |
| `metrics.CalibrationError` | `MulticlassCalibrationError` |

Target: ours <= theirs for each; exits 1 when one is slower.
"""

import sys
import time

import torch
from torchmetrics import MeanMetric
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassCalibrationError,
    MulticlassConfusionMatrix,
)

from lossbook import metrics

CALLS, ROUNDS, NUM_CLASSES, BATCH = 2000, 7, 10, 64


def per_call(metric, args) -> float:
    """Microseconds per `update(*args)`, over `CALLS` calls."""
    start = time.perf_counter()
    for _ in range(CALLS):
        metric.update(*args)
    return (time.perf_counter() - start) / CALLS * 1e6


def main() -> int:
    """Time every pair in alternation; print both and the ratio."""
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(BATCH, NUM_CLASSES, generator=generator)
    y = torch.randint(NUM_CLASSES, (BATCH,), generator=generator)
    loss = torch.nn.functional.cross_entropy(logits, y)
    pairs = {
        "Mean": ((metrics.Mean(), (loss, BATCH)), (MeanMetric(), (loss, BATCH))),
        "Accuracy": ((metrics.Accuracy(), (logits, y)),
                     (MulticlassAccuracy(NUM_CLASSES, average="micro"), (logits, y))),
        "ConfusionMatrix": ((metrics.ConfusionMatrix(NUM_CLASSES), (logits, y)),
                            (MulticlassConfusionMatrix(NUM_CLASSES), (logits, y))),
        "CalibrationError": ((metrics.CalibrationError(n_bins=15), (logits, y)),
                             (MulticlassCalibrationError(NUM_CLASSES, n_bins=15), (logits, y))),
    }
    best = {name: [float("inf"), float("inf")] for name in pairs}
    for _ in range(ROUNDS):
        for name, sides in pairs.items():
            for i, (metric, args) in enumerate(sides):
                best[name][i] = min(best[name][i], per_call(metric, args))
    print(f"update of one batch of {BATCH}×{NUM_CLASSES}, 1 thread, best of {ROUNDS} × {CALLS} calls:")
    slower = []
    for name, (ours, theirs) in best.items():
        print(f"  {name:17} lossbook {ours:6.1f} µs   torchmetrics {theirs:6.1f} µs   "
              f"ratio {ours / theirs:.2f}")
        if ours > theirs:
            slower.append(name)
    if slower:
        print(f"slower than torchmetrics: {', '.join(slower)}")
        return 1
    print("every metric at least as fast as torchmetrics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
