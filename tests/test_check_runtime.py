"""lossbook.check.runtime: a loss fed a softmax or sigmoid, a running loss that keeps its graph."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossbook.check.runtime import LossInputWarning, watch_loss, watch_running_loss

y = torch.tensor([0, 1, 2, 0])


def logits():
    return torch.randn(4, 3, generator=torch.Generator().manual_seed(0), requires_grad=True)


def messages(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message).split()[0] for w in caught if issubclass(w.category, LossInputWarning)]


@pytest.mark.parametrize("loss_fn", [nn.CrossEntropyLoss(), F.cross_entropy], ids=["module", "function"])
def test_cross_entropy_warns_once_on_softmax_and_log_softmax(loss_fn):
    watched = watch_loss(loss_fn)
    z = logits()
    assert messages(lambda: [watched(z.softmax(dim=1), y) for _ in range(3)]) == ["LB201"]
    assert messages(lambda: watched(F.log_softmax(z, dim=1).view(4, 3), y)) == ["LB202"]
    assert messages(lambda: watched(z, y)) == []
    assert torch.equal(watched(z, y), F.cross_entropy(z, y))  # the same loss


def test_probabilities_without_a_graph_are_seen_from_their_rows():
    loss_fn = watch_loss(nn.CrossEntropyLoss())
    with torch.no_grad():
        probs = logits().softmax(dim=1)
        assert messages(lambda: loss_fn(probs, y)) == ["LB201"]
        assert messages(lambda: loss_fn(logits().abs(), y)) == []  # non-negative, rows not summing to 1


def test_nll_and_bce_with_logits():
    nll, bce = watch_loss(nn.NLLLoss()), watch_loss(F.binary_cross_entropy_with_logits)
    z, t = logits(), torch.ones(4, 3)
    assert messages(lambda: nll(torch.softmax(z, dim=1), y)) == ["LB203"]
    assert messages(lambda: nll(F.log_softmax(z, dim=1), y)) == []
    assert messages(lambda: bce(torch.sigmoid(z), t)) == ["LB204"]
    assert messages(lambda: bce(torch.tanh(z), t)) == []
    mse = nn.MSELoss()
    assert watch_loss(mse) is mse


def test_running_loss_that_keeps_its_graph():
    loss = F.cross_entropy(logits(), y)
    running_loss = 0.0
    running_loss += loss
    assert messages(lambda: watch_running_loss(running_loss)) == ["LB104"]
    assert messages(lambda: watch_running_loss(loss.item() + loss.detach())) == []
