import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lossbook import functional, losses

INF = math.inf


def batch(n=6, c=4, extra=(), scale=3.0, seed=0, dtype=torch.float64):
    """N×C×d… logits and N×d… class indices (N×C and N for `extra=()`)."""
    generator = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, c, *extra, generator=generator, dtype=torch.float64) * scale).to(dtype)
    y = torch.randint(0, c, (n, *extra), generator=generator)
    return logits, y


def value_and_grad(loss_fn, logits, *args, **kwargs):
    logits = logits.detach().clone().requires_grad_()
    loss = loss_fn(logits, *args, **kwargs)
    # A fixed, non-uniform upstream gradient also checks the per-sample losses of "none".
    upstream = torch.linspace(0.5, 1.5, loss.numel(), dtype=loss.dtype).reshape(loss.shape)
    (grad,) = torch.autograd.grad((loss * upstream).sum(), logits)
    return loss.detach(), grad


def assert_matches_torch(ours_fn, torch_fn, logits, y, rtol=1e-10, atol=1e-10, **kwargs):
    theirs = torch_fn(logits, y, **kwargs)
    if kwargs.get("reduction", "mean") == "mean" and theirs.isnan():
        # torch's mean over no (weighted) target is nan; ours raises, and count says why.
        count_kwargs = {key: kwargs[key] for key in ("weight", "ignore_index") if key in kwargs}
        assert losses.count(y, **count_kwargs) == 0
        with pytest.raises(ValueError, match="which is 0 here"):
            ours_fn(logits, y, **kwargs)
        return
    assert_same_value_and_grad(value_and_grad(ours_fn, logits, y, **kwargs),
                               value_and_grad(torch_fn, logits, y, **kwargs), rtol=rtol, atol=atol)


def assert_same_value_and_grad(ours, theirs, rtol=1e-10, atol=1e-10):
    torch.testing.assert_close(ours[0], theirs[0], rtol=rtol, atol=atol)
    torch.testing.assert_close(ours[1], theirs[1], rtol=rtol, atol=atol)


extra_dims = st.lists(st.integers(1, 3), max_size=3).map(tuple)  # () is N×C; (T,) sequences; (H, W) images

options = st.fixed_dictionaries({
    "reduction": st.sampled_from(["mean", "sum", "none"]),
    "weight": st.sampled_from([None, "positive", "some zero"]),
    "ignore": st.sampled_from(["none", "some", "first sample", "all"]),
    "ignore_index": st.sampled_from([-100, -1, 2]),  # 2 may or may not be a real class
    "label_smoothing": st.sampled_from([0.0, 0.1, 0.5, 1.0]),
})


def targets_and_options(logits, y, seed, opts, probability_targets=False):
    """`y` with some targets set to `ignore_index` (or probability targets), and the loss's keywords."""
    generator = torch.Generator().manual_seed(seed + 1)
    kwargs = {"reduction": opts["reduction"]}
    c = logits.shape[1]
    if opts["weight"]:
        weight = torch.rand(c, generator=generator, dtype=logits.dtype) + 0.1
        if opts["weight"] == "some zero":
            weight[torch.rand(c, generator=generator) < 0.5] = 0
        kwargs["weight"] = weight
    if probability_targets:
        scores = torch.randn(logits.shape, generator=generator, dtype=torch.float64) * 3
        return torch.softmax(scores, 1).to(logits.dtype), kwargs
    ignored = {
        "none": torch.zeros(y.shape, dtype=torch.bool),
        "some": torch.rand(y.shape, generator=generator) < 0.5,
        "first sample": (torch.arange(len(y)) == 0).view(-1, *[1] * (y.dim() - 1)).expand(y.shape),
        "all": torch.ones(y.shape, dtype=torch.bool),
    }[opts["ignore"]]
    kwargs["ignore_index"] = opts["ignore_index"]
    return y.masked_fill(ignored, opts["ignore_index"]), kwargs


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 5), extra=extra_dims, seed=st.integers(0, 2**31), opts=options,
       probability_targets=st.booleans())
