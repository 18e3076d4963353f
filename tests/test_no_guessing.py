"""The package never reports a number averaged with the wrong weights: it reads them or refuses.

Each case of issue 18: plain-function losses, class weights on a partial, a Python float,
the evaluation loss, a compiled DDP model, the earliest bad batch, 16-bit calibration bins.
"""

import functools
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossbook import losses, metrics, train
from lossbook.data import TensorLoader
from lossbook.train import parts


def dataset(n=1000, num_classes=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=generator, dtype=torch.float64)
    y = torch.randint(num_classes, (n,), generator=generator)
    return X, y


def linear(num_classes=5):
    torch.manual_seed(0)
    return nn.Linear(4, num_classes).double()


WEIGHT = torch.tensor([1.0, 3.0, 0.5, 2.0, 1.5], dtype=torch.float64)


@pytest.mark.parametrize("loss_fn", [
    lambda logits, y: F.cross_entropy(logits, y, reduction="sum"),
    functools.partial(F.cross_entropy, weight=WEIGHT),
    F.cross_entropy,
    nn.MSELoss(),
])
def test_a_loss_that_does_not_say_what_it_averages_over_is_refused(loss_fn):
    X, y = dataset(100)
    loader = TensorLoader(X, y, 64)
    with pytest.raises(TypeError, match=r"losses.declare\(fn, reduction="):
        train.evaluate(linear(), loader, loss_fn)
    with pytest.raises(TypeError, match="cannot tell what the loss"):
        train.train_epoch(linear(), loader, loss_fn, lambda: None)
    with pytest.raises(TypeError, match="cannot tell what the loss"):
        metrics.mean_and_count(torch.tensor(1.0), y, loss_fn)


@pytest.mark.parametrize("declared, one_call", [
    (losses.declare(lambda z, y: F.cross_entropy(z, y, reduction="sum"), reduction="sum"),
     lambda z, y: F.cross_entropy(z, y)),
    (losses.declare(functools.partial(F.cross_entropy, weight=WEIGHT), reduction="mean", weight=WEIGHT),
     lambda z, y: F.cross_entropy(z, y, weight=WEIGHT)),
    (nn.CrossEntropyLoss(weight=WEIGHT, ignore_index=2), lambda z, y: F.cross_entropy(z, y, weight=WEIGHT,
                                                                                     ignore_index=2)),
])
def test_a_declared_loss_gives_the_value_of_one_call_over_the_dataset(declared, one_call):
    X, y = dataset()
    model = linear()
    with torch.no_grad():
        expected = one_call(model(X), y).item()
    result = train.evaluate(model, TensorLoader(X, y, 64), declared)
    assert result["loss"] == pytest.approx(expected, rel=1e-12)


def test_accumulating_a_declared_sum_loss_gives_the_full_batch_gradient():
    X, y = dataset(48)
    model = linear()
    loss_fn = losses.declare(lambda z, t: F.cross_entropy(z, t, reduction="sum"), reduction="sum")
    # A summed loss defines the objective as the sum over the whole (accumulated) batch.
    F.cross_entropy(model(X), y, reduction="sum").backward()
    expected = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    grads = []

    def step():
        grads.extend(p.grad.clone() for p in model.parameters())

    train.train_epoch(model, TensorLoader(X, y, 16), loss_fn, step, accumulate=3)
    for grad, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(grad, want, rtol=1e-12, atol=1e-15)


def test_mean_and_count_needs_the_loss_or_its_reduction_and_not_both():
    y = torch.tensor([0, 1])
    with pytest.raises(TypeError, match="say how the loss was reduced"):
        metrics.mean_and_count(torch.tensor(1.0), y)
    with pytest.raises(TypeError, match="not both"):
        metrics.mean_and_count(torch.tensor(1.0), y, nn.CrossEntropyLoss(), reduction="sum")


def test_a_python_float_stays_float64():
    # 0.1 as a float32 tensor is 0.10000000149: the mean of many such batches drifts.
    y = torch.zeros(3, dtype=torch.long)
    mean, count = metrics.mean_and_count(0.1, y, reduction="mean")
    assert mean.dtype == torch.float64 and mean.item() == 0.1 and count.dtype == torch.int64
    loss_metric = metrics.Mean()
    for _ in range(206):
        loss_metric.update(*metrics.mean_and_count(1 / 3, y, reduction="mean"))
    assert loss_metric.compute() == 1 / 3


def test_evaluation_reports_the_nll_whatever_the_training_loss():
    X, y = dataset(200)
    model = linear()
    smoothed = nn.CrossEntropyLoss(label_smoothing=0.1, weight=WEIGHT)
    history = train.fit(model, TensorLoader(X, y, 50), smoothed, lambda: None, num_epochs=1,
                        val_loader=TensorLoader(X, y, 64), progress=False)
    with torch.no_grad():
        logits = model(X)
    assert history[0]["val_loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-12)
    assert history[0]["train_loss"] == pytest.approx(smoothed(logits, y).item(), rel=1e-12)
    assert train.evaluate(model, TensorLoader(X, y, 64))["loss"] == history[0]["val_loss"]


def test_fit_names_the_keys_after_the_loaders_role():
    X, y = dataset(20)
    history = train.fit(linear(), TensorLoader(X, y, 8), nn.CrossEntropyLoss(), lambda: None, 1,
                        val_loader=TensorLoader(X, y, 8), test_loader=TensorLoader(X, y, 8), progress=False)
    assert list(history[0]) == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                "test_loss", "test_accuracy", "seconds"]


