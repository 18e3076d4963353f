"""The training loop's parts: its error, the optimizer's two calls, devices, DDP, a progress bar.

Taught with `lossbook.train` in the chapter "Softmax regression on Fashion-MNIST"
(chapter 4); the DDP part in chapter 6, "Averaging when samples don't count the same".
"""

import importlib.util
from collections.abc import Callable, Iterable

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from lossbook.distributed import group


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; `epoch` (None in `evaluate`) and `batch` say where, from 1.

    Example:
        >>> error = NonFiniteLossError(float("nan"), epoch=2, batch=7, num_batches=235)
        >>> error.epoch, error.batch, str(error)
        (2, 7, 'the loss is nan at epoch 2, batch 7 of 235; ...')
    """

    def __init__(self, value: float, epoch: int | None, batch: int, num_batches: int | None):
        self.epoch, self.batch = epoch, batch
        where = "evaluation" if epoch is None else f"epoch {epoch}"
        of = f" of {num_batches}" if num_batches else ""
        then = "" if epoch is None else (
            " Training stopped at the end of the epoch (the loop checks on the device, so as never "
            "to wait for it): every update from that batch on used a non-finite gradient, so the "
            "parameters are not usable.")
        super().__init__(
            f"the loss is {value} at {where}, batch {batch}{of};{then} Usual fixes: a smaller lr, "
            "inputs scaled to a small range (e.g. [0, 1]), or a loss computed from logits "
            "(log-softmax) instead of log(softmax(...))."
        )


def step_functions(optimizer_or_step) -> tuple[Callable[[], object], Callable[[], object]]:
    """`(step, zero_grad)` for an optimizer, or for a hand-written step that zeroes the grads."""
    if isinstance(optimizer_or_step, torch.optim.Optimizer):
        # set_to_none (the default) frees the grads between steps instead of filling them with 0.
        return optimizer_or_step.step, optimizer_or_step.zero_grad
    if callable(optimizer_or_step):
        return optimizer_or_step, lambda: None  # a hand-written step zeroes the grads itself
    raise TypeError(
        f"optimizer_or_step must be a torch.optim optimizer or a callable step(), got "
        f"{type(optimizer_or_step).__name__}; e.g. torch.optim.SGD(model.parameters(), lr=0.1)."
    )


def device_of(model: Callable) -> torch.device | None:
    """Where an `nn.Module`'s parameters are; None for a plain function (batches stay put)."""
    if isinstance(model, torch.nn.Module):
        parameter = next(model.parameters(), None)
        return None if parameter is None else parameter.device
    return None


def to(tensor: torch.Tensor, device: torch.device | None) -> torch.Tensor:
    """`tensor` on `device`, or as it is if `device` is None.

    A copy to an accelerator does not wait (the accelerator's queue orders it before its
    use); a copy to the CPU does, since the CPU could read it before it arrived.
    """
    if device is None or (tensor.is_cpu if device.type == "cpu" else tensor.device == device):
        return tensor
    return tensor.to(device, non_blocking=device.type != "cpu")


def ddp_world_size(model) -> int:
    """The number of processes whose gradients DDP averages for `model` (`distributed=True`).

    Read from the process group, not guessed from the wrapper: a `torch.compile`d DDP
    model works. Wrappers that reduce gradients their own way (FSDP) are refused.
    """
    if not group.is_active():
        raise RuntimeError("distributed=True needs an initialized process group: start with torchrun, "
                           "or call torch.distributed.init_process_group first.")
    inner = getattr(model, "_orig_mod", model)  # torch.compile wraps the model in an OptimizedModule
    if not isinstance(inner, DistributedDataParallel):
        raise TypeError(
            f"distributed=True trains a DistributedDataParallel model (compiled or not), got "
            f"{type(inner).__name__}; the loop scales each process's loss for DDP's averaged gradient, "
            "which FullyShardedDataParallel and other wrappers do not compute the same way. Wrap the "
            "model in DistributedDataParallel, or train with distributed=False."
        )
    return dist.get_world_size(inner.process_group)


def progress_bar(loader: Iterable, progress: bool, description: str):
    """`loader` itself, or wrapped in a tqdm bar: a widget in Jupyter, else text."""
    if not progress:
        return loader
    # tqdm.auto draws a widget in Jupyter, but only if ipywidgets is installed; without it,
    # it warns "IProgress not found" and prints the text bar anyway, cluttering notebook
    # outputs. So: the widget where it works, the plain text bar (no warning) elsewhere.
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(loader, desc=description, unit="batch", leave=True)
