"""`TensorLoader`: DataLoader-style batches from tensors already in memory.

Introduced in the intro's "Running the book" and used by every chapter that trains.
`torch.utils.data.DataLoader` over a torchvision dataset decodes each image with PIL and
collates one sample at a time; when the whole dataset fits in memory as two tensors,
slicing them is an order of magnitude faster and gives the same batches. On several
processes (the chapter "An MLP on MNIST", `torchrun`), every process cuts the same
batches and takes its share of each: together they see what one process would.
"""

import math
from collections.abc import Iterator

import torch
from torch.utils.data import TensorDataset

from lossbook import _validate


class TensorLoader:
    """Iterate over `(X, y)` in minibatches with the contract of `DataLoader`.

    `len(loader)` is the number of batches and `len(loader.dataset)` the number of
    samples (what per-sample averages divide by). The last, smaller batch is kept
    unless `drop_last`. With `shuffle`, every epoch draws a fresh permutation, and a
    seeded `generator` (or `torch.manual_seed`) yields exactly the batches that
    `DataLoader(TensorDataset(X, y), batch_size, shuffle=True, generator=...)` would.

    With `num_replicas` processes, each one draws the same order (seed every process
    alike), cuts the same batches, and yields the `rank`-th of `num_replicas` nearly equal
    parts of each: every process runs the same number of steps, every sample is seen
    exactly once (no padding), and `num_replicas=1` gives the batches above. The parts of
    a batch may differ in size by one (or be empty for a tiny last batch), which is why
    `train` normalises by counts summed over the processes.

    Args:
        X: Inputs, first dimension indexing samples.
        y: Targets, same length as `X`.
        batch_size: Samples per batch, at least 1; over all processes with `num_replicas`.
        shuffle: Draw a new random order every epoch.
        drop_last: Drop the last batch if it is smaller than `batch_size`.
        generator: Random generator for the order; the global one if None.
        num_replicas: Number of processes sharing every batch.
        rank: This process, in `0 … num_replicas - 1`.

    Raises:
        ValueError: If `X` and `y` differ in length, are empty, or `batch_size < 1`.

    Example:
        >>> X, y = torch.arange(10.0).reshape(5, 2), torch.arange(5)
        >>> loader = TensorLoader(X, y, batch_size=2)
        >>> len(loader), len(loader.dataset)
        (3, 5)
        >>> [yb.tolist() for _, yb in loader]
        [[0, 1], [2, 3], [4]]
        >>> [[yb.tolist() for _, yb in TensorLoader(X, y, 2, num_replicas=2, rank=r)] for r in (0, 1)]
        [[[0], [2], [4]], [[1], [3], []]]
    """

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
        *,
        num_replicas: int = 1,
        rank: int = 0,
    ):
        _check_tensors(X, y)
        _validate.positive_int("batch_size", batch_size)
        _validate.positive_int("num_replicas", num_replicas)
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in 0 ... {num_replicas - 1}, got rank={rank}.")
        self.num_replicas, self.rank = num_replicas, rank
        self.dataset = TensorDataset(X, y)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # DataLoader draws a base seed for its workers at the start of every epoch, even
        # with no workers. Drawing it too keeps seeded runs sample-for-sample identical
        # to DataLoader, including every random number drawn after the loader.
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        return self._batches()

    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        X, y = self.dataset.tensors
        generator = self._shuffle_generator() if self.shuffle else None
        order = None if generator is None else torch.randperm(len(X), generator=generator)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            # Without shuffling a slice is a view: no copy at all.
            rows = slice(start, min(start + self.batch_size, len(X)))
            if self.num_replicas > 1:
                rows = self._share(rows)
            if order is not None:
                rows = order[rows]
            yield X[rows], y[rows]
        if generator is not None:
            # RandomSampler draws one more (empty) permutation when it runs out; so do we,
            # so that the next epoch's order matches DataLoader's too.
            torch.randperm(len(X), generator=generator)

    def _share(self, rows: slice) -> slice:
        """This process's contiguous part of the batch `rows`: sizes differ by at most one."""
        size, extra = divmod(rows.stop - rows.start, self.num_replicas)
        start = rows.start + self.rank * size + min(self.rank, extra)
        return slice(start, start + size + (self.rank < extra))

    def _shuffle_generator(self) -> torch.Generator:
        if self.generator is not None:
            return self.generator
        # As RandomSampler: a fresh generator seeded from the global one.
        seed = int(torch.empty((), dtype=torch.int64).random_().item())
        return torch.Generator().manual_seed(seed)


def _check_tensors(X: torch.Tensor, y: torch.Tensor) -> None:
    if not (isinstance(X, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise ValueError(
            f"X and y must be tensors, got {type(X).__name__} and {type(y).__name__}; "
            "use lossbook.data.as_tensors(dataset) to turn a dataset into tensors."
        )
    if len(X) != len(y):
        raise ValueError(
            f"X and y must have one target per sample, got {len(X)} inputs and {len(y)} targets."
        )
    if len(X) == 0:
        raise ValueError("X and y are empty: there is nothing to batch.")
