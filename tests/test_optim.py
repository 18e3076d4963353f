"""The hand-written optimizers equal torch.optim's, step for step (chapter 5)."""

import pytest
import torch
from torch import nn

from lossbook import data, optim, train


def _two_models(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    twin = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    twin.load_state_dict(model.state_dict())
    return model, twin


def _run(model, step_or_optimizer, num_steps=300):
    generator = torch.Generator().manual_seed(1)
    zero = getattr(step_or_optimizer, "zero_grad", lambda: None)
    step = getattr(step_or_optimizer, "step", step_or_optimizer)
    for _ in range(num_steps):
        X = torch.randn(16, 5, generator=generator)
        y = torch.randint(0, 3, (16,), generator=generator)
        nn.functional.cross_entropy(model(X), y).backward()
        step()
        zero()


CASES = {
    "plain SGD": (lambda p: optim.Momentum(p, lr=0.05, momentum=0.0),
                  lambda p: torch.optim.SGD(p, lr=0.05)),
    "momentum 0.5": (lambda p: optim.Momentum(p, lr=0.05, momentum=0.5),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5)),
    "momentum 0.9": (lambda p: optim.Momentum(p, lr=0.05, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "Adam": (lambda p: optim.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "Adam, other betas": (lambda p: optim.Adam(p, lr=0.01, betas=(0.5, 0.9)),
                          lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.5, 0.9))),
}


@pytest.mark.parametrize("case", CASES)
def test_equals_torch_optim_after_300_steps(case):
    make_ours, make_theirs = CASES[case]
    ours, theirs = _two_models()
    _run(ours, make_ours(ours.parameters()))
    _run(theirs, make_theirs(theirs.parameters()))
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p, q)
        assert torch.count_nonzero(p.grad) == 0  # the step zeroed the grads


def test_lr_can_change_between_steps_like_a_scheduler():
    ours, theirs = _two_models()
    step = optim.Momentum(ours.parameters(), lr=0.1, momentum=0.9)
    optimizer = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    _run(ours, step, 50)
    _run(theirs, optimizer, 50)
    step.lr = optimizer.param_groups[0]["lr"] = 0.01
    _run(ours, step, 50)
    _run(theirs, optimizer, 50)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_fit_accepts_the_steps():
    torch.manual_seed(0)
    X, y = torch.randn(64, 5), torch.arange(64) % 3
    model = nn.Linear(5, 3)
    history = train.fit(model, data.TensorLoader(X, y, 16), nn.CrossEntropyLoss(),
                        optim.Adam(model.parameters(), lr=0.05), 3, progress=False)
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_refuses_bad_arguments():
    with pytest.raises(ValueError, match="momentum"):
        optim.Momentum([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="no parameters"):
        optim.Adam([])
    with pytest.raises(ValueError, match="requires_grad"):
        optim.Adam([torch.zeros(1)])
