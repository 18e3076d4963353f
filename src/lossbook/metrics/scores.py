"""Calibration beyond the top class: the Brier score, the class-wise ECE, a debiased ECE.

Taught in the chapter "Beyond accuracy" (chapter 7). `CalibrationError` looks only at
the largest probability; these look at all C of them, as running sums like every metric
here (float64 sums, int64 counts, added on the batch's device).

- `BrierScore`: the mean over samples of Σ_c (p_c − 1[y = c])², in [0, 2]. Like the NLL
  a proper scoring rule, but it also scores how the probability of the wrong classes is
  spread, where the NLL reads only p_y.
- `ClasswiseCalibrationError`: for each class c, every sample's p_c in `n_bins` bins,
  compared with how often y = c in each bin; the mean over classes of these ECEs
  (Kull et al. 2019). One temperature cannot fix a class that is overconfident and
  another that is underconfident at once; this metric sees both.
- `debiased_squared_error(bins)`: Kumar, Liang and Ma (2019), *Verified Uncertainty
  Calibration*: the binned squared calibration error Σ_b (n_b/n)(acc_b − conf_b)²
  is biased upwards by the noise of each acc_b (its variance acc_b(1 − acc_b)/n_b adds
  in expectation); subtracting an unbiased estimate of that variance removes the bias.
"""

import torch

from lossbook.losses import IGNORE_INDEX
from lossbook.metrics import labels
from lossbook.metrics.calibration import CalibrationBins
from lossbook.metrics.sums import RunningSums, as_float64, ratio


def _probabilities(name: str, logits: torch.Tensor, target: torch.Tensor, ignore_index):
    """Softmax of N×C logits in float64, one-hot targets, and which rows count."""
    labels.check_types(name, logits, target)
    if not (logits.dim() == 2 and target.dim() == 1 and len(logits) == len(target)
            and logits.dtype.is_floating_point):
        raise ValueError(f"{name}: expected N×C floating-point logits and N targets, got "
                         f"{logits.dtype} {tuple(logits.shape)} and {tuple(target.shape)}.")
    counted = labels.counted(target, ignore_index)
    if counted.any() and labels.outside(target[counted], logits.shape[1]).any():
        raise ValueError(labels.bad_labels(name, target[counted], logits.shape[1], ignore_index))
    probabilities = as_float64(logits).softmax(dim=1)
    one_hot = torch.zeros_like(probabilities)
    one_hot[counted] = torch.nn.functional.one_hot(target[counted], logits.shape[1]).double()
    return probabilities, one_hot, counted.to(probabilities.device)


