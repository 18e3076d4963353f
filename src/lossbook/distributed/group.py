"""The default process group, as the metrics and the training loop use it.

Taught at the end of the chapter "Averaging loss and accuracy" (chapter 3): a metric adds
its sums over every process, and the training loop (chapter 6) scales each process's
loss by the world size of the group. One place decides whether there is a group, its
size, and the device its collectives need.

Example:
    >>> is_active(), world_size()  # a plain process: no group
    (False, 1)
"""

import os
import socket

import torch
import torch.distributed as dist


def is_active() -> bool:
    """Whether `torch.distributed` has an initialized default process group."""
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    """The number of processes in the default group; 1 without one."""
    return dist.get_world_size() if is_active() else 1


def collective_device() -> torch.device:
    """Where tensors must be for the group's collectives: NCCL reduces GPU tensors, gloo CPU ones."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce(tensor: torch.Tensor, op=dist.ReduceOp.SUM) -> torch.Tensor:
    """A reduced copy of `tensor` over every process (on the group's device); `tensor` is unchanged."""
    copy = tensor.to(collective_device(), copy=True)  # all_reduce works in place
    dist.all_reduce(copy, op=op)
    return copy


def loopback_interface() -> str:
    """The name of this machine's loopback network interface, for `GLOO_SOCKET_IFNAME`.

    Example:
        >>> loopback_interface() in {"lo", "lo0"} or bool(os.environ.get("GLOO_SOCKET_IFNAME"))
        True
    """
    try:
        names = {name for _, name in socket.if_nameindex()}
    except OSError:
        names = set()
    for name in ("lo", "lo0"):  # Linux, macOS and the BSDs
        if name in names:
            return name
    if os.environ.get("GLOO_SOCKET_IFNAME"):
        return os.environ["GLOO_SOCKET_IFNAME"]
    raise RuntimeError("no loopback network interface (lo or lo0) found; set the "
                       "environment variable GLOO_SOCKET_IFNAME to its name.")
