"""`Watch`: what the training loop records per batch, and the epoch's loss and accuracy from it.

Taught with `lossbook.train` in the chapter "Softmax regression on Fashion-MNIST"
(chapter 4). The averages are `lossbook.metrics`' `Mean` and `Accuracy`, so a smaller last
batch counts for exactly its number of samples, and a batch of weighted or ignored targets
for exactly what the loss divided by (its count, as `losses.count` defines it).

Per batch the loop keeps references only (its loss, predictions and targets), so that a
step costs no more than in the plain loop; what each batch counts for is computed for all
of them at once when a number is asked for: at a logged line, for the progress bar, and at
the end of the epoch.
"""

import torch
import torch.distributed as dist

from lossbook import losses, metrics
from lossbook._validate import per_target_shape
from lossbook.distributed import group
from lossbook.losses.count import target_weights
from lossbook.train.parts import NonFiniteLossError

NO_BAD_BATCH = 2**62  # larger than any batch number: "none" in a MIN over the processes
KEEP_SCORES_UP_TO = 32  # classes: up to this many, a batch's N×C scores are kept, not its argmax


class Watch:
    """The epoch's loss and accuracy, the running loss, and where the loss stopped being finite."""

    def __init__(self, epoch: int | None, loader, distributed: bool, options: losses.LossOptions):
        self.epoch, self.distributed, self.options = epoch, distributed, options
        self.num_batches = len(loader) if hasattr(loader, "__len__") else None
        self.batches, self.losses, self.preds, self.targets = [], [], [], []
        self.logged = 0  # batches[:logged] are in a running loss already
        self._cached = (None, None)

    def add(self, batch: int, scores: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> None:
        """Record batch number `batch`: its scores, its targets and its (detached) loss."""
        if (loss.dim() != 0) if self.options.reduction != "none" else loss.shape != per_target_shape(y):
            raise ValueError(
                f"the loss function returned shape {tuple(loss.shape)} for targets of shape "
                f"{tuple(y.shape)}, but its reduction is {self.options.reduction!r}: it gives "
                + ("one number" if self.options.reduction != "none" else
                   f"one loss per target, shape {tuple(per_target_shape(y))}") + ".")
        # The loss function has checked the labels; argmax is all accuracy needs. Few
        # classes: keep the scores, and take the argmax of all batches at once at the end.
        few = scores.dim() == 2 and scores.shape[1] <= KEEP_SCORES_UP_TO and y.dim() == 1
        self.preds.append(scores if few or scores.dim() == y.dim() else scores.argmax(dim=1))
        self.targets.append(y)
        self.losses.append(loss)
        self.batches.append(batch)

    def running_loss(self) -> float:
        """The loss over the batches since the last logged line, over every process."""
        self.check()
        running = self._mean(self.logged)
        self.logged = len(self.batches)
        return running.compute(distributed=self.distributed)

    def postfix_due(self, batch: int) -> bool:
        """Whether the progress bar shows the loss after `batch` (about 20 times an epoch)."""
        return batch % max(1, (self.num_batches or 1000) // 20) == 0

    def loss_so_far(self) -> float:
        """This process's mean loss over the epoch so far (for the progress bar)."""
        return self._mean(0).compute()

    def check(self) -> None:
        """Raise `NonFiniteLossError` if a batch's loss was NaN or infinite, on any process.

        Every process reports the earliest such batch of any process.
        """
        first, value = NO_BAD_BATCH, float("nan")
        if self.batches:
            values, counts = self._values_and_counts(0)
            # torch's mean over a batch of ignored targets is nan (0 / 0): it counts for nothing.
            bad = (~torch.isfinite(values) & (counts != 0)).nonzero()
            if len(bad):
                first, value = self.batches[int(bad[0])], values[bad[0]].item()
        if self.distributed and group.is_active():
            # Every process stops together: a process that raised alone would leave the
            # others waiting in their next collective.
            earliest = int(group.all_reduce(torch.tensor(first), op=dist.ReduceOp.MIN))
            first, value = earliest, value if earliest == first else float("nan")
        if first != NO_BAD_BATCH:
            raise NonFiniteLossError(value, self.epoch, first, self.num_batches)

    def result(self) -> dict[str, float]:
        """`{"loss": ..., "accuracy": ...}` over the epoch and, if distributed, every process."""
        self.check()
        accuracy = metrics.Accuracy(ignore_index=self.options.ignore_index)
        if self.batches:
            accuracy.update(_predicted_classes(self.preds), _flat(self.targets))
        return {"loss": self._mean(0).compute(distributed=self.distributed),
                "accuracy": accuracy.compute(distributed=self.distributed)}

    def _mean(self, start: int) -> metrics.Mean:
        mean = metrics.Mean()
        if self.batches[start:]:
            mean.update(*self._values_and_counts(start))
        return mean

    def _values_and_counts(self, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Each batch's mean loss and count, from `start` on: `Mean.update(values, counts)`."""
        key = (start, len(self.batches))
        if self._cached[0] != key:  # the end of an epoch asks twice: for the check, for the mean
            self._cached = key, self._compute_values_and_counts(start)
        return self._cached[1]

    def _compute_values_and_counts(self, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        targets, batch_losses = self.targets[start:], self.losses[start:]
        counts = self._counts(targets)
        if self.options.reduction == "mean":
            return torch.stack(batch_losses), counts
        if self.options.reduction == "sum":
            return torch.stack(batch_losses) / counts, counts
        return _per_batch_sums(batch_losses) / counts, counts

    def _counts(self, targets: list[torch.Tensor]) -> torch.Tensor:
        """`losses.count` of every batch at once: its targets that count, or their class weights."""
        if targets[0].is_floating_point():  # probability targets: every sample and position counts
            return torch.tensor([t.numel() // t.shape[1] for t in targets], device=targets[0].device)
        dtype = torch.int64 if self.options.weight is None else torch.float64
        weights = target_weights(_flat(targets), self.options.weight, self.options.ignore_index, dtype)[2]
        return _per_batch_sums(targets, weights)


def _predicted_classes(preds: list[torch.Tensor]) -> torch.Tensor:
    """The predicted classes of every batch, flat: kept N×C scores give their argmax."""
    scores = [p for p in preds if p.dim() == 2 and p.is_floating_point()]
    if len(scores) == len(preds):
        return torch.cat(scores).argmax(dim=1)
    return _flat([p.argmax(dim=1) if p.dim() == 2 and p.is_floating_point() else p for p in preds])


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    if all(tensor.dim() == 1 for tensor in tensors):
        return torch.cat(tensors)
    return torch.cat([tensor.reshape(-1) for tensor in tensors])


def _per_batch_sums(tensors: list[torch.Tensor], values: torch.Tensor | None = None) -> torch.Tensor:
    """The sum of each tensor's entries (or of `values`, laid out as the tensors), as one tensor."""
    values = _flat(tensors) if values is None else values
    sizes = torch.tensor([tensor.numel() for tensor in tensors], device=values.device)
    batch_of = torch.repeat_interleave(torch.arange(len(tensors), device=values.device), sizes)
    return torch.zeros(len(tensors), dtype=values.dtype, device=values.device).index_add_(0, batch_of, values)
