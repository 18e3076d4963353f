"""`Watch`: what the training loop records per batch, and the epoch's loss and accuracy from it.

Taught with `lossbook.train` in the chapter "Softmax regression on Fashion-MNIST"
(chapter 4). The averages are `lossbook.metrics`' `Mean` and `Accuracy`, so a smaller last
batch counts for exactly its number of samples, and a batch of weighted or ignored targets
for exactly what the loss divided by.
"""

import torch
import torch.distributed as dist

from lossbook import metrics
from lossbook.distributed import group
from lossbook.train.parts import NonFiniteLossError

NO_BAD_BATCH = 2**62  # larger than any batch number: "none" in a MIN over the processes


class Watch:
    """The epoch's loss and accuracy, the running loss, and where the loss stopped being finite.

    Each batch only appends its loss, its count, its predictions and its targets to lists,
    on their device: two metric updates per batch would cost a small model more than its
    own step. A logged line or the end of the epoch hands them to `metrics.Mean` and
    `metrics.Accuracy` in one `update` each, and looks for a non-finite loss.
    """

    def __init__(self, epoch: int | None, loader, distributed: bool, ignore_index: int):
        self.epoch, self.distributed = epoch, distributed
        self.num_batches = len(loader) if hasattr(loader, "__len__") else None
        self.ignore_index = ignore_index
        self.batches, self.values, self.counts, self.preds, self.targets = [], [], [], [], []
        self.logged = 0  # values[:logged] are in a running loss already

    def add(self, batch: int, scores: torch.Tensor, y: torch.Tensor, value: torch.Tensor,
            count: torch.Tensor) -> None:
        """Record batch number `batch`: its scores and targets, its mean loss and its count."""
        # The loss function has checked the labels; argmax is all accuracy needs.
        preds = scores.argmax(dim=1) if scores.dim() == y.dim() + 1 else scores
        self.preds.append(preds.reshape(-1))
        self.targets.append(y.reshape(-1))
        self.batches.append(batch)
        self.values.append(value.detach())
        self.counts.append(count)

    def running_loss(self) -> float:
        """The loss over the batches since the last logged line, over every process."""
        self.check()
        running = self._mean(self.logged)
        self.logged = len(self.values)
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
        if self.values:
            values, counts = torch.stack(self.values), torch.stack(self.counts)
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
        accuracy = metrics.Accuracy(ignore_index=self.ignore_index)
        if self.values:
            accuracy.update(torch.cat(self.preds), torch.cat(self.targets))
        return {"loss": self._mean(0).compute(distributed=self.distributed),
                "accuracy": accuracy.compute(distributed=self.distributed)}

    def _mean(self, start: int) -> metrics.Mean:
        mean = metrics.Mean()
        if self.values[start:]:
            mean.update(torch.stack(self.values[start:]), torch.stack(self.counts[start:]))
        return mean
