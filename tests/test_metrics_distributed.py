"""Chapter 7's metrics over 2 gloo processes equal one process over all the data."""

import multiprocessing

import pytest
import torch

from lossbook import distributed, metrics
from lossbook.data import TensorLoader

pytestmark = pytest.mark.usefixtures("one_thread")
# An odd number of samples: the two processes hold different counts.
N, NUM_CLASSES, BATCH_SIZE, TIMEOUT = 211, 5, 16, 30.0


def dataset():
    generator = torch.Generator().manual_seed(0)
    logits = 2 * torch.randn(N, NUM_CLASSES, generator=generator)
    y = torch.randint(NUM_CLASSES, (N,), generator=generator)
    y[::9] = -100  # ignored targets too
    return logits, y


def results(loader):
    """Every new metric over `loader`, computed over all processes if there are several."""
    world = torch.distributed.is_initialized()
    confusion = metrics.ConfusionMatrix(NUM_CLASSES, ignore_index=-100)
    calibration = metrics.CalibrationError(n_bins=10, ignore_index=-100)
    top2 = metrics.Accuracy(top_k=2, ignore_index=-100)
    for logits, y in loader:
        for metric in (confusion, calibration, top2):
            metric.update(logits, y)
    local = confusion.matrix.sum().item()
    out = {"matrix": confusion.compute(world), "ece": calibration.compute(world),
           "bins": calibration.bins(world), "top2": top2.compute(world), "local": local}
    out |= {(name, average): getattr(confusion, name)(average, world)
            for name in ("precision", "recall", "f1_score") for average in ("micro", "macro", "weighted")}
    out["balanced"] = confusion.balanced_accuracy(world)
    out["unchanged"] = confusion.matrix.sum().item() == local  # compute never changes the state
    return out


def on_one_of_two_processes():
    rank = torch.distributed.get_rank()
    return results(TensorLoader(*dataset(), BATCH_SIZE, num_replicas=2, rank=rank))


def test_two_processes_give_the_one_process_results():
    expected = results(TensorLoader(*dataset(), BATCH_SIZE))
    ranks = distributed.launch(on_one_of_two_processes, world_size=2, timeout=TIMEOUT, start_method="fork")
    counted = int((dataset()[1] != -100).sum())
    assert sum(rank["local"] for rank in ranks) == counted and all(rank["local"] < counted for rank in ranks)
    for rank in ranks:
        assert rank["unchanged"]
        assert torch.equal(rank["matrix"], expected["matrix"])
        assert torch.equal(rank["bins"].count, expected["bins"].count)
        for field in ("confidence", "accuracy"):
            torch.testing.assert_close(getattr(rank["bins"], field), getattr(expected["bins"], field),
                                       rtol=0, atol=1e-12, equal_nan=True)
        for key, value in expected.items():
            if key not in ("matrix", "bins", "local"):
                assert rank[key] == pytest.approx(value, abs=1e-12), key
    assert not multiprocessing.active_children()
