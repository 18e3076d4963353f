"""SGD with momentum and Adam written by hand, as step callables that `train.fit` accepts.

Taught in the chapter "An MLP on MNIST" (chapter 5), which checks both against
`torch.optim.SGD(momentum=...)` and `torch.optim.Adam` over 300 steps. Each object is a
function of no arguments: called after `backward`, it updates every parameter from its
`.grad` and zeroes the gradients, which is what `train.fit` expects of a hand-written
step. Its `lr` attribute can be changed between steps (a schedule).

Example:
    >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> step = Momentum([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     (w**2).sum().backward()
    ...     step()
    >>> [round(x, 4) for x in w.tolist()], w.grad.tolist()  # v = 2w, then 0.9 v + 2w
    ([0.46, -0.92], [0.0, 0.0])
"""

import math
from collections.abc import Iterable

import torch

__all__ = ["Adam", "Momentum"]


def _parameters(params: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    params = list(params)
    if not params:
        raise ValueError("no parameters to update: pass model.parameters() or a list of tensors.")
    if not all(p.requires_grad for p in params):
        raise ValueError("every parameter must have requires_grad=True, or it never gets a .grad.")
    return params


class Momentum:
    """SGD with momentum in PyTorch's convention: v ← μ·v + g, then θ ← θ − lr·v.

    The velocity `v` starts at 0, so the first step is plain SGD. With a constant
    gradient `v` tends to g/(1 − μ): the effective step is lr/(1 − μ). Sutskever et al.
    (2013) fold the learning rate into the velocity instead (v ← μ·v − lr·g, θ ← θ + v),
    which is the same path while lr is constant, but a new lr then acts only on the new
    gradients, not at once on the whole velocity as here.

    Args:
        params: The tensors to update (e.g. `model.parameters()`).
        lr: The learning rate.
        momentum: μ, in [0, 1).

    Example:
        >>> w = torch.tensor([3.0], requires_grad=True)
        >>> step = Momentum([w], lr=0.5, momentum=0.0)  # plain SGD
        >>> (w**2).sum().backward(); step(); w.item()
        0.0
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0.9):
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}.")
        self.params, self.lr, self.momentum = _parameters(params), lr, momentum
        self.velocities = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def __call__(self) -> None:
        """One step from every parameter's `.grad`; then zero the grads."""
        for param, velocity in zip(self.params, self.velocities, strict=True):
            if param.grad is None:
                continue
            velocity.mul_(self.momentum).add_(param.grad)  # v <- mu v + g
            param.add_(velocity, alpha=-self.lr)  # theta <- theta - lr v
            param.grad.zero_()


class Adam:
    """Adam (Kingma and Ba, 2015), as `torch.optim.Adam` computes it (no weight decay).

    Two running means per parameter, of the gradient (m, the first moment) and of its
    square (v, the second): m ← β₁·m + (1 − β₁)·g and v ← β₂·v + (1 − β₂)·g². Both start
    at 0, so early on they are too small by the factors 1 − β₁ᵗ and 1 − β₂ᵗ after t
    steps; dividing by these factors (the bias correction) removes that. The step is
    θ ← θ − lr · m̂ / (√v̂ + ε): about lr in size whatever the gradient's scale.

    Args:
        params: The tensors to update.
        lr: The learning rate.
        betas: (β₁, β₂), the decay of the two running means.
        eps: ε, added to √v̂ so that a zero gradient does not divide by zero.

    Example:
        >>> w = torch.tensor([5.0, -0.001], requires_grad=True)
        >>> step = Adam([w], lr=0.1)
        >>> (w**2).sum().backward(); step()
        >>> [round(x, 4) for x in w.tolist()]  # both moved by lr, whatever their gradient
        [4.9, 0.099]
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, self.betas, self.eps = _parameters(params), lr, betas, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    @torch.no_grad()
    def __call__(self) -> None:
        """One step from every parameter's `.grad`; then zero the grads."""
        self.t += 1
        beta1, beta2 = self.betas
        correction1, correction2 = 1 - beta1**self.t, 1 - beta2**self.t
        for param, m, v in zip(self.params, self.m, self.v, strict=True):
            if param.grad is None:
                continue
            grad = param.grad
            m.lerp_(grad, 1 - beta1)  # m <- beta1 m + (1 - beta1) g
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v <- beta2 v + (1 - beta2) g²
            denom = (v.sqrt() / math.sqrt(correction2)).add_(self.eps)  # sqrt(v hat) + eps
            param.addcdiv_(m, denom, value=-self.lr / correction1)  # m hat = m / correction1
            grad.zero_()