def test_cross_entropy_matches_torch_values_and_gradients(n, c, extra, seed, opts, probability_targets):
    logits, y = batch(n, c, extra, seed=seed)
    y, kwargs = targets_and_options(logits, y, seed, opts, probability_targets)
    kwargs["label_smoothing"] = opts["label_smoothing"]
    assert_matches_torch(losses.cross_entropy, F.cross_entropy, logits, y, **kwargs)
    if opts["reduction"] == "mean" and not F.cross_entropy(logits, y, **kwargs).isnan():
        # "mean" is "sum" divided by count, with the same options.
        count = losses.count(y, **{key: kwargs[key] for key in ("weight", "ignore_index") if key in kwargs})
        total = losses.cross_entropy(logits, y, **{**kwargs, "reduction": "sum"})
        torch.testing.assert_close(losses.cross_entropy(logits, y, **kwargs), total / count)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 5), extra=extra_dims, seed=st.integers(0, 2**31), opts=options,
       probability_targets=st.booleans())
def test_cross_entropy_matches_torch_in_float32(n, c, extra, seed, opts, probability_targets):
    logits, y = batch(n, c, extra, seed=seed, dtype=torch.float32)
    y, kwargs = targets_and_options(logits, y, seed, opts, probability_targets)
    kwargs["label_smoothing"] = opts["label_smoothing"]
    assert_matches_torch(losses.cross_entropy, F.cross_entropy, logits, y, rtol=1e-5, atol=1e-6, **kwargs)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 5), extra=extra_dims, seed=st.integers(0, 2**31), opts=options)
def test_nll_loss_matches_torch_values_and_gradients(n, c, extra, seed, opts):
    logits, y = batch(n, c, extra, seed=seed)
    y, kwargs = targets_and_options(logits, y, seed, opts)
    assert_matches_torch(losses.nll_loss, F.nll_loss, torch.log_softmax(logits, 1), y, **kwargs)


