"""`CalibrationError`: does a confidence of 0.9 mean right 90 % of the time? Binned sums.

Taught in the chapter "Beyond accuracy" (chapter 7). A sample's *confidence* is its
largest softmax probability. The samples are put in `n_bins` equal-width confidence
bins; in each bin we keep three running sums: the number of samples, their summed
confidence and the number of correct predictions. Sums, not per-batch results: the
expected calibration error (ECE) of the whole dataset comes from the final sums, so it
is exact for any batching and across processes (an ECE per batch, averaged, is not the
dataset's: see the chapter's exercise).

    ECE = Σ_b (n_b / n) · |accuracy_b − confidence_b|   (norm "l1", Guo et al. 2017)

`norm="max"` gives the largest gap of a non-empty bin, `norm="l2"` the root of the
weighted mean squared gap, as in torchmetrics' `MulticlassCalibrationError`.

Bins: `[0, 1/M), [1/M, 2/M), …, [(M-1)/M, 1]`, edges compared in the confidence's dtype
(float32 for 16-bit inputs, whose own edges would be rounded), like torchmetrics; the
last bin is closed, as `numpy.histogram`'s. torchmetrics 1.9 instead counts a confidence
of exactly 1.0 in an extra bin of its own (Lightning-AI/torchmetrics#3510), so the two
differ when some confidences round to 1.0, common in float32 for a confident model;
otherwise they agree.
"""

import math
from typing import NamedTuple

import torch

from lossbook import _validate
from lossbook.losses import IGNORE_INDEX
from lossbook.metrics import labels
from lossbook.metrics.sums import RunningSums, as_float64

NORMS = ("l1", "l2", "max")


class CalibrationBins(NamedTuple):
    """What a reliability diagram plots, per confidence bin (tensors on the CPU).

    `edges`: the M+1 bin edges from 0 to 1; `count`: samples per bin (int64);
    `confidence` and `accuracy`: their mean confidence and the fraction of them predicted
    correctly (float64, NaN for an empty bin).
    """

    edges: torch.Tensor
    count: torch.Tensor
    confidence: torch.Tensor
    accuracy: torch.Tensor


