"""Training on several processes with DistributedDataParallel, as `torchrun` starts them.

Shown at the end of the chapter "An MLP on MNIST"; used by the command-line runner
(`torchrun --nproc_per_node=N -m lossbook train ...`). Every process holds a copy of the
model. At each step every process takes its own equal share of one global batch; DDP
averages the gradients, so all copies take the same step as one process would on the
whole batch. Evaluation splits the test set without padding (every image exactly once),
and the metrics add their sums over processes (`train.evaluate(..., distributed=True)`,
which calls `metrics.Mean.compute(distributed=True)`), so the reported numbers equal a
single-process evaluation.
"""

import ipaddress
import math
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from lossbook import distributed

__all__ = ["Processes", "ShardedBatches", "evaluation_shard", "launched_by_torchrun", "start", "stop", "wrap"]


@dataclass(frozen=True)
class Processes:
    """Where this process stands: its `rank` of `world_size`, and the `device` it trains on.

    Example:
        >>> Processes(rank=1, world_size=2).is_main
        False
    """

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints and saves."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """Whether `torchrun` (or any launcher that sets its environment variables) started us.

    Example:
        >>> launched_by_torchrun()
        False
    """
    return all(name in os.environ for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"))


def start(device: torch.device) -> Processes:
    """Join the process group that `torchrun` set up; gloo on CPU, NCCL on CUDA.

    Each process trains on `device`; a CUDA device without an index becomes
    `cuda:LOCAL_RANK`, one GPU per process. On one machine (MASTER_ADDR a loopback
    address) gloo is kept on the loopback interface.

    Raises:
        RuntimeError: Not started by torchrun.

    Example:
        >>> start(torch.device("cpu"))  # in a plain `python` process
        Traceback (most recent call last):
        RuntimeError: ddp.start: RANK, WORLD_SIZE, LOCAL_RANK and MASTER_ADDR are not set; ...
    """
    if not launched_by_torchrun():
        raise RuntimeError("ddp.start: RANK, WORLD_SIZE, LOCAL_RANK and MASTER_ADDR are not set; "
                           "start the program with torchrun --nproc_per_node=N -m lossbook ...")
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        # One machine: keep gloo's connections on the loopback interface.
        if _is_loopback(os.environ["MASTER_ADDR"]) and "GLOO_SOCKET_IFNAME" not in os.environ:
            os.environ["GLOO_SOCKET_IFNAME"] = distributed.loopback_interface()
        dist.init_process_group("gloo")
    return Processes(dist.get_rank(), dist.get_world_size(), device)


def stop() -> None:
    """Leave the process group (if any), so that the program exits cleanly.

    Example:
        >>> stop()  # no process group: nothing to do
    """
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, processes: Processes) -> torch.nn.Module:
    """`model` in DistributedDataParallel (which averages gradients) on several processes.

    Example:
        >>> model = torch.nn.Linear(2, 2)
        >>> wrap(model, Processes()) is model  # one process: nothing to wrap
        True
    """
    if processes.world_size == 1:
        return model
    device_ids = [processes.device.index] if processes.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


class ShardedBatches:
    """Training batches for one process: its share of every global batch, reshuffled every epoch.

    Every epoch all processes draw the same permutation (from `seed` and the epoch) and cut it
    into global batches of `batch_size`; process `rank` takes the `rank`-th of `world_size`
    equal slices of each. So every process runs the same number of equal-sized steps, and
    together they see exactly the batches one process would (`world_size=1`). Only a last
    global batch that does not split evenly is topped up with up to `world_size - 1` images
    from the start of the permutation: they are seen twice in that epoch.

    Args:
        X: Inputs, first dimension indexing samples.
        y: Targets.
        batch_size: Samples per global batch: a multiple of `world_size`.
        rank: This process.
        world_size: Number of processes.
        seed: Seeds the permutations: the same on every process.

    Example:
        >>> X, y = torch.arange(10.0).reshape(5, 2), torch.arange(5)
        >>> shards = [ShardedBatches(X, y, 4, rank=r, world_size=2) for r in (0, 1)]
        >>> [[yb.tolist() for _, yb in shard] for shard in shards]
        [[[4, 0], [2]], [[1, 3], [4]]]
        >>> [yb.tolist() for _, yb in ShardedBatches(X, y, 4)]  # one process: the same batches
        [[4, 0, 1, 3], [2]]
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int, *, rank: int = 0,
                 world_size: int = 1, seed: int = 0):
        if len(X) != len(y) or len(X) == 0:
            raise ValueError(f"X and y must be non-empty and of one length, got {len(X)} and {len(y)}.")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in 0 ... {world_size - 1}, got rank={rank}.")
        if batch_size < 1 or batch_size % world_size:
            raise ValueError(f"batch_size must be a positive multiple of the {world_size} processes, "
                             f"got {batch_size}; each process takes batch_size / {world_size} samples.")
        self.X, self.y, self.batch_size = X, y, batch_size
        self.rank, self.world_size, self.seed = rank, world_size, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of this epoch (as `DistributedSampler.set_epoch`)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.X), generator=generator)
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            if len(rows) % self.world_size:  # the last batch: top it up to an even split
                extra = -len(rows) % self.world_size
                rows = torch.cat([rows, order[torch.arange(extra) % len(order)]])
            share = len(rows) // self.world_size
            mine = rows[self.rank * share:(self.rank + 1) * share]
            yield self.X[mine], self.y[mine]


def evaluation_shard(X: torch.Tensor, y: torch.Tensor, processes: Processes):
    """This process's part of an evaluation set: every sample on exactly one process.

    Example:
        >>> evaluation_shard(torch.arange(5), torch.arange(5), Processes(rank=1, world_size=2))
        (tensor([1, 3]), tensor([1, 3]))
    """
    sampler = distributed.UnpaddedDistributedSampler(X, processes.world_size, processes.rank)
    rows = torch.as_tensor(list(sampler), dtype=torch.long)
    return X[rows], y[rows]


def _is_loopback(address: str) -> bool:
    try:
        return address == "localhost" or ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
