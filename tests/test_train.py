import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lossbook import losses, train
from lossbook.data import TensorLoader


def make_data(n, num_classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=generator)
    y = torch.randint(num_classes, (n,), generator=generator)
    return X, y


def frozen_model(num_classes=3):
    torch.manual_seed(0)
    return nn.Linear(4, num_classes)


def no_step():
    """A step that changes nothing, so every batch sees the same model."""


class Recorder(nn.Module):
    """A linear model that records the mode, grad mode and device of every forward pass."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.calls = []

    def forward(self, X):
        self.calls.append((self.training, torch.is_grad_enabled(), X.device))
        return self.linear(X)


class NaNAt:
    """Cross-entropy that turns NaN (or inf) at the `at`-th call, counting from 1."""

    def __init__(self, at, value=math.nan):
        self.at, self.value, self.calls = at, value, 0

    def __call__(self, logits, y):
        self.calls += 1
        loss = F.cross_entropy(logits, y)
        return loss * self.value if self.calls == self.at else loss


# --- per-sample averaging ---------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 16),
       reduction=st.sampled_from(["mean", "sum", "none"]))
def test_epoch_loss_and_accuracy_are_per_sample_means_whatever_the_batching(n, batch_size, reduction):
    X, y = make_data(n)
    model = frozen_model()
    with torch.no_grad():
        logits = model(X)
    expected_loss = F.cross_entropy(logits, y).item()
    expected_acc = (logits.argmax(1) == y).double().mean().item()
    loader = TensorLoader(X, y, batch_size)
    loss_fn = nn.CrossEntropyLoss(reduction=reduction)

    trained = train.train_epoch(model, loader, loss_fn, no_step)
    evaluated = train.evaluate(model, loader, loss_fn)

    for result in trained, evaluated:
        assert result["loss"] == pytest.approx(expected_loss, rel=1e-5)
        assert result["accuracy"] == pytest.approx(expected_acc)


def test_partial_last_batch_counts_for_its_samples_not_as_a_whole_batch():
    # 10 samples in batches of 4, 4, 2 whose per-sample losses are 1, 1, 4: the mean over
    # samples is (4 + 4 + 8) / 10 = 1.6; the mean of the three batch means would be 2.
    X, y = torch.zeros(10, 1), torch.zeros(10, dtype=torch.long)
    batch_losses = iter([torch.ones(4), torch.ones(4), torch.full((2,), 4.0)])

    def loss_fn(scores, y):
        return next(batch_losses) + 0 * scores.sum()  # per-sample losses, still attached to the graph

    model = nn.Linear(1, 2)
    loss_fn = losses.declare(loss_fn, reduction="none")
    result = train.train_epoch(model, TensorLoader(X, y, 4), loss_fn, no_step)
    assert result["loss"] == pytest.approx(1.6)


def test_running_loss_is_logged_every_k_batches_as_a_per_sample_mean():
    X, y = make_data(10)
    model = frozen_model()
    lines = []
    train.train_epoch(model, TensorLoader(X, y, 3), nn.CrossEntropyLoss(), no_step,
                      epoch=2, log_every=2, log=lines.append)
    with torch.no_grad():
        losses = F.cross_entropy(model(X), y, reduction="none")
    # 4 batches (3, 3, 3, 1): logged after batches 2 and 4, each over the batches since the last log.
    assert lines == [
        f"[epoch 2, batch     2] running loss {losses[:6].mean():.4f}",
        f"[epoch 2, batch     4] running loss {losses[6:].mean():.4f}",
    ]


# --- non-finite losses ------------------------------------------------------------------

@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_loss_stops_training_at_the_end_of_the_epoch_naming_the_batch(value):
    X, y = make_data(16)
    loader = TensorLoader(X, y, 4)  # 4 batches per epoch
    steps = []
    loss_fn = losses.declare(NaNAt(at=4 + 3, value=value), reduction="mean")  # epoch 2, batch 3

    with pytest.raises(train.NonFiniteLossError, match=r"epoch 2, batch 3 of 4") as info:
        train.fit(frozen_model(), loader, loss_fn, lambda: steps.append(1), num_epochs=3, progress=False)
    assert (info.value.epoch, info.value.batch) == (2, 3)
    assert str(value) in str(info.value) and "smaller lr" in str(info.value)
    assert "not usable" in str(info.value)
    assert len(steps) == 4 + 4, "checked on the device: the epoch ends, the next one never starts"


def test_a_logged_line_notices_a_non_finite_loss_before_the_epoch_ends():
    X, y = make_data(16)
    steps, lines = [], []
    with pytest.raises(train.NonFiniteLossError, match="epoch 1, batch 1 of 8"):
        train.train_epoch(frozen_model(), TensorLoader(X, y, 2),
                          losses.declare(NaNAt(at=1), reduction="mean"),
                          lambda: steps.append(1),
                          log_every=2, log=lines.append)
    assert len(steps) == 1 and lines == []  # stopped before the logged batch updates anything


def test_diverging_from_scratch_softmax_regression_is_stopped():
    X, y = make_data(64)
    W = torch.zeros(4, 3, requires_grad=True)

    def model(X):
        exp = torch.exp(X @ W)  # the naive softmax overflows once the logits pass ~88
        return exp / exp.sum(dim=1, keepdim=True)

    def cross_entropy(y_hat, y):
        return -torch.log(y_hat.gather(1, y[:, None]).squeeze(1))

    def sgd():
        with torch.no_grad():
            W.sub_(1e4 * W.grad)
            W.grad.zero_()

    with pytest.raises(train.NonFiniteLossError, match=r"epoch \d+, batch \d+ of 8"):
        train.fit(model, TensorLoader(X, y, 8), losses.declare(cross_entropy, reduction="none"), sgd,
                  num_epochs=5, progress=False)


def test_non_finite_loss_in_evaluation_is_an_error_too():
    X, y = make_data(12)
    with pytest.raises(train.NonFiniteLossError, match="evaluation, batch 2 of 3") as info:
        train.evaluate(frozen_model(), TensorLoader(X, y, 5), losses.declare(NaNAt(at=2), reduction="mean"))
    assert info.value.epoch is None


# --- modes, gradients, devices, optimizers ----------------------------------------------

def test_train_mode_with_grads_in_training_eval_mode_without_grads_in_evaluation():
    X, y = make_data(12)
    loader = TensorLoader(X, y, 5)
    model = Recorder().eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    train.train_epoch(model, loader, nn.CrossEntropyLoss(), optimizer)
    assert model.calls == [(True, True, torch.device("cpu"))] * 3
    model.calls.clear()
    train.evaluate(model, loader, nn.CrossEntropyLoss())
    assert model.calls == [(False, False, torch.device("cpu"))] * 3
    assert model.training, "evaluate gives the model back in the mode it was in"
    model.eval()
    train.evaluate(model, loader, nn.CrossEntropyLoss())
    assert not model.training


def test_batches_are_moved_to_the_requested_device():
    X, y = make_data(6)
    model = Recorder()
    train.evaluate(model, TensorLoader(X, y, 3), None, device="cpu")
    train.train_epoch(model, TensorLoader(X, y, 3), nn.CrossEntropyLoss(), no_step,
                      device=torch.device("cpu"))
    assert {device for *_, device in model.calls} == {torch.device("cpu")}


def test_fit_with_an_optimizer_matches_the_textbook_loop():
    X, y = make_data(30)
    loader = TensorLoader(X, y, 8)

    def fresh():
        model = frozen_model()
        return model, torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)

    model, optimizer = fresh()
    train.fit(model, loader, nn.CrossEntropyLoss(), optimizer, num_epochs=3, progress=False)
    reference, optimizer = fresh()
    for _ in range(3):
        for xb, yb in loader:
            optimizer.zero_grad()
            F.cross_entropy(reference(xb), yb).backward()
            optimizer.step()
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs)


def test_a_plain_function_model_with_a_hand_written_step_learns():
    X, y = make_data(200, num_classes=2)
    y = (X[:, 0] > 0).long()  # separable
    W = torch.zeros(4, 2, requires_grad=True)

    def sgd():
        with torch.no_grad():
            W.sub_(0.5 * W.grad)
            W.grad.zero_()

    history = train.fit(lambda X: X @ W, TensorLoader(X, y, 32), nn.CrossEntropyLoss(), sgd,
                        num_epochs=5, progress=False)
    assert history[-1]["train_accuracy"] > 0.9
    assert history[-1]["train_loss"] < history[0]["train_loss"]


@pytest.mark.parametrize("bad", [None, 0.1, "sgd"])
def test_something_that_cannot_step_is_rejected(bad):
    X, y = make_data(4)
    with pytest.raises(TypeError, match="optimizer_or_step must be"):
        train.train_epoch(frozen_model(), TensorLoader(X, y, 2), nn.CrossEntropyLoss(), bad)


def test_a_loss_of_the_wrong_shape_is_rejected():
    X, y = make_data(4)
    with pytest.raises(ValueError, match="gives one loss per target"):
        train.train_epoch(frozen_model(), TensorLoader(X, y, 2),
                          losses.declare(lambda s, y: s, reduction="none"),
                          no_step)


@pytest.mark.parametrize("name, kwargs", [("num_epochs", {"num_epochs": 0}),
                                          ("log_every", {"num_epochs": 1, "log_every": 0})])
def test_counts_must_be_positive(name, kwargs):
    X, y = make_data(4)
    with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
        train.fit(frozen_model(), TensorLoader(X, y, 2), nn.CrossEntropyLoss(), no_step, progress=False,
                  **kwargs)


# --- fit: history, hooks, progress ------------------------------------------------------

def test_history_has_one_record_per_epoch_with_the_metrics_of_that_epoch():
    X, y = make_data(50)
    X_test, y_test = make_data(20, seed=1)
    model = frozen_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []
    history = train.fit(model, TensorLoader(X, y, 16, shuffle=True), nn.CrossEntropyLoss(), optimizer,
                        num_epochs=3, test_loader=TensorLoader(X_test, y_test, 16), progress=False,
                        on_epoch=seen.append)

    assert [record["epoch"] for record in history] == [1, 2, 3]
    assert seen == history
    for record in history:
        assert set(record) == {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                               "seconds"}
        assert 0 <= record["train_accuracy"] <= 1 and 0 <= record["test_accuracy"] <= 1
        assert record["train_loss"] > 0 and record["seconds"] >= 0
    # The last record's test metrics are those of the final model.
    final = train.evaluate(model, TensorLoader(X_test, y_test, 7), nn.CrossEntropyLoss())
    assert history[-1]["test_loss"] == pytest.approx(final["loss"])
    assert history[-1]["test_accuracy"] == pytest.approx(final["accuracy"])
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_history_without_a_test_loader_has_only_train_metrics():
    X, y = make_data(8)
    history = train.fit(frozen_model(), TensorLoader(X, y, 4), nn.CrossEntropyLoss(), no_step,
                        num_epochs=1, progress=False)
    assert set(history[0]) == {"epoch", "train_loss", "train_accuracy", "seconds"}


def test_progress_off_prints_nothing_and_progress_on_draws_a_bar(capsys):
    X, y = make_data(8)
    loader = TensorLoader(X, y, 4)
    train.fit(frozen_model(), loader, nn.CrossEntropyLoss(), no_step, num_epochs=2, progress=False)
    assert capsys.readouterr() == ("", "")
    train.fit(frozen_model(), loader, nn.CrossEntropyLoss(), no_step, num_epochs=2, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "epoch 1" in err and "epoch 2" in err and "2/2" in err


def test_log_lines_go_to_stdout_by_default(capsys):
    X, y = make_data(8)
    train.fit(frozen_model(), TensorLoader(X, y, 2), nn.CrossEntropyLoss(), no_step, num_epochs=1,
              progress=False, log_every=2)
    assert capsys.readouterr().out.splitlines()[1].startswith("[epoch 1, batch     4] running loss ")


def test_distributed_training_without_a_process_group_is_a_clear_error():
    X, y = make_data(10)
    loader = TensorLoader(X, y, 4)
    with pytest.raises(RuntimeError, match="needs an initialized process group"):
        train.fit(frozen_model(), loader, nn.CrossEntropyLoss(), no_step, num_epochs=1, progress=False,
                  distributed=True)
    # Evaluation only adds sums: without a group, the local numbers.
    assert train.evaluate(frozen_model(), loader, distributed=True) == train.evaluate(frozen_model(), loader)


def sharded_epoch(n, batch_size):
    """One process's share of an epoch (runs inside distributed.launch): rank r gets X[r::2]."""
    import torch.distributed as dist

    rank, world_size = dist.get_rank(), dist.get_world_size()
    X, y = make_data(n)
    loader = TensorLoader(X[rank::world_size], y[rank::world_size], batch_size)
    model, lines = frozen_model(), []
    ddp_model = nn.parallel.DistributedDataParallel(model)
    trained = train.train_epoch(ddp_model, loader, nn.CrossEntropyLoss(), no_step, distributed=True,
                                log_every=1, log=lines.append)
    evaluated = train.evaluate(model, loader, nn.CrossEntropyLoss(), distributed=True)
    local = train.evaluate(model, loader)
    return trained, evaluated, local, lines


