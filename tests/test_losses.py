import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lossbook import functional, losses

INF = math.inf


def batch(n=6, c=4, scale=3.0, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, c, generator=generator, dtype=torch.float64) * scale).to(dtype)
    y = torch.randint(0, c, (n,), generator=generator)
    return logits, y


def value_and_grad(loss_fn, logits, *args, **kwargs):
    logits = logits.detach().clone().requires_grad_()
    loss = loss_fn(logits, *args, **kwargs)
    # A fixed, non-uniform upstream gradient also checks the per-sample losses of "none".
    upstream = torch.linspace(0.5, 1.5, loss.numel(), dtype=loss.dtype).reshape(loss.shape)
    (grad,) = torch.autograd.grad((loss * upstream).sum(), logits)
    return loss.detach(), grad


def assert_matches_torch(ours_fn, torch_fn, logits, y, **kwargs):
    ignore_index = kwargs.get("ignore_index", -100)
    if kwargs.get("reduction") == "mean" and not y.dtype.is_floating_point and (y == ignore_index).all():
        assert torch_fn(logits, y, **kwargs).isnan()  # torch's mean over no sample; ours raises
        with pytest.raises(ValueError, match="which is 0 here"):
            ours_fn(logits, y, **kwargs)
        return
    assert_same_value_and_grad(value_and_grad(ours_fn, logits, y, **kwargs),
                               value_and_grad(torch_fn, logits, y, **kwargs))


def assert_same_value_and_grad(ours, theirs, rtol=1e-10, atol=1e-10):
    torch.testing.assert_close(ours[0], theirs[0], rtol=rtol, atol=atol)
    torch.testing.assert_close(ours[1], theirs[1], rtol=rtol, atol=atol)


options = st.fixed_dictionaries({
    "reduction": st.sampled_from(["mean", "sum", "none"]),
    "use_weight": st.booleans(),
    "ignore": st.booleans(),
    "label_smoothing": st.sampled_from([0.0, 0.1, 0.5, 1.0]),
})


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 9), c=st.integers(1, 6), seed=st.integers(0, 2**31), opts=options,
       probability_targets=st.booleans())
def test_cross_entropy_matches_torch_values_and_gradients(n, c, seed, opts, probability_targets):
    logits, y = batch(n, c, seed=seed)
    kwargs = {"reduction": opts["reduction"], "label_smoothing": opts["label_smoothing"]}
    if opts["use_weight"]:
        generator = torch.Generator().manual_seed(seed)
        kwargs["weight"] = torch.rand(c, generator=generator, dtype=torch.float64) + 0.1
    if probability_targets:
        y = torch.softmax(batch(n, c, seed=seed + 1)[0], 1)
    elif opts["ignore"]:
        y[0] = 2  # ignore class 2: it may or may not be a real class here
        kwargs["ignore_index"] = 2
    assert_matches_torch(losses.cross_entropy, F.cross_entropy, logits, y, **kwargs)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 9), c=st.integers(1, 6), seed=st.integers(0, 2**31), opts=options)
def test_nll_loss_matches_torch_values_and_gradients(n, c, seed, opts):
    logits, y = batch(n, c, seed=seed)
    log_probs = torch.log_softmax(logits, 1)
    kwargs = {"reduction": opts["reduction"]}
    if opts["use_weight"]:
        kwargs["weight"] = torch.rand(c, dtype=torch.float64) + 0.1
    if opts["ignore"]:
        y[0], kwargs["ignore_index"] = -1, -1
    assert_matches_torch(losses.nll_loss, F.nll_loss, log_probs, y, **kwargs)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 9), c=st.integers(2, 10), seed=st.integers(0, 2**31),
       scale=st.sampled_from([0.1, 3.0, 100.0, 1e4]), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_cross_entropy_is_nll_of_log_softmax(n, c, seed, scale, reduction):
    logits, y = batch(n, c, scale=scale, seed=seed, dtype=torch.float32)
    ce = value_and_grad(losses.cross_entropy, logits, y, reduction=reduction)
    nll = value_and_grad(lambda z, t: losses.nll_loss(functional.log_softmax(z, 1), t, reduction=reduction),
                         logits, y)
    assert_same_value_and_grad(ce, nll, rtol=1e-6, atol=1e-6)
    # ... and torch's modules agree with both.
    two_modules = lambda z, t: nn.NLLLoss(reduction=reduction)(nn.LogSoftmax(dim=1)(z), t)  # noqa: E731
    modules = value_and_grad(two_modules, logits, y)
    assert_same_value_and_grad(ce, modules, rtol=1e-5, atol=1e-5)
    assert_same_value_and_grad(value_and_grad(nn.CrossEntropyLoss(reduction=reduction), logits, y), modules,
                               rtol=1e-5, atol=1e-5)