class BrierScore(RunningSums):
    """Mean over samples of Σ_c (p_c − 1[y = c])²: 0 for certain and right, 2 at worst.

    Example:
        >>> brier = BrierScore()
        >>> logits = torch.tensor([[0.0, 0.0], [2.0, 0.0]]).log_softmax(dim=1)  # p = .5 .5; .88 .12
        >>> brier.update(logits, torch.tensor([0, 1]))
        >>> round(brier.compute(), 4)  # ((.5² + .5²) + (.8808² + .8808²)) / 2
        1.0258
    """

    STATE = ("squared_error", "count")

    def __init__(self, ignore_index: int | None = IGNORE_INDEX):
        self.ignore_index = ignore_index
        self.squared_error = torch.zeros((), dtype=torch.float64)
        self.count = torch.zeros((), dtype=torch.int64)

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch of N×C logits (softmax applied here) and N class labels."""
        probabilities, one_hot, counted = _probabilities("BrierScore", logits.detach(), target,
                                                         self.ignore_index)
        squared = ((probabilities - one_hot) ** 2).sum(dim=1)
        self._add("squared_error", torch.where(counted, squared, 0.0).sum())
        self._add("count", counted.sum())

    def compute(self, distributed: bool = False) -> float:
        """The Brier score over everything seen since the last `reset()`."""
        squared_error, count = self._summed(distributed)
        return ratio(squared_error, count, "BrierScore", "or only ignored targets")


class ClasswiseCalibrationError(RunningSums):
    """The class-wise ECE: each class's p_c against how often y = c, in `n_bins` bins each.

    `bins(c)` gives class c's `CalibrationBins` (for its reliability diagram), `per_class()`
    the C ECEs, `compute()` their mean.

    Example:
        >>> ece = ClasswiseCalibrationError(num_classes=2, n_bins=2)
        >>> ece.update(torch.tensor([[0.8, 0.2], [0.8, 0.2]]).log(), torch.tensor([0, 1]))
        >>> ece.per_class()  # class 0: p 0.8, true half the time; class 1: p 0.2, half
        tensor([0.3000, 0.3000], dtype=torch.float64)
    """

    STATE = ("count", "probability", "hits")

    def __init__(self, num_classes: int, n_bins: int = 15, ignore_index: int | None = IGNORE_INDEX):
        self.num_classes, self.n_bins, self.ignore_index = num_classes, n_bins, ignore_index
        self.count = torch.zeros(num_classes, n_bins, dtype=torch.int64)
        self.probability = torch.zeros(num_classes, n_bins, dtype=torch.float64)
        self.hits = torch.zeros(num_classes, n_bins, dtype=torch.int64)

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch of N×C logits and N class labels (bins as `CalibrationError`'s)."""
        probabilities, one_hot, counted = _probabilities("ClasswiseCalibrationError",
                                                         logits.detach(), target, self.ignore_index)
        edges = torch.linspace(0, 1, self.n_bins + 1, dtype=torch.float64, device=probabilities.device)
        bins = torch.bucketize(probabilities, edges[1:-1], right=True)  # N×C, in 0 … M-1
        # Flat index class·(M+1) + bin, with an extra bin per class for rows that do not count.
        bins = torch.where(counted[:, None], bins, self.n_bins)
        index = (torch.arange(self.num_classes, device=bins.device) * (self.n_bins + 1) + bins).flatten()
        for name, values in (("count", torch.ones_like(index)), ("probability", probabilities.flatten()),
                             ("hits", one_hot.flatten().long())):
            sums = torch.zeros(self.num_classes * (self.n_bins + 1), dtype=values.dtype, device=values.device)
            sums = sums.index_add_(0, index, values).view(self.num_classes, self.n_bins + 1)
            self._add(name, sums[:, :-1])

    def bins(self, c: int) -> CalibrationBins:
        """Class `c`'s bins: count, mean p_c and the fraction with y = c (NaN if empty)."""
        count, probability, hits = (state[c].to("cpu") for state in self._summed(False))
        empty = count == 0
        return CalibrationBins(
            edges=torch.linspace(0, 1, self.n_bins + 1, dtype=torch.float64), count=count,
            confidence=torch.where(empty, torch.nan, probability / count.clamp(min=1)),
            accuracy=torch.where(empty, torch.nan, hits.double() / count.clamp(min=1)))

    def per_class(self, distributed: bool = False) -> torch.Tensor:
        """The ECE of each class's probability (float64, on the CPU)."""
        count, probability, hits = (state.to("cpu") for state in self._summed(distributed))
        total = count.sum(dim=1, keepdim=True)
        if (total == 0).any():
            raise ValueError("ClasswiseCalibrationError.compute() called before any update().")
        gap = (hits.double() - probability).abs()  # n_b·|acc_b − conf_b|, 0 for an empty bin
        return gap.sum(dim=1) / total.squeeze(1)

    def compute(self, distributed: bool = False) -> float:
        """The mean over classes of `per_class()`."""
        return self.per_class(distributed).mean().item()


def debiased_squared_error(bins: CalibrationBins) -> float:
    """Kumar et al.'s debiased estimate of the squared (l2) calibration error from `bins`.

    Σ_b (n_b/n) [(acc_b − conf_b)² − acc_b(1 − acc_b)/(n_b − 1)] over the bins with at
    least 2 samples: the plug-in square minus an unbiased estimate of the noise of
    acc_b. It can be negative (a calibrated model's true value is 0).

    Example:
        >>> bins = CalibrationBins(torch.tensor([0.0, 0.5, 1.0]), torch.tensor([0, 4]),
        ...                        torch.tensor([torch.nan, 0.75]), torch.tensor([torch.nan, 0.5]))
        >>> round(debiased_squared_error(bins), 6)  # (0.5 − 0.75)² − 0.5·0.5/3
        -0.020833
    """
    filled = bins.count > 1
    count = bins.count[filled].double()
    accuracy, confidence = bins.accuracy[filled].double(), bins.confidence[filled].double()
    terms = (accuracy - confidence) ** 2 - accuracy * (1 - accuracy) / (count - 1)
    return (count / bins.count.sum() * terms).sum().item()