def test_distributed_averages_are_over_the_samples_of_every_process():
    distributed = pytest.importorskip("lossbook.distributed")
    # 11 samples: shards of 6 and 5 samples, batches of 4 (4 + 2 and 4 + 1).
    results = distributed.launch(sharded_epoch, world_size=2, args=(11, 4), timeout=60, start_method="fork")
    X, y = make_data(11)
    with torch.no_grad():
        logits = frozen_model()(X)
    losses = F.cross_entropy(logits, y, reduction="none")
    expected = {"loss": losses.mean().item(), "accuracy": (logits.argmax(1) == y).double().mean().item()}
    for trained, evaluated, _, _ in results:
        for result in trained, evaluated:
            assert result == pytest.approx(expected, rel=1e-6)
    mean_of_means = sum(local["loss"] for _, _, local, _ in results) / 2
    assert mean_of_means != pytest.approx(expected["loss"], rel=1e-6)  # what the sums avoid
    # The running loss of batch 2 covers the 2 + 1 samples of the second batches (rows 8, 9, 10).
    second_log = f"[epoch 1, batch     2] running loss {losses[8:].mean():.4f}"
    assert results[0][3][1] == results[1][3][1] == second_log


def test_fit_tells_a_distributed_sampler_the_epoch():
    class Sampler:
        epochs = []

        def set_epoch(self, epoch):
            self.epochs.append(epoch)

    X, y = make_data(4)
    loader = TensorLoader(X, y, 2)
    loader.sampler = Sampler()
    train.fit(frozen_model(), loader, nn.CrossEntropyLoss(), no_step, num_epochs=3, progress=False)
    assert Sampler.epochs == [1, 2, 3]