def test_gradient_is_softmax_minus_onehot_over_n():
    logits, y = batch(8, 5)
    logits.requires_grad_()
    losses.cross_entropy(logits, y).backward()
    expected = (torch.softmax(logits.detach(), 1) - F.one_hot(y, 5)) / 8
    torch.testing.assert_close(logits.grad, expected, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda z: losses.cross_entropy(z, y, label_smoothing=0.2), (logits,))


def test_per_sample_loss_is_minus_log_probability_of_the_label():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    y = torch.tensor([0, 2, 0])
    p = torch.softmax(logits, 1)[torch.arange(3), y]
    torch.testing.assert_close(losses.cross_entropy(logits, y, reduction="none"), -p.log())
    torch.testing.assert_close(losses.cross_entropy(logits, y, reduction="sum"), -p.log().sum())
    torch.testing.assert_close(losses.cross_entropy(logits, y), -p.log().mean())
    # A uniform guess over C classes costs log(C), the loss of an untrained model.
    uniform = losses.cross_entropy(torch.zeros(4, 10), torch.arange(4))
    torch.testing.assert_close(uniform, torch.tensor(math.log(10)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extreme_logits_give_finite_exact_losses(dtype):
    logits = torch.tensor([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4], [1000.0, 1000.0, -INF]], dtype=dtype)
    y = torch.tensor([0, 2, 1])
    loss, grad = value_and_grad(losses.cross_entropy, logits, y, reduction="none")
    torch.testing.assert_close(loss, torch.tensor([0.0, 2e4, math.log(2)], dtype=dtype))
    assert torch.isfinite(grad).all()
    assert_same_value_and_grad((loss, grad), value_and_grad(F.cross_entropy, logits, y, reduction="none"))


def test_ignored_samples_get_no_gradient_even_with_minus_inf_logits():
    logits = torch.tensor([[0.0, -INF, 1.0], [2.0, 1.0, 0.0]], dtype=torch.float64)
    loss, grad = value_and_grad(losses.cross_entropy, logits, torch.tensor([-100, 1]))
    assert torch.isfinite(loss) and (grad[0] == 0).all()
    assert_same_value_and_grad((loss, grad), value_and_grad(F.cross_entropy, logits, torch.tensor([-100, 1])))


def test_class_weights_divide_the_mean_by_the_targets_weights_not_by_n():
    logits, y = batch(5, 3)
    weight = torch.tensor([1.0, 2.0, 5.0], dtype=torch.float64)
    per_sample = losses.cross_entropy(logits, y, reduction="none")
    expected = (weight[y] * per_sample).sum() / weight[y].sum()
    torch.testing.assert_close(losses.cross_entropy(logits, y, weight=weight), expected)


def test_integer_labels_of_any_width_work():
    logits, y = batch()
    for narrow in (y.int(), y.to(torch.uint8)):
        torch.testing.assert_close(losses.cross_entropy(logits, narrow), losses.cross_entropy(logits, y))


def test_float_labels_are_a_clear_error():
    logits, y = batch()
    for bad in (y.float(), y.double(), y.bool()):
        message = r"labels must be integer class indices, got torch\.\w+; .*y\.long\(\)"
        with pytest.raises(ValueError, match=message):
            losses.cross_entropy(logits, bad)
        with pytest.raises(ValueError, match="integer class indices"):
            losses.nll_loss(torch.log_softmax(logits, 1), bad)


@pytest.mark.parametrize("bad_label", [4, 10, -1, -101])
def test_out_of_range_labels_are_a_clear_error(bad_label):
    logits, y = batch(6, 4)
    y[3] = bad_label
    with pytest.raises(ValueError, match=r"labels must be in 0 … 3 \(logits has 4 columns\), got values"):
        losses.cross_entropy(logits, y)
    with pytest.raises(ValueError, match=r"labels must be in 0 … 3 \(log_probs has 4 columns\)"):
        losses.nll_loss(torch.log_softmax(logits, 1), y)


def test_labels_starting_at_one_name_the_fix():
    logits, y = batch(6, 4)
    with pytest.raises(ValueError, match=r"got values from 1 to 4; labels starting at 1 need y - 1"):
        losses.cross_entropy(logits, torch.tensor([1, 2, 3, 4, 4, 1]))


@pytest.mark.parametrize(("logits_shape", "y_shape", "message"), [
    ((6, 4), (6, 1), r"logits of shape \(6, 4\) need labels of shape \(6,\), got \(6, 1\); use y.view\(-1\)"),
    ((6, 4), (5,), r"need labels of shape \(6,\), got \(5,\)"),
    ((4,), (1,), r"expects N×C logits .* got \(4,\); for a single sample use .unsqueeze\(0\)"),
    ((2, 4, 3), (2,), r"expects N×C logits"),
])
def test_shape_mismatch_is_a_clear_error(logits_shape, y_shape, message):
    logits = torch.zeros(logits_shape)
    with pytest.raises(ValueError, match=message):
        losses.cross_entropy(logits, torch.zeros(y_shape, dtype=torch.long))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"reduction": "average"}, r"reduction must be 'mean', 'sum' or 'none', got 'average'"),
    ({"reduction": None}, r"reduction must be"),
    ({"label_smoothing": 1.5}, r"label_smoothing must be in \[0, 1\], got 1.5"),
    ({"weight": torch.ones(3)}, r"weight must hold one value per class, shape \(4,\), got \(3,\)"),
])
def test_bad_options_are_a_clear_error(kwargs, message):
    logits, y = batch(6, 4)
    with pytest.raises(ValueError, match=message):
        losses.cross_entropy(logits, y, **kwargs)


