import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossbook import functional

INF = math.inf
TOL = {"rtol": 1e-6, "atol": 1e-6}


def random_logits(shape, scale=3.0, dtype=torch.float32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=generator, dtype=torch.float64) * scale).to(dtype)


def assert_matches_torch(logits, dim):
    torch.testing.assert_close(functional.softmax(logits, dim), torch.softmax(logits, dim), **TOL)
    torch.testing.assert_close(functional.log_softmax(logits, dim), torch.log_softmax(logits, dim), **TOL)
    torch.testing.assert_close(functional.logsumexp(logits, dim), torch.logsumexp(logits, dim), **TOL)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("shape", "dim"), [((5, 7), 1), ((5, 7), 0), ((5, 7), -1), ((2, 3, 4), 1),
                                            ((2, 3, 4), -1), ((6,), 0), ((0, 4), 1)])
def test_matches_torch_on_random_inputs(shape, dim, dtype):
    assert_matches_torch(random_logits(shape, dtype=dtype), dim)


EXTREME_ROWS = [
    [1000.0, 999.0, 998.0],            # naive exp overflows to inf, inf / inf = nan
    [-1000.0, -1001.0, -1002.0],       # naive exp underflows to 0, 0 / 0 = nan
    [1e4, -1e4, 0.0],                  # one certain class; log-probabilities of -1e4 and -2e4
    [3e38, -3e38, 0.0],                # near float32's limit: x - max overflows to -inf
    [0.0, -200.0, -400.0],             # log(softmax) would be -inf, log_softmax is not
    [5.0, 5.0, 5.0],                   # a tie
    [-INF, 2.0, -INF],                 # masked entries
    [88.0, 89.0, 90.0],                # around float32's exp overflow (88.7)
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_torch_on_extreme_inputs(dtype):
    logits = torch.tensor(EXTREME_ROWS, dtype=dtype)
    assert_matches_torch(logits, dim=1)
    assert_matches_torch(logits.T.contiguous(), dim=0)
    assert torch.isfinite(functional.softmax(logits, 1)).all()


def test_extreme_inputs_break_the_naive_formula_but_not_ours():
    logits = torch.tensor(EXTREME_ROWS[:2])
    naive = logits.exp() / logits.exp().sum(1, keepdim=True)
    assert naive.isnan().all()
    torch.testing.assert_close(functional.softmax(logits, 1), torch.softmax(logits - logits[:, :1], 1))


def test_log_softmax_stays_finite_where_log_of_softmax_underflows():
    logits = torch.tensor([[0.0, -200.0]], requires_grad=True)
    assert torch.log(functional.softmax(logits, 1))[0, 1] == -INF
    log_probs = functional.log_softmax(logits, 1)
    torch.testing.assert_close(log_probs, torch.tensor([[0.0, -200.0]]))
    log_probs[0, 1].backward()
    torch.testing.assert_close(logits.grad, torch.tensor([[-1.0, 1.0]]))  # onehot - softmax


def test_logsumexp_of_infinities_and_reductions_like_torch():
    x = torch.tensor([[-INF, -INF], [INF, 1.0], [-INF, 0.0]])
    torch.testing.assert_close(functional.logsumexp(x, 1), torch.tensor([-INF, INF, 0.0]))
    x = random_logits((2, 3, 4), scale=50.0)
    for dim in [(1, 2), (0, -1), 0]:
        for keepdim in [False, True]:
            torch.testing.assert_close(functional.logsumexp(x, dim, keepdim=keepdim),
                                       torch.logsumexp(x, dim, keepdim=keepdim), **TOL)


EMPTY_SHAPES = [(0,), (5, 0), (0, 3), (5, 0, 0), (2, 0, 3)]


def assert_same(ours, theirs):
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)  # shape, dtype and every value, -inf too


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("shape", "dim"), [(shape, dim) for shape in EMPTY_SHAPES
                                            for dim in range(-len(shape), len(shape))])
def test_empty_inputs_give_torchs_result(shape, dim, dtype):
    # Zero-size along `dim` (an empty sum: logsumexp is -inf) or along another dimension.
    logits = torch.empty(shape, dtype=dtype)
    assert_same(functional.softmax(logits, dim), torch.softmax(logits, dim))
    assert_same(functional.log_softmax(logits, dim), torch.log_softmax(logits, dim))
    for keepdim in (False, True):
        assert_same(functional.logsumexp(logits, dim, keepdim=keepdim),
                    torch.logsumexp(logits, dim, keepdim=keepdim))


def test_logsumexp_over_an_empty_dimension_is_minus_infinity():
    assert functional.logsumexp(torch.tensor([]), 0).item() == -INF
    assert functional.logsumexp(torch.empty(5, 0), 1).tolist() == [-INF] * 5


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize(("shape", "dims"), [((5, 0), (0, 1)), ((0, 3), (-1, -2)), ((0, 3), (1,)),
                                             ((5, 0, 0), (1, 2)), ((5, 0, 0), (0,)), ((2, 0, 3), (0, 2)),
                                             ((2, 0, 3), (0, 1)), ((2, 0, 3), (2, 0)), ((2, 0, 3), ()),
                                             ((0,), ())])
