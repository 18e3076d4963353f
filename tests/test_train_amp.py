"""Mixed precision in the training loop: `autocast=` around the forward pass and the loss,
`scaler=` around backward and the step (lossbook.train.amp, chapter 7)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossbook import losses, train
from lossbook.data import TensorLoader


def make_data(n=24, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=generator), torch.randint(3, (n,), generator=generator)


class Recorder(nn.Module):
    """A linear model recording its output dtype, and whether autocast is on in backward."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(4, 3)
        self.forward_dtypes, self.backward_autocast = [], []

    def forward(self, X):
        scores = self.linear(X)
        self.forward_dtypes.append(scores.dtype)
        if scores.requires_grad:  # not in evaluate
            scores.register_hook(lambda grad: self.backward_autocast.append(
                torch.is_autocast_enabled("cpu")))
        return scores


def test_bfloat16_autocast_covers_the_forward_pass_and_the_loss_not_backward(one_thread):
    X, y = make_data()
    model = Recorder()
    result = train.train_epoch(model, TensorLoader(X, y, 8), nn.CrossEntropyLoss(),
                               torch.optim.SGD(model.parameters(), lr=0.1), autocast=torch.bfloat16)
    assert model.forward_dtypes == [torch.bfloat16] * 3, "the forward pass in bfloat16"
    assert model.backward_autocast == [False] * 3
    assert all(p.dtype == torch.float32 and p.grad.dtype == torch.float32 for p in model.parameters())
    assert 0 < result["loss"] < 10


def test_bfloat16_training_follows_float32_training(one_thread):
    X, y = make_data(96)
    runs = {}
    for dtype in (None, torch.bfloat16):
        model = Recorder()
        history = train.fit(model, TensorLoader(X, y, 16), nn.CrossEntropyLoss(),
                            torch.optim.SGD(model.parameters(), lr=0.1), num_epochs=3,
                            val_loader=TensorLoader(X, y, 32), progress=False, autocast=dtype)
        runs[dtype] = history[-1]
    assert abs(runs[None]["train_loss"] - runs[torch.bfloat16]["train_loss"]) < 0.02
    assert abs(runs[None]["val_loss"] - runs[torch.bfloat16]["val_loss"]) < 0.02


def tiny_loss():
    """Cross-entropy times 1e-9: its float16 gradients underflow to 0 without a scaler."""
    return losses.declare(lambda scores, y: 1e-9 * F.cross_entropy(scores.float(), y, reduction="none"),
                          reduction="none")


@pytest.mark.parametrize("scaled", [False, True])
def test_float16_gradients_underflow_without_a_grad_scaler(one_thread, scaled):
    X, y = make_data(8)
    model = nn.Linear(4, 3)
    reference = nn.Linear(4, 3)
    reference.load_state_dict(model.state_dict())
    tiny_loss()(reference(X), y).mean().backward()  # float32
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16) if scaled else None
    train.train_epoch(model, TensorLoader(X, y, 8), tiny_loss(),
                      torch.optim.SGD(model.parameters(), lr=0.0), autocast=torch.float16, scaler=scaler)
    gradient = model.weight.grad
    if scaled:
        expected = reference.weight.grad  # to float16's precision, relative to its largest
        assert ((gradient - expected).abs() < 1e-2 * expected.abs().max()).all()
        assert scaler.get_scale() == 2.0**16  # finite gradients: the scale is kept
    else:
        assert (gradient == 0).all() and (reference.weight.grad != 0).all()


def test_a_grad_scaler_skips_a_step_with_an_infinite_gradient(one_thread):
    X, y = make_data(8)
    model = nn.Linear(4, 3)
    before = model.weight.detach().clone()
    huge = losses.declare(lambda scores, y: 1e30 * F.cross_entropy(scores.float(), y, reduction="none"),
                          reduction="none")
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    train.train_epoch(model, TensorLoader(X, y, 8), huge, torch.optim.SGD(model.parameters(), lr=1.0),
                      autocast=torch.float16, scaler=scaler)
    assert torch.equal(model.weight.detach(), before)  # the step was skipped
    assert scaler.get_scale() == 2.0**15  # and the scale halved


def test_what_cannot_work_is_refused():
    X, y = make_data(8)
    model = nn.Linear(4, 3)
    with pytest.raises(ValueError, match="autocast must be"):
        train.train_epoch(model, TensorLoader(X, y, 8), nn.CrossEntropyLoss(), lambda: None,
                          autocast=torch.float32)
    with pytest.raises(TypeError, match="GradScaler steps a torch.optim optimizer"):
        train.train_epoch(model, TensorLoader(X, y, 8), nn.CrossEntropyLoss(), lambda: None,
                          autocast=torch.float16, scaler=torch.amp.GradScaler("cpu"))