class CalibrationError(RunningSums):
    """Expected calibration error of the top-1 prediction, from running per-bin sums.

    Args:
        n_bins: M, the number of equal-width confidence bins in [0, 1].
        norm: "l1" (the ECE), "max" (the largest gap) or "l2" (root mean square gap).
        ignore_index: Targets equal to it (padding) are not counted; None: all are.

    Example:
        >>> ece = CalibrationError(n_bins=10)
        >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0]])  # confidences .88 .88 .73
        >>> ece.update(logits, torch.tensor([0, 0, 0]))                  # right, wrong, right
        >>> round(ece.compute(), 4)  # (2/3)·|1/2 − 0.8808| + (1/3)·|1 − 0.7311|
        0.3435
        >>> ece.bins().count
        tensor([0, 0, 0, 0, 0, 0, 0, 1, 2, 0])
    """

    STATE = ("count", "confidence", "correct", "invalid")

    def __init__(self, n_bins: int = 15, norm: str = "l1", ignore_index: int | None = IGNORE_INDEX):
        _validate.positive_int("n_bins", n_bins)
        _validate.one_of("norm", norm, NORMS)
        self.n_bins, self.norm, self.ignore_index = n_bins, norm, ignore_index
        self.count = torch.zeros(n_bins, dtype=torch.int64)
        self.confidence = torch.zeros(n_bins, dtype=torch.float64)
        self.correct = torch.zeros(n_bins, dtype=torch.int64)
        self.invalid = torch.zeros((), dtype=torch.int64)  # labels outside 0 … C-1
        self._edges = {}  # the bins' edges per dtype and device

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: N×C(×d…) logits (softmax is applied here) and N(×d…) class labels.

        For a model that outputs probabilities `p`, pass `p.log()`: its softmax is `p`.
        Labels outside `0 … C-1` (and not `ignore_index`) are an error: raised at once on
        the CPU; on an accelerator, where looking would make it wait, by `compute()`.
        """
        name = "CalibrationError"
        labels.check_types(name, logits, target)
        if not (labels.is_scores(logits, target) and logits.dtype.is_floating_point):
            raise ValueError(f"{name}: expected N×C floating-point logits for targets of shape "
                             f"{tuple(target.shape)}, got {logits.dtype} of shape {tuple(logits.shape)}.")
        confidence, preds = logits.detach().softmax(dim=1).max(dim=1)
        # Edges and confidences in float32 or wider: in bfloat16 or float16 the edges
        # themselves would be rounded (0.0669 for 1/15 in bfloat16), and so the bins.
        if confidence.dtype in (torch.float16, torch.bfloat16):
            confidence = confidence.float()
        # Bin b holds edges[b] <= confidence < edges[b + 1]; 1.0 falls in the last bin.
        bins = torch.bucketize(confidence, self._inner_edges(confidence), right=True)
        hits = preds == target
        if self.count.is_cpu and labels.all_count(target, logits.shape[1], self.ignore_index):
            # The usual batch: every target counts and is a class. No masks: each sample
            # adds 1, its correctness and its confidence (in float64) into its bin.
            bins = bins.flatten()
            self.count.index_add_(0, bins, torch.ones_like(bins))
            self.correct.index_add_(0, bins, hits.flatten().long())
            self.confidence.index_add_(0, bins, confidence.flatten().double())
            return
        counted = labels.counted(target, self.ignore_index)
        invalid = counted & labels.outside(target, logits.shape[1])
        if target.device.type == "cpu" and invalid.any():
            raise ValueError(labels.bad_labels(name, target[counted], logits.shape[1], self.ignore_index))
        # Samples that do not count go to an extra bin, dropped (no boolean indexing: no waiting).
        bins = torch.where(counted & ~invalid, bins, self.n_bins).flatten()
        confidence = as_float64(confidence.flatten())  # on the CPU for MPS (no float64)
        self._add("count", self._binned(bins, torch.ones_like(bins)))
        self._add("confidence", self._binned(bins.to(confidence.device), confidence))
        self._add("correct", self._binned(bins, hits.flatten().long()))
        self._add("invalid", invalid.sum())

    def _inner_edges(self, confidence: torch.Tensor) -> torch.Tensor:
        """The M-1 edges between the bins, in `confidence`'s dtype and device (made once)."""
        key = (confidence.dtype, confidence.device)
        if key not in self._edges:
            edges = torch.linspace(0, 1, self.n_bins + 1, dtype=confidence.dtype, device=confidence.device)
            self._edges[key] = edges[1:-1]
        return self._edges[key]

    def compute(self, distributed: bool = False) -> float:
        """The calibration error (of `norm`) over everything seen since the last `reset()`.

        Args:
            distributed: Add the sums of every process in the default process group
                (see `lossbook.metrics`). A collective: every process must call it.
        """
        return calibration_error(self.bins(distributed), self.norm)

    def bins(self, distributed: bool = False) -> CalibrationBins:
        """Per-bin counts, mean confidences and accuracies (see `CalibrationBins`)."""
        count, confidence, correct, invalid = self._summed(distributed)
        if invalid:
            raise ValueError(f"CalibrationError: {int(invalid)} target(s) held labels outside 0 … C-1 "
                             "(not ignore_index); check the labels and the number of outputs.")
        count, confidence, correct = (state.to("cpu", copy=True) for state in (count, confidence, correct))
        if count.sum() == 0:
            raise ValueError("CalibrationError.compute() called before any update() (or only with "
                             "empty batches or ignored targets): there is nothing to average.")
        empty = count == 0
        return CalibrationBins(
            edges=torch.linspace(0, 1, self.n_bins + 1, dtype=torch.float64),
            count=count,
            confidence=torch.where(empty, math.nan, confidence / count.clamp(min=1)),
            accuracy=torch.where(empty, math.nan, correct.double() / count.clamp(min=1)),
        )

    def _binned(self, bins: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        sums = torch.zeros(self.n_bins + 1, dtype=values.dtype, device=values.device)
        return sums.index_add_(0, bins, values)[:-1]

    def __repr__(self) -> str:
        return (f"CalibrationError(n_bins={self.n_bins}, norm={self.norm!r}, "
                f"total={int(self.count.sum())})")


def calibration_error(bins: CalibrationBins, norm: str = "l1") -> float:
    """The calibration error of `norm` ("l1": ECE, "max", "l2") from a `CalibrationBins`.

    Example:
        >>> bins = CalibrationBins(torch.tensor([0.0, 0.5, 1.0]), torch.tensor([1, 3]),
        ...                        torch.tensor([0.25, 0.875]), torch.tensor([0.0, 1.0]))
        >>> calibration_error(bins), calibration_error(bins, "max")  # 1/4·1/4 + 3/4·1/8
        (0.15625, 0.25)
    """
    _validate.one_of("norm", norm, NORMS)
    filled = bins.count > 0
    weight = bins.count[filled].double() / bins.count.sum()
    gap = (bins.accuracy[filled].double() - bins.confidence[filled].double()).abs()
    if norm == "max":
        return gap.max().item()
    if norm == "l2":
        return (weight * gap**2).sum().sqrt().item()
    return (weight * gap).sum().item()
