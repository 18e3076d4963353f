"""The CUDA float16 + GradScaler path of PyTorch's AMP recipe through `train.fit` (chapter 7).

Skipped without a GPU; the CPU tests of the same code are in test_train_amp.py."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossbook import losses, models, train
from lossbook.data import TensorLoader

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def make_data(n, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 20, generator=generator)
    y = (X[:, :5].argmax(dim=1)).long()  # learnable: the largest of the first 5 inputs
    return X.cuda(), y.cuda()


def test_float16_autocast_with_a_grad_scaler_trains_like_float32():
    X, y = make_data(2048)
    results = {}
    for dtype in (None, torch.float16):
        torch.manual_seed(0)
        model = models.mlp((20, 64, 5)).cuda()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        scaler = torch.amp.GradScaler("cuda") if dtype else None
        history = train.fit(model, TensorLoader(X, y, 128, shuffle=True), nn.CrossEntropyLoss(), optimizer,
                            num_epochs=5, val_loader=TensorLoader(X, y, 512), progress=False,
                            autocast=dtype, scaler=scaler)
        results[dtype] = history[-1]
        assert all(p.dtype == torch.float32 for p in model.parameters())  # float32 master weights
        if scaler is not None:
            assert 1 <= scaler.get_scale() <= 2.0**24
    assert results[torch.float16]["val_accuracy"] > 0.9
    assert abs(results[None]["val_accuracy"] - results[torch.float16]["val_accuracy"]) < 0.03


def test_the_forward_pass_runs_in_float16_and_backward_outside_autocast():
    X, y = make_data(64)
    torch.manual_seed(0)
    model = nn.Linear(20, 5).cuda()
    seen = []

    def loss_fn(scores, target):
        seen.append((scores.dtype, torch.is_autocast_enabled("cuda")))
        scores.register_hook(lambda grad: seen.append((grad.dtype, torch.is_autocast_enabled("cuda"))))
        return F.cross_entropy(scores, target, reduction="none")

    train.train_epoch(model, TensorLoader(X, y, 64), losses.declare(loss_fn, reduction="none"),
                      torch.optim.SGD(model.parameters(), lr=0.1), autocast=torch.float16,
                      scaler=torch.amp.GradScaler("cuda"))
    assert seen == [(torch.float16, True), (torch.float16, False)]


def test_float16_gradients_underflow_on_cuda_without_the_scaler():
    X, y = make_data(64)
    tiny = losses.declare(lambda scores, y: 1e-9 * F.cross_entropy(scores, y, reduction="none"),
                          reduction="none")
    grads = {}
    for scaler in (None, torch.amp.GradScaler("cuda", init_scale=2.0**16)):
        torch.manual_seed(0)
        model = nn.Linear(20, 5).cuda()
        train.train_epoch(model, TensorLoader(X, y, 64), tiny, torch.optim.SGD(model.parameters(), lr=0.0),
                          autocast=torch.float16, scaler=scaler)
        grads[scaler is not None] = model.weight.grad
    assert (grads[False] == 0).all() and (grads[True] != 0).any()