def test_logsumexp_of_an_empty_input_over_several_dims_like_torch(shape, dims, keepdim):
    x = torch.empty(shape)
    assert_same(functional.logsumexp(x, dims, keepdim=keepdim), torch.logsumexp(x, dims, keepdim=keepdim))


def test_logsumexp_over_no_dims_reduces_every_dim_as_torch_does_for_empty_inputs():
    # torch.logsumexp raises for a non-empty input and dim=(), so compare with every dim named.
    x = random_logits((2, 3, 4), scale=50.0)
    assert_same(functional.logsumexp(x, ()), functional.logsumexp(x, (0, 1, 2)))
    torch.testing.assert_close(functional.logsumexp(x, (), keepdim=True),
                               torch.logsumexp(x, (0, 1, 2), keepdim=True), **TOL)


def test_logsumexp_is_a_smooth_maximum():
    x = random_logits((20, 10), scale=30.0, dtype=torch.float64)
    lse, top = functional.logsumexp(x, 1), x.amax(1)
    assert (top <= lse).all() and (lse <= top + math.log(10) + 1e-12).all()


@pytest.mark.parametrize("fn", [functional.softmax, functional.log_softmax, functional.logsumexp])
def test_gradients_match_torch_and_finite_differences(fn):
    reference = {functional.softmax: torch.softmax, functional.log_softmax: torch.log_softmax,
                 functional.logsumexp: torch.logsumexp}[fn]
    logits = random_logits((4, 5), dtype=torch.float64).requires_grad_()
    logits.data[0, :2] = 1.5  # a tied maximum: the shift must not leak gradient
    logits.data[0, 2:] = 0.0
    upstream = random_logits((4, 5), dtype=torch.float64, seed=1)[:, : 1 if fn is functional.logsumexp else 5]
    upstream = upstream.squeeze(1) if fn is functional.logsumexp else upstream
    ours = torch.autograd.grad((fn(logits, 1) * upstream).sum(), logits)[0]
    theirs = torch.autograd.grad((reference(logits, 1) * upstream).sum(), logits)[0]
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda z: fn(z, 1), (logits,))
    assert torch.autograd.gradgradcheck(lambda z: fn(z, 1), (logits,))


def test_gradients_are_finite_for_huge_logits():
    logits = torch.tensor([[1e4, 0.0, -1e4]], requires_grad=True)
    for fn in (functional.softmax, functional.log_softmax, functional.logsumexp):
        (grad,) = torch.autograd.grad(fn(logits, 1).sum(), logits)
        assert torch.isfinite(grad).all()


@pytest.mark.parametrize("fn", [functional.softmax, functional.log_softmax, functional.logsumexp])
def test_integer_input_is_a_clear_error(fn):
    with pytest.raises(ValueError, match=r"floating-point.*int64.*\.float\(\)"):
        fn(torch.tensor([[1, 2]]), 1)
    with pytest.raises(TypeError, match="torch.Tensor"):
        fn([[1.0, 2.0]], 1)


finite_rows = st.lists(
    st.lists(st.floats(-1e4, 1e4, allow_nan=False, width=64), min_size=1, max_size=8),
    min_size=1, max_size=6,
).filter(lambda rows: len({len(r) for r in rows}) == 1)


@settings(max_examples=100, deadline=None)
@given(rows=finite_rows, shift=st.floats(-1e4, 1e4))
def test_adding_a_constant_to_a_row_changes_no_probability(rows, shift):
    logits = torch.tensor(rows, dtype=torch.float64)
    shifts = torch.linspace(-1.0, 1.0, len(rows), dtype=torch.float64).unsqueeze(1) * shift
    moved = logits + shifts
    # Adding the shift rounds at its scale: that, not our code, bounds the agreement.
    atol = 1e-15 * (abs(shift) + 1e4) * 8
    torch.testing.assert_close(functional.softmax(moved, 1), functional.softmax(logits, 1), rtol=0, atol=atol)
    torch.testing.assert_close(functional.log_softmax(moved, 1), functional.log_softmax(logits, 1),
                               rtol=0, atol=atol)
    torch.testing.assert_close(functional.logsumexp(moved, 1), functional.logsumexp(logits, 1) + shifts[:, 0],
                               rtol=0, atol=atol)


any_float32 = st.floats(allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.lists(any_float32, min_size=3, max_size=3), min_size=1, max_size=5),
       mask=st.lists(st.booleans(), min_size=3, max_size=3))
def test_probabilities_are_valid_and_match_torch_on_any_float32(rows, mask):
    logits = torch.tensor(rows, dtype=torch.float32)
    keep = torch.tensor(mask)
    if keep.any():  # -inf masks some columns, as attention masks do; one column stays
        logits[:, ~keep] = -INF
    assert_matches_torch(logits, dim=1)
    y_hat = functional.softmax(logits, 1)
    assert ((y_hat >= 0) & (y_hat <= 1)).all()
    torch.testing.assert_close(y_hat.sum(1), torch.ones(len(rows)), rtol=0, atol=1e-6)
    assert (functional.log_softmax(logits, 1) <= 0).all()
    # Order is kept: a larger logit never gets a smaller probability (rounding may tie them).
    larger = logits.unsqueeze(2) > logits.unsqueeze(1)
    assert (y_hat.unsqueeze(2) >= y_hat.unsqueeze(1))[larger].all()
