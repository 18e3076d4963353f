"""The training loop's parts (`lossbook.train`): its error, what it watches, checks, a progress bar.

Taught with `lossbook.train` in the chapter "Softmax regression on Fashion-MNIST".
"""

import importlib.util
from collections.abc import Callable, Iterable

import torch
import torch.distributed as dist

from lossbook import metrics
from lossbook.metrics.mean import per_target_shape


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


def loss_options(loss_fn: Callable | None) -> dict:
    """The options of an `nn` loss that decide what a batch counts for: `weight`, `ignore_index`."""
    options = {}
    if getattr(loss_fn, "weight", None) is not None:
        options["weight"] = loss_fn.weight
    if isinstance(getattr(loss_fn, "ignore_index", None), int):
        options["ignore_index"] = loss_fn.ignore_index
    return options


def reduction_of(loss_fn: Callable, loss: torch.Tensor, y: torch.Tensor) -> str:
    """`"mean"`, `"sum"` or `"none"`: what `loss_fn` returned, from its shape and `reduction`."""
    if loss.dim() == 0:
        return "sum" if getattr(loss_fn, "reduction", "mean") == "sum" else "mean"
    per_target = per_target_shape(y)
    if loss.shape == per_target:
        return "none"
    raise ValueError(
        f"loss_fn returned a loss of shape {tuple(loss.shape)} for targets of shape {tuple(y.shape)}; "
        f"return the batch mean (a scalar) or one loss per sample (shape {tuple(per_target)})."
    )


def device_of(model: Callable) -> torch.device | None:
    """Where an `nn.Module`'s parameters are; None for a plain function (batches stay put)."""
    if isinstance(model, torch.nn.Module):
        parameter = next(model.parameters(), None)
        return None if parameter is None else parameter.device
    return None


def to(tensor: torch.Tensor, device: torch.device | None) -> torch.Tensor:
    """`tensor` on `device` (without waiting for the copy), or as it is if `device` is None."""
    return tensor if device is None else tensor.to(device, non_blocking=True)


def check_positive(name: str, value, allow_none: bool = False) -> None:
    """A clear error unless `value` is a positive integer (or None, if allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


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


class Watch:
    """The epoch's loss and accuracy, the running loss, and where the loss stopped being finite.

    Each batch only appends its loss, its count, its predictions and its targets to lists,
    on their device: two metric updates per batch would cost a small model more than its
    own step. A logged line or the end of the epoch hands them to `metrics.Mean` and
    `metrics.Accuracy` in one `update` each, and looks for a non-finite loss.
    """

    def __init__(self, epoch: int | None, loader, distributed: bool, loss_fn, ignore_index: int | None):
        self.epoch, self.distributed, self.with_loss = epoch, distributed, loss_fn is not None
        self.num_batches = len(loader) if hasattr(loader, "__len__") else None
        self.accuracy = metrics.Accuracy(ignore_index=ignore_index)
        self.batches, self.values, self.counts, self.preds, self.targets = [], [], [], [], []
        self.logged = 0  # values[:logged] are in a running loss already

    def add(self, batch: int, scores, y, value, count) -> None:
        if value is None:  # no loss to check the labels: let Accuracy check them
            self.accuracy.update(scores, y)
            return
        # The loss function has checked the labels; argmax is all accuracy needs.
        preds = scores.argmax(dim=1) if scores.dim() == y.dim() + 1 else scores
        self.preds.append(preds.reshape(-1))
        self.targets.append(y.reshape(-1))
        self.batches.append(batch)
        self.values.append(value.detach())
        self.counts.append(count)

    def running_loss(self) -> float:
        self.check()
        running = metrics.Mean()
        if self.values[self.logged:]:
            running.update(torch.stack(self.values[self.logged:]), torch.stack(self.counts[self.logged:]))
        self.logged = len(self.values)
        return running.compute(distributed=self.distributed)

    def postfix_due(self, batch: int) -> bool:
        return batch % max(1, (self.num_batches or 1000) // 20) == 0

    def loss_so_far(self) -> float:
        """This process's mean loss over the epoch so far (for the progress bar)."""
        values, counts = torch.stack(self.values).double(), torch.stack(self.counts).double()
        return (torch.where(counts == 0, 0.0, values * counts).sum() / counts.sum()).item()

    def check(self) -> None:
        """Raise `NonFiniteLossError` if a batch's loss was NaN or infinite, on any process."""
        first, value = 0, float("nan")
        if self.values:
            values, counts = torch.stack(self.values), torch.stack(self.counts)
            # torch's mean over a batch of ignored targets is nan (0 / 0): it counts for nothing.
            bad = (~torch.isfinite(values) & (counts != 0)).nonzero()
            if len(bad):
                first, value = self.batches[int(bad[0])], values[bad[0]].item()
        if self.distributed and dist.is_available() and dist.is_initialized():
            # Every process stops together: a process that raised alone would leave the
            # others waiting in their next collective.
            device = "cuda" if dist.get_backend() == "nccl" else "cpu"
            flag = torch.tensor(first, device=device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            first = first or int(flag)
        if first:
            raise NonFiniteLossError(value, self.epoch, first, self.num_batches)

    def result(self) -> dict[str, float]:
        self.check()
        result, loss = {}, metrics.Mean()
        if self.values:
            loss.update(torch.stack(self.values), torch.stack(self.counts))
            self.accuracy.update(torch.cat(self.preds), torch.cat(self.targets))
        if self.with_loss:
            result["loss"] = loss.compute(distributed=self.distributed)
        return result | {"acc": self.accuracy.compute(distributed=self.distributed)}
