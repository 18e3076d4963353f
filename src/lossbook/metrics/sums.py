"""What every metric is made of: running sums, kept where the values are, added up at the end.

Taught in the chapter "Averaging loss and accuracy" (chapter 3). A metric's state is a
few tensors of sums. `update()` adds a batch into them on the device the batch is on
(no copy to the CPU, no `.item()`: a GPU never waits for it), `compute()` divides once,
`reset()` zeroes them for a new epoch.

Several processes: `compute(distributed=True)` adds the sums of every process of the
default `torch.distributed` process group before dividing, so each process gets the
metric over all the samples any of them saw. It all-reduces a *copy* of the sums and
never changes the state: calling it twice, or updating after it, counts nothing twice.
(Adding the other processes' sums into the state itself would make a second call add
every process's already-global sums again: `world_size` times the right totals.) It is
a collective: every process calls it, for the same metrics in the same order, even one
that saw no samples (its sums are zero).
"""

import torch

from lossbook.distributed import group


class RunningSums:
    """Base class: the tensors named in `STATE` are sums, reset to 0 and added into.

    Subclasses create their state tensors in `__init__` (on the CPU) and add with `_add`.
    """

    STATE: tuple[str, ...] = ()

    def reset(self) -> None:
        """Forget every update (the sums stay on their device)."""
        for name in self.STATE:
            getattr(self, name).zero_()

    def _add(self, name: str, increment: torch.Tensor) -> None:
        state = getattr(self, name)
        device = home(increment.device)
        if state.device != device:
            # The first batch decides where the sums live (see `home`).
            for other in self.STATE:
                setattr(self, other, getattr(self, other).to(device))
            state = getattr(self, name)
        state += increment.to(state.device, state.dtype)

    def _summed(self, distributed: bool) -> list[torch.Tensor]:
        """The state, added over every process if `distributed`; the state itself never changes."""
        if not isinstance(distributed, bool):
            raise TypeError(f"distributed must be True or False, got {distributed!r}.")
        states = [getattr(self, name) for name in self.STATE]
        if not (distributed and group.is_active()):
            return states
        return [group.all_reduce(state) for state in states]


def ratio(numerator: torch.Tensor, denominator: torch.Tensor, name: str, or_else: str) -> float:
    """`numerator / denominator` as a Python float; a clear error if nothing was counted."""
    if denominator == 0:
        raise ValueError(
            f"{name}.compute() called before any update() ({or_else}): there is nothing to average."
        )
    return (numerator.double() / denominator).item()


def home(device: torch.device) -> torch.device:
    """Where sums of values on `device` live: there, except MPS (no float64): the CPU."""
    return torch.device("cpu") if device.type == "mps" else device


def as_float64(value, device: torch.device | None = None) -> torch.Tensor:
    """A detached float64 tensor; Python numbers become float64 directly (0.1 stays 0.1)."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
        return value.to(home(device or value.device)).to(torch.float64)
    return torch.tensor(value, dtype=torch.float64, device=home(device or torch.device("cpu")))