# --- gradient accumulation, DDP, no waiting for the device ------------------------------

class SequenceModel(nn.Module):
    """Per-position logits N×C×T from inputs N×T×4: a sequence task in miniature."""

    def __init__(self, num_classes):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(4, num_classes, dtype=torch.float64)

    def forward(self, X):
        return self.linear(X).transpose(1, 2)


def sequence_data(n, length, num_classes, seed, padded_fraction=0.4):
    """Float64 inputs and targets with padding (-100), so batches hold unequal token counts."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, length, 4, generator=generator, dtype=torch.float64)
    y = torch.randint(num_classes, (n, length), generator=generator)
    y[torch.rand(n, length, generator=generator) < padded_fraction] = -100
    y[0, 0] = 0  # at least one token counts
    return X, y


def captured_gradient(model):
    """A step() that keeps a copy of the gradient it would apply, then zeroes it."""
    grads = []

    def step():
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
        for p in model.parameters():
            p.grad = None
    return step, grads


def full_batch_gradient(model, X, y, loss_fn):
    model.zero_grad()
    loss_fn(model(X), y).backward()
    grad = torch.cat([p.grad.flatten() for p in model.parameters()])
    model.zero_grad()
    return grad


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 24), batch_size=st.integers(1, 6), seed=st.integers(0, 2**16),
       use_weight=st.booleans())
def test_accumulated_gradient_equals_the_full_batch_gradient(n, batch_size, seed, use_weight):
    X, y = sequence_data(n, 5, 3, seed)
    weight = torch.tensor([1.0, 2.5, 0.5], dtype=torch.float64) if use_weight else None
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    model = SequenceModel(3)
    loader = TensorLoader(X, y, batch_size)
    step, grads = captured_gradient(model)
    train.train_epoch(model, loader, loss_fn, step, accumulate=len(loader))
    assert len(grads) == 1
    torch.testing.assert_close(grads[0], full_batch_gradient(model, X, y, loss_fn), rtol=1e-6, atol=1e-12)


def test_averaging_per_micro_batch_means_is_what_goes_wrong():
    X, y = sequence_data(12, 6, 3, seed=1)
    y[:4, 1:] = -100  # the first micro-batch holds far fewer tokens than the others
    model, loss_fn = SequenceModel(3), nn.CrossEntropyLoss()
    full = full_batch_gradient(model, X, y, loss_fn)
    naive = sum(full_batch_gradient(model, X[i:i + 4], y[i:i + 4], loss_fn) for i in (0, 4, 8)) / 3
    step, grads = captured_gradient(model)
    train.train_epoch(model, TensorLoader(X, y, 4), loss_fn, step, accumulate=3)
    assert (naive - full).norm() / full.norm() > 0.01
    torch.testing.assert_close(grads[0], full, rtol=1e-6, atol=1e-12)


def ddp_gradient(X, y, weight):
    """One DDP step (runs inside distributed.launch): rank r holds its own rows, unequal counts."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    rank = dist.get_rank()
    rows = slice(0, 3) if rank == 0 else slice(3, None)  # 3 and 5 sequences, different padding
    model = SequenceModel(3)
    ddp = DistributedDataParallel(model)
    step, grads = captured_gradient(model)
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    result = train.train_epoch(ddp, TensorLoader(X[rows], y[rows], 8), loss_fn, step, distributed=True)
    return grads[0], result