@pytest.mark.parametrize("extra", [(7,), (3, 4), (1,), (2, 1, 3)], ids=["sequence", "image", "T=1", "3-d"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_sequences_and_images_match_torch_for_every_option_combination(extra, reduction):
    logits, y = batch(3, 4, extra, seed=len(extra))
    padded = y.clone()
    padded[0] = -1  # a whole sample ignored, ...
    padded.view(-1)[-2:] = -1  # ... and a sample's last positions (padding)
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)
    probabilities = torch.softmax(batch(3, 4, extra, seed=9)[0], 1)
    for targets, ignore_index in [(y, -100), (padded, -1), (probabilities, -100)]:
        for class_weight in (None, weight):
            for label_smoothing in (0.0, 0.3):
                kwargs = {"reduction": reduction, "weight": class_weight, "ignore_index": ignore_index}
                assert_matches_torch(losses.cross_entropy, F.cross_entropy, logits, targets,
                                     label_smoothing=label_smoothing, **kwargs)
                if not targets.is_floating_point() and not label_smoothing:
                    assert_matches_torch(losses.nll_loss, F.nll_loss, torch.log_softmax(logits, 1), targets,
                                         **kwargs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label", [0, 2, -100])
def test_one_sample_without_batch_dimension_matches_torch(reduction, label):
    logits = batch(1, 3, seed=label)[0][0]  # C scores, and a 0-dim label: torch's unbatched form
    weight = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)
    smoothing = {"label_smoothing": 0.2}
    for kwargs in ({}, {"weight": weight}, smoothing, {"weight": weight, **smoothing}):
        assert_matches_torch(losses.cross_entropy, F.cross_entropy, logits, torch.tensor(label),
                             reduction=reduction, **kwargs)
    assert_matches_torch(losses.nll_loss, F.nll_loss, torch.log_softmax(logits, 0), torch.tensor(label),
                         reduction=reduction)
    probabilities = torch.softmax(batch(1, 3, seed=5)[0][0], 0)
    assert_matches_torch(losses.cross_entropy, F.cross_entropy, logits, probabilities, reduction=reduction,
                         weight=weight, label_smoothing=0.2)
    assert losses.cross_entropy(logits, torch.tensor(0), reduction=reduction).shape == ()


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
    sequence_logits = batch(6, 4, (5,))[0]
    with pytest.raises(ValueError, match=r"labels must be in 0 … 3 \(logits has 4 classes along dim 1\)"):
        losses.cross_entropy(sequence_logits, y.unsqueeze(1).expand(6, 5))


@pytest.mark.parametrize("extra", [(), (5,)])
def test_negative_labels_say_how_to_ignore_them(extra):
    logits, y = batch(6, 4, extra)
    y[2] = -1
    message = (r"got values from -1 to \d; negative labels are only skipped if they equal ignore_index "
               r"\(default -100\): pass ignore_index=-1 to skip them\.$")
    with pytest.raises(ValueError, match=message):
        losses.cross_entropy(logits, y)
    with pytest.raises(ValueError, match=message):
        losses.nll_loss(torch.log_softmax(logits, 1), y)
    assert_matches_torch(losses.cross_entropy, F.cross_entropy, logits, y, ignore_index=-1)  # the fix works
    y[3] = 4  # also too large: both fixes
    with pytest.raises(ValueError, match=r"from -1 to 4; negative .* ignore_index=-1 to skip them; labels "
                                         r"starting at 1 need y - 1"):
        losses.cross_entropy(logits, y)


def test_several_negative_labels_or_another_ignore_index_name_the_fix():
    logits, y = batch(6, 4)
    y[1], y[2] = -1, -2
    with pytest.raises(ValueError, match=r"from -2 to \d; .*: if they all mark missing labels, map them to "
                                         r"one with y.masked_fill\(y < 0, -100\)\.$"):
        losses.cross_entropy(logits, y)
    with pytest.raises(ValueError, match=r"from -2 to \d; .*ignore_index \(here -1\): .*fill\(y < 0, -1\)"):
        losses.cross_entropy(logits, y, ignore_index=-1)
    y[1] = 255  # a segmentation "void" label, ignored as asked; -2 is not
    with pytest.raises(ValueError, match=r"\(here 255\): pass ignore_index=-2 to skip them"):
        losses.cross_entropy(logits, y, ignore_index=255)


def test_labels_starting_at_one_name_the_fix():
    logits, y = batch(6, 4)
    with pytest.raises(ValueError, match=r"got values from 1 to 4; labels starting at 1 need y - 1"):
        losses.cross_entropy(logits, torch.tensor([1, 2, 3, 4, 4, 1]))


@pytest.mark.parametrize(("logits_shape", "y_shape", "message"), [
    ((6, 4), (6, 1), r"logits of shape \(6, 4\) need labels of shape \(6,\), got \(6, 1\); use y.view\(-1\)"),
    ((6, 4), (5,), r"need labels of shape \(6,\), got \(5,\)"),
    ((6, 4), (6, 4), r"got \(6, 4\); for one-hot labels use y.argmax\(1\)"),
    ((4,), (1,), r"expects N×C logits .* got \(4,\); for a single sample use .unsqueeze\(0\) "
                 r"\(or give its label as a 0-dim tensor"),
    ((6,), (6,), r"got \(6,\); for a single sample use .* one score per sample means two classes: give the "
                 r"model 2 outputs, or use F.binary_cross_entropy_with_logits\.$"),
    ((), (), r"expects N×C logits .* got \(\)"),
    # sequences: N×C×T logits need N×T labels
    ((2, 4, 3), (2,), r"logits of shape \(2, 4, 3\) need labels of shape \(2, 3\), got \(2,\)"),
    ((2, 4, 3), (6,), r"need labels of shape \(2, 3\), got \(6,\); use y.view\(2, 3\) if y holds"),
    ((2, 4, 3), (2, 3, 1), r"got \(2, 3, 1\); use y.view\(2, 3\)"),
    ((2, 4, 3), (3, 2), r"got \(3, 2\); y looks time-first \(T×N\): use y.t\(\)"),
    ((2, 3, 4), (2, 3), r"got \(2, 3\); the classes must be dim 1: .* use logits.movedim\(-1, 1\)"),
    ((4, 3), (3,), r"add the batch dimension: logits.unsqueeze\(0\), y.unsqueeze\(0\)"),  # one C×T sequence
    # images: N×C×H×W logits need N×H×W labels
    ((2, 5, 3, 4), (5, 3, 4), r"need labels of shape \(2, 3, 4\), got \(5, 3, 4\); .* logits.unsqueeze\(0\)"),
    ((2, 3, 4, 5), (2, 3, 4), r"logits.movedim\(-1, 1\)"),
    ((2, 5, 3, 4), (2, 5, 3, 4), r"for one-hot labels use y.argmax\(1\); for probability targets use y"),
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
    ({"weight": torch.ones(4, device="meta")}, r"cross_entropy: weight is on meta but the logits are on cpu; "
                                               r"move it there once, before the training loop"),
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
    with pytest.raises(ValueError, match=r"rows summing to 1 .* integer indices of shape \(3,\)"):
        losses.cross_entropy(logits, torch.rand(3, 4, dtype=torch.float64) + 1)
    with pytest.raises(ValueError, match=r"rows summing to 1 \(over dim 1, .* shape \(3, 2\)"):
        losses.cross_entropy(batch(3, 4, (2,))[0], torch.rand(3, 4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"float targets of shape \(3, 4, 5\) are neither probabilities .*"
                                         r"\(3, 4, 2\).*integers of shape \(3, 2\)"):
        losses.cross_entropy(batch(3, 4, (2,))[0], torch.rand(3, 4, 5, dtype=torch.float64))
    binary_targets = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)  # one score per sample, by mistake
    with pytest.raises(ValueError, match=r"read as one sample's C scores .* F.binary_cross_entropy_with"):
        losses.cross_entropy(logits[:, 0], binary_targets)
    with pytest.raises(ValueError, match="ignore_index only applies to class-index targets"):
        losses.cross_entropy(logits, torch.full((3, 4), 0.25, dtype=torch.float64), ignore_index=0)


def test_one_hot_probability_targets_equal_class_labels():
    logits, y = batch(7, 5)
    onehot = F.one_hot(y, 5).double()
    for smoothing in (0.0, 0.3):
        torch.testing.assert_close(losses.cross_entropy(logits, onehot, label_smoothing=smoothing),
                                   losses.cross_entropy(logits, y, label_smoothing=smoothing))


def test_non_tensor_input_is_a_type_error_that_names_the_fix():
    logits, y = batch(4, 3)
    log_probs = logits.log_softmax(1)
    calls = [
        (lambda: losses.cross_entropy(logits, [0, 1, 2, 1]),
         r"cross_entropy: labels must be a torch\.Tensor, got list; use torch\.tensor\(y\)\.$"),
        (lambda: losses.cross_entropy(logits, 2), r"labels must be a torch\.Tensor, got int"),
        (lambda: losses.cross_entropy(logits.tolist(), y),
         r"cross_entropy: logits must be a torch\.Tensor, got list; use torch\.tensor\(logits\)\.$"),
        (lambda: losses.cross_entropy(logits, y, weight=[1.0, 2.0, 1.0]),
         r"cross_entropy: weight must be a torch\.Tensor, got list; use torch\.tensor\(weight\)\.$"),
        (lambda: losses.nll_loss(log_probs.numpy(), y),
         r"nll_loss: log_probs must be a torch\.Tensor, got ndarray; use torch\.tensor\(log_probs\)"),
        (lambda: losses.nll_loss(log_probs, y.numpy()), r"nll_loss: labels must be a torch\.Tensor"),
        (lambda: losses.count([0, 1]), r"count: labels must be a torch\.Tensor, got list; use torch\.tensor"),
        (lambda: losses.count(y, weight=(1.0, 2.0)), r"count: weight must be a torch\.Tensor, got tuple"),
    ]
    for call, message in calls:
        with pytest.raises(TypeError, match=message):
            call()


def test_count_is_the_number_of_targets_that_are_not_ignored_or_their_summed_weights():
    y = torch.tensor([[0, 2, -100], [1, -100, -100]])  # two sequences padded with -100: 3 targets
    weight = torch.tensor([1.0, 2.0, 0.5])
    assert losses.count(y) == 3
    assert losses.count(y, weight=weight) == 1.0 + 0.5 + 2.0
    assert losses.count(y, ignore_index=2) == 5  # -100 is a label like any other here (the loss refuses it)
    assert losses.count(y.masked_fill(y == -100, 2), weight=weight, ignore_index=2) == 1.0 + 2.0
    assert losses.count(torch.tensor(1)) == 1 and losses.count(torch.tensor(-100)) == 0  # one sample, 0-dim
    assert losses.count(y[:0]) == 0 and losses.count(torch.full((4,), -100)) == 0


def test_count_of_probability_targets_is_samples_times_positions_whatever_the_weights():
    probabilities = torch.softmax(torch.randn(2, 3, 4, 5, dtype=torch.float64), 1)  # N×C×H×W
    assert losses.count(probabilities) == 2 * 4 * 5
    assert losses.count(probabilities, weight=torch.tensor([0.0, 1.0, 3.0])) == 2 * 4 * 5
    assert losses.count(probabilities[:, :, 0, 0]) == 2  # N×C
    assert losses.count(probabilities[:0]) == 0


def test_count_is_int64_or_float64_with_class_weights_on_the_labels_device():
    y = torch.tensor([0, 1, 1])
    probabilities = torch.full((3, 2), 0.5)
    for targets, kwargs, dtype in [
        (y, {}, torch.int64),
        (y, {"weight": torch.ones(2, dtype=torch.float32)}, torch.float64),
        (y, {"weight": torch.tensor([1, 2])}, torch.float64),
        (probabilities.double(), {}, torch.int64),
        (probabilities.bfloat16(), {}, torch.int64),
    ]:
        count = losses.count(targets, **kwargs)
        assert count.shape == () and count.dtype == dtype and count.device == targets.device


def test_count_never_looks_at_values_so_it_never_synchronises():
    # Meta tensors have shapes but no values: .item(), `if tensor` or a boolean mask would raise.
    y = torch.randint(0, 3, (4, 5)).to("meta")
    weight = torch.ones(3, device="meta")
    for targets, kwargs in [(y, {}), (y, {"weight": weight, "ignore_index": 1}), (y[0, 0], {}),
                            (torch.empty(4, 3, 5, device="meta"), {"weight": weight})]:
        count = losses.count(targets, **kwargs)
        assert count.device.type == "meta" and count.shape == ()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_count_does_not_synchronise_a_gpu():
    y = torch.randint(0, 3, (64, 50), device="cuda")
    y[:, 40:] = -100  # padding
    weight = torch.rand(3, device="cuda")
    probabilities = torch.softmax(torch.randn(64, 3, 50, device="cuda"), 1)
    torch.cuda.set_sync_debug_mode("error")
    try:
        counts = [losses.count(y), losses.count(y, weight=weight), losses.count(probabilities)]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert counts[0] == 64 * 40 and counts[2] == 64 * 50


@pytest.mark.parametrize(("targets", "kwargs", "message"), [
    (torch.tensor([0.0, 1.0]), {}, r"count: float targets of shape \(2,\) are neither class .*y\.long\(\)"),
    (torch.tensor([True, False]), {}, r"count: labels must be integer class indices, got torch\.bool"),
    (torch.tensor([0, 1]), {"weight": torch.ones(2, 2)}, r"weight must hold one value per class \(1-D\)"),
    (torch.full((2, 2), 0.5), {"ignore_index": 0}, r"ignore_index only applies to class-index targets"),
    (torch.tensor([0, 1]).to("meta"), {"weight": torch.ones(2)},
     r"count: weight is on cpu but the labels are on meta; move it there once, .* weight.to\(device\)"),
])
def test_count_rejects_what_the_loss_rejects(targets, kwargs, message):
    with pytest.raises(ValueError, match=message):
        losses.count(targets, **kwargs)


count_modes = st.sampled_from(["plain", "weight", "ignore", "weight and ignore", "probabilities"])


@settings(max_examples=120, deadline=None)
@given(n=st.integers(1, 12), c=st.integers(1, 5), extra=st.lists(st.integers(1, 3), max_size=2).map(tuple),
       mode=count_modes, label_smoothing=st.sampled_from([0.0, 0.2]),
       ignored_fraction=st.sampled_from([0.3, 0.9]), seed=st.integers(0, 2**31), data=st.data())
def test_batch_means_weighted_by_count_give_the_loss_over_the_whole_dataset(
        n, c, extra, mode, label_smoothing, ignored_fraction, seed, data):
    logits, y = batch(n, c, extra, seed=seed)
    generator = torch.Generator().manual_seed(seed + 1)
    loss_kwargs, count_kwargs = {"label_smoothing": label_smoothing}, {}
    if "weight" in mode:
        count_kwargs["weight"] = torch.rand(c, generator=generator, dtype=torch.float64) + 0.1
    if "ignore" in mode:
        ignored = torch.rand(y.shape, generator=generator) < ignored_fraction
        ignored.view(-1)[0] = False  # the whole dataset keeps a target, so its mean exists
        y = y.masked_fill(ignored, -1)
        count_kwargs["ignore_index"] = -1
    if mode == "probabilities":
        y = torch.softmax(torch.randn(logits.shape, generator=generator, dtype=torch.float64), 1)
    loss_kwargs.update(count_kwargs)
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1)), label="cuts")) if n > 1 else []
    bounds = [0, *cuts, n]
    sum_of_means_times_counts = sum_of_sums = sum_of_counts = 0
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        logits_batch, y_batch = logits[start:stop], y[start:stop]
        count = losses.count(y_batch, **count_kwargs)
        mean = F.cross_entropy(logits_batch, y_batch, **loss_kwargs)
        # A batch whose targets are all ignored has count 0 and a nan mean (torch), and nan * 0 is nan:
        # leave it out. reduction="sum" needs no such care (it is 0 there).
        sum_of_means_times_counts = sum_of_means_times_counts + torch.where(count > 0, mean * count, 0)
        sum_of_sums = sum_of_sums + F.cross_entropy(logits_batch, y_batch, reduction="sum", **loss_kwargs)
        sum_of_counts = sum_of_counts + count
    whole = F.cross_entropy(logits, y, **loss_kwargs)
    torch.testing.assert_close(sum_of_means_times_counts / sum_of_counts, whole, rtol=1e-6, atol=0)
    torch.testing.assert_close(sum_of_sums / sum_of_counts, whole, rtol=1e-6, atol=0)
    torch.testing.assert_close(sum_of_counts.double(), losses.count(y, **count_kwargs).double())


def test_count_is_exact_past_2_to_the_24_targets():
    # float32 cannot hold 2**24 + 1; an int64 count can (a token batch reaches such counts).
    y = torch.zeros(2**24 + 1, dtype=torch.uint8)
    assert losses.count(y).item() == 2**24 + 1
    weighted = losses.count(y, weight=torch.tensor([1.0, 2.0]))
    assert weighted.dtype == torch.float64 and weighted.item() == 2**24 + 1
