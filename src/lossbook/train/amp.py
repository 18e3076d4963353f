"""Mixed precision for the training loop: `autocast` for the forward pass and the loss only.

Taught in the chapter "Beyond accuracy" (chapter 7), following PyTorch's AMP recipe:

    with torch.autocast(device_type, dtype=torch.float16):   # the forward pass and the loss
        loss = loss_fn(model(X), y)
    scaler.scale(loss).backward()                            # outside autocast
    scaler.step(optimizer)                                   # unscales; skips inf/NaN steps
    scaler.update()

`train_epoch(..., autocast=dtype, scaler=scaler)` does exactly this. The backward pass
runs outside the autocast region: each operation's backward runs in the dtype its
forward pass ran in anyway. In float16, small gradients underflow to 0 (below 2^-24); a
`torch.amp.GradScaler` multiplies the loss by a large factor before `backward()`, so
that they survive, and divides the gradients by it before the step. bfloat16 has
float32's range and needs no scaler.
"""

import contextlib
from collections.abc import Callable

import torch

DTYPES = (torch.float16, torch.bfloat16)


def check(autocast: torch.dtype | None, scaler, optimizer_or_step) -> None:
    """Refuse what cannot work: another dtype, or a scaler without an optimizer to step.

    Example:
        >>> check(torch.bfloat16, None, lambda: None)
        >>> check(torch.float32, None, lambda: None)
        Traceback (most recent call last):
        ...
        ValueError: autocast must be None, torch.float16 or torch.bfloat16, got torch.float32.
    """
    if autocast is not None and autocast not in DTYPES:
        raise ValueError(f"autocast must be None, torch.float16 or torch.bfloat16, got {autocast}.")
    if scaler is not None and not isinstance(optimizer_or_step, torch.optim.Optimizer):
        raise TypeError("a GradScaler steps a torch.optim optimizer (scaler.step(optimizer)), "
                        f"not a {type(optimizer_or_step).__name__}.")


NO_REGION = contextlib.nullcontext()  # reusable: entering it does nothing


def region(autocast: torch.dtype | None, device: torch.device):
    """The autocast region for a batch on `device`; a no-op context for `autocast=None`."""
    if autocast is None:
        return NO_REGION
    return torch.autocast(device.type, dtype=autocast)


def backward(objective: torch.Tensor, scaler) -> None:
    """`objective.backward()`, through the scaler if there is one (outside autocast)."""
    (objective if scaler is None else scaler.scale(objective)).backward()


def scaled_step(step: Callable[[], object], optimizer_or_step, scaler) -> Callable[[], None]:
    """The loop's step: `step()`, or `scaler.step(optimizer)` then `scaler.update()`.

    Example:
        >>> parameter = torch.nn.Parameter(torch.ones(1))
        >>> optimizer = torch.optim.SGD([parameter], lr=1.0)
        >>> scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
        >>> backward((parameter * 0.5).sum(), scaler)
        >>> parameter.grad                       # 0.5, scaled by 2^10
        tensor([512.])
        >>> scaled_step(optimizer.step, optimizer, scaler)()
        >>> parameter.detach()                   # 1 - 0.5: the step used the unscaled gradient
        tensor([0.5000])
    """
    if scaler is None:
        return step

    def step_and_update() -> None:
        scaler.step(optimizer_or_step)
        scaler.update()

    return step_and_update