@pytest.mark.parametrize("use_weight", [False, True])
def test_ddp_gradient_equals_the_single_process_full_batch_gradient(use_weight):
    distributed = pytest.importorskip("lossbook.distributed")
    X, y = sequence_data(8, 7, 3, seed=2)
    y[:3, 2:] = -100  # rank 0's tokens are few
    weight = torch.tensor([1.0, 2.5, 0.5], dtype=torch.float64) if use_weight else None
    results = distributed.launch(ddp_gradient, world_size=2, args=(X, y, weight), timeout=60,
                                 start_method="fork")
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    expected = full_batch_gradient(SequenceModel(3), X, y, loss_fn)
    with torch.no_grad():
        expected_loss = loss_fn(SequenceModel(3)(X), y).item()
    for grad, result in results:
        torch.testing.assert_close(grad, expected, rtol=1e-6, atol=1e-12)
        assert result["loss"] == pytest.approx(expected_loss, rel=1e-9)


def test_the_training_loop_never_waits_for_the_device():
    # The meta device has shapes but no values: reading one raises. Every batch must run
    # before the first read, which is the end of the epoch's check and metrics.
    model = nn.Linear(4, 3, device="meta")
    forwards = []
    model.register_forward_hook(lambda *args: forwards.append(1))
    X, y = torch.randn(8, 4, device="meta"), torch.zeros(8, dtype=torch.long, device="meta")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises((RuntimeError, NotImplementedError)):
        train.train_epoch(model, [(X, y)] * 5, nn.CrossEntropyLoss(), optimizer, accumulate=2)
    assert len(forwards) == 5


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 9), seed=st.integers(0, 2**16),
       reduction=st.sampled_from(["mean", "sum", "none"]), use_weight=st.booleans())
def test_epoch_loss_is_exact_with_class_weights_and_ignored_targets(n, batch_size, seed, reduction,
                                                                    use_weight):
    X, y = make_data(n, seed=seed)
    y[torch.rand(n, generator=torch.Generator().manual_seed(seed)) < 0.3] = -100
    y[0] = 1  # one target at least counts
    weight = torch.tensor([0.5, 2.0, 1.5]) if use_weight else None
    model = frozen_model()
    with torch.no_grad():
        logits = model(X)
    expected_loss = F.cross_entropy(logits, y, weight=weight).item()
    kept = y != -100
    expected_acc = (logits.argmax(1) == y)[kept].double().mean().item()
    loss_fn = nn.CrossEntropyLoss(weight=weight, reduction=reduction)
    for result in (train.evaluate(model, TensorLoader(X, y, batch_size), loss_fn),
                   train.train_epoch(model, TensorLoader(X, y, batch_size), loss_fn, no_step)):
        assert result["loss"] == pytest.approx(expected_loss, rel=1e-5)
        assert result["accuracy"] == pytest.approx(expected_acc)
