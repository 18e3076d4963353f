"""`UnpaddedDistributedSampler`: evaluation shards with every sample exactly once.

Taught at the end of the chapter "Averaging loss and accuracy" (chapter 3).
`DistributedSampler` pads the dataset so that every process gets as many samples as the
others, which puts duplicated samples into the metrics; this sampler gives every sample
to exactly one process.
"""

import torch.distributed as dist
from torch.utils.data import Sampler


class UnpaddedDistributedSampler(Sampler[int]):
    """Split a dataset over processes for evaluation: every sample exactly once, no padding.

    Process `rank` gets samples `rank, rank + num_replicas, rank + 2 * num_replicas, ...`:
    the shards of `DistributedSampler(shuffle=False)` without its padded duplicates. The
    shards may differ in size by one sample, so combine them with sums and counts
    (`metrics.Mean.compute(distributed=True)`), not by averaging per-process means.

    Args:
        dataset: Anything with a length (only `len(dataset)` is used).
        num_replicas: Number of processes; the process group's size if None.
        rank: This process's rank; the process group's rank if None.

    Example:
        >>> [list(UnpaddedDistributedSampler(range(5), num_replicas=2, rank=r)) for r in (0, 1)]
        [[0, 2, 4], [1, 3]]
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None):
        if num_replicas is None or rank is None:
            if not (dist.is_available() and dist.is_initialized()):
                raise RuntimeError(
                    "UnpaddedDistributedSampler: no process group is initialized; pass "
                    "num_replicas and rank, or call torch.distributed.init_process_group first."
                )
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in 0 ... {num_replicas - 1}, got rank={rank}.")
        self.indices = range(rank, len(dataset), num_replicas)

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)
