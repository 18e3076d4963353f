"""Training under `torchrun`: join its process group, wrap the model in DDP, leave.

Shown at the end of the chapter "An MLP on MNIST"; used by the command-line runner
(`torchrun --nproc_per_node=N -m lossbook train ...`). Every process holds a copy of the
model and takes its share of every batch (`data.TensorLoader(..., num_replicas, rank)`);
`train` scales each process's loss by the count of the whole batch, so DDP's averaged
gradient is the step one process would take on it. Evaluation shares the test set the
same way (every image exactly once) and the metrics add their sums over processes, so
the reported numbers equal a single-process evaluation.

`lossbook.distributed.launch` starts its own local processes instead (chapter 3); both
join the same kind of process group, which `lossbook.distributed.group` describes.
"""

import ipaddress
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from lossbook.distributed.group import loopback_interface

__all__ = ["Processes", "launched_by_torchrun", "start", "stop", "wrap"]


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
        RuntimeError: torchrun.start: RANK, WORLD_SIZE, LOCAL_RANK and MASTER_ADDR are not set; ...
    """
    if not launched_by_torchrun():
        raise RuntimeError("torchrun.start: RANK, WORLD_SIZE, LOCAL_RANK and MASTER_ADDR are not set; "
                           "start the program with torchrun --nproc_per_node=N -m lossbook ...")
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        # One machine: keep gloo's connections on the loopback interface.
        if _is_loopback(os.environ["MASTER_ADDR"]) and "GLOO_SOCKET_IFNAME" not in os.environ:
            os.environ["GLOO_SOCKET_IFNAME"] = loopback_interface()
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


def _is_loopback(address: str) -> bool:
    try:
        return address == "localhost" or ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