class Copy:
    """Records how `parts.to` asks for a copy."""

    device, is_cpu = torch.device("meta"), False

    def to(self, device, non_blocking):
        self.device, self.non_blocking = device, non_blocking
        return self


@pytest.mark.parametrize("device, non_blocking", [("cpu", False), ("cuda", True), ("mps", True)])
def test_a_copy_to_the_cpu_waits_and_a_copy_to_an_accelerator_does_not(device, non_blocking):
    assert parts.to(Copy(), torch.device(device)).non_blocking is non_blocking


def test_16_bit_logits_are_binned_with_float32_edges():
    torch.manual_seed(0)
    logits = torch.randn(4000, 3) * 2
    for dtype in (torch.bfloat16, torch.float16):
        low = logits.to(dtype)
        confidence = low.softmax(dim=1).max(dim=1).values.float()
        ece = metrics.CalibrationError(n_bins=15)
        ece.update(low, torch.zeros(4000, dtype=torch.long))
        edges = torch.linspace(0, 1, 16)  # float32
        expected = torch.bincount(torch.bucketize(confidence, edges[1:-1], right=True), minlength=15)
        assert torch.equal(ece.bins().count, expected)


def test_nll_loss_says_which_mistakes_it_cannot_see():
    assert "all <= 0 pass this check unnoticed" in losses.nll_loss.__doc__.replace("\n", " ").replace(
        "            ", "")
    # Logits that are all negative are not caught: the docstring says so, and so does this.
    logits = torch.tensor([[-3.0, -1.0], [-0.5, -4.0]])
    assert losses.nll_loss(logits, torch.tensor([0, 1])).item() == 3.5


def earliest_bad_batch():
    """Rank 0's loss is NaN at batch 3, rank 1's at batch 2: both must report batch 2."""
    import torch.distributed as dist

    rank = dist.get_rank()
    X, y = torch.zeros(8, 4), torch.zeros(8, dtype=torch.long)
    bad = 3 if rank == 0 else 2
    calls = []

    def loss_fn(z, t):
        calls.append(1)
        loss = F.cross_entropy(z, t)
        return loss * math.nan if len(calls) == bad else loss

    model = nn.parallel.DistributedDataParallel(nn.Linear(4, 2))
    try:
        train.train_epoch(model, TensorLoader(X, y, 2), losses.declare(loss_fn, reduction="mean"),
                          lambda: None, distributed=True)
    except train.NonFiniteLossError as error:
        return error.batch
    return None


def test_every_process_reports_the_earliest_bad_batch_of_any():
    from lossbook import distributed

    assert distributed.launch(earliest_bad_batch, world_size=2, timeout=60, start_method="fork") == [2, 2]


def compiled_ddp_gradient(X, y):
    """A torch.compile'd DDP model, unequal shares: its gradient must be the full batch's."""
    import torch.distributed as dist

    rank = dist.get_rank()
    rows = slice(0, 5) if rank == 0 else slice(5, None)
    model = linear()
    compiled = torch.compile(nn.parallel.DistributedDataParallel(model), backend="eager")
    grads = []

    def step():
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))

    train.train_epoch(compiled, TensorLoader(X[rows], y[rows], 16), nn.CrossEntropyLoss(), step,
                      distributed=True)
    return grads[0]


def test_a_compiled_ddp_model_gives_the_single_process_gradient():
    from lossbook import distributed

    X, y = dataset(16)
    model = linear()
    F.cross_entropy(model(X), y).backward()
    expected = torch.cat([p.grad.flatten() for p in model.parameters()])
    for grad in distributed.launch(compiled_ddp_gradient, world_size=2, args=(X, y), timeout=120,
                                   start_method="fork"):
        torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-15)


def fsdp_refused():
    """FSDP is refused by name (it needs no GPU to be constructed on gloo here)."""
    class FullyShardedDataParallel(nn.Module):  # what the loop sees of an FSDP wrapper
        pass

    try:
        loader = TensorLoader(torch.zeros(2, 4), torch.zeros(2).long(), 2)
        train.train_epoch(FullyShardedDataParallel(), loader,
                          nn.CrossEntropyLoss(), lambda: None, distributed=True)
    except TypeError as error:
        return str(error)
    return ""


def test_a_wrapper_the_loop_cannot_scale_for_is_refused():
    from lossbook import distributed

    messages = distributed.launch(fsdp_refused, world_size=2, timeout=60, start_method="fork")
    assert all("trains a DistributedDataParallel model" in message and "FullyShardedDataParallel" in message
               for message in messages)


def test_the_default_evaluation_loss_refuses_probabilities():
    X, y = dataset(20)
    model = nn.Sequential(linear(), nn.Softmax(dim=1))
    with pytest.raises(ValueError, match="outputs probabilities"):
        train.evaluate(model, TensorLoader(X, y, 8))
    def nll(probabilities, t):
        return -probabilities.gather(1, t[:, None]).squeeze(1).log()

    result = train.evaluate(model, TensorLoader(X, y, 8), losses.declare(nll, reduction="none"))
    with torch.no_grad():
        assert result["loss"] == pytest.approx(F.cross_entropy(linear()(X), y).item(), rel=1e-12)