def test_options_are_keyword_only_so_a_positional_weight_cannot_be_mistaken_for_reduction():
    logits, y = batch(6, 4)
    with pytest.raises(TypeError):
        losses.cross_entropy(logits, y, "sum")


def test_mean_over_no_sample_raises_where_torch_returns_nan():
    logits, y = batch(3, 4)
    assert F.cross_entropy(logits, torch.full((3,), -100)).isnan()
    with pytest.raises(ValueError, match="reduction='mean' divides by the .* which is 0 here"):
        losses.cross_entropy(logits, torch.full((3,), -100))
    with pytest.raises(ValueError, match="which is 0 here"):
        losses.cross_entropy(logits[:0], y[:0])
    with pytest.raises(ValueError, match="which is 0 here"):
        losses.cross_entropy(logits, y, weight=torch.zeros(4, dtype=torch.float64))
    assert losses.cross_entropy(logits, torch.full((3,), -100), reduction="sum") == 0
    assert losses.cross_entropy(logits[:0], y[:0], reduction="none").shape == (0,)


def test_nll_loss_rejects_probabilities_and_logits():
    logits, y = batch(6, 4)
    with pytest.raises(ValueError, match=r"expects log-probabilities \(all <= 0\).*log_softmax"):
        losses.nll_loss(torch.softmax(logits, 1), y)  # the "softmax then NLLLoss" bug
    with pytest.raises(ValueError, match="for logits use cross_entropy"):
        losses.nll_loss(logits, y)


def test_nan_and_infinite_logits_raise_instead_of_returning_nan():
    logits, y = batch(3, 4)
    for bad, message in [(math.nan, "contain nan"), (INF, r"contains \+inf")]:
        broken = logits.clone()
        broken[1, 2] = bad
        assert F.cross_entropy(broken, y).isnan()
        with pytest.raises(ValueError, match=message):
            losses.cross_entropy(broken, y)
    with pytest.raises(ValueError, match="all -inf"):
        losses.cross_entropy(torch.full((2, 3), -INF), torch.tensor([0, 1]))


def test_bad_probability_targets_are_a_clear_error():
    logits, _ = batch(3, 4)
    with pytest.raises(ValueError, match="rows summing to 1"):
        losses.cross_entropy(logits, torch.rand(3, 4, dtype=torch.float64) + 1)
    with pytest.raises(ValueError, match="ignore_index only applies to class-index targets"):
        losses.cross_entropy(logits, torch.full((3, 4), 0.25, dtype=torch.float64), ignore_index=0)


def test_one_hot_probability_targets_equal_class_labels():
    logits, y = batch(7, 5)
    onehot = F.one_hot(y, 5).double()
    for smoothing in (0.0, 0.3):
        torch.testing.assert_close(losses.cross_entropy(logits, onehot, label_smoothing=smoothing),
                                   losses.cross_entropy(logits, y, label_smoothing=smoothing))
