"""Evaluating a DistributedDataParallel wrapper on uneven shards (chapter 3's hazard).

DDP broadcasts rank 0's buffers (batch norm's running statistics) before a forward pass
whenever the previous one ran with gradients enabled. Under `no_grad` that happens once;
an evaluation without `no_grad` broadcasts at every batch, so processes with different
numbers of batches make different numbers of collectives. Chapter 3 shows the counts and
the overwritten statistics in a notebook run; this test runs the unmatched case, which
does not finish, and checks that evaluating `ddp_model.module` needs no collective.
"""

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.algorithms import Join
from torch.nn.parallel import DistributedDataParallel

from lossbook import distributed

TIMEOUT = 60


def count_broadcasts():
    """Count DDP's buffer broadcasts in this process (a probe on a private function)."""
    counter, original = [0], dist._broadcast_coalesced

    def counting(*args, **kwargs):
        counter[0] += 1
        return original(*args, **kwargs)

    dist._broadcast_coalesced = counting
    return counter


def evaluate_shard(way, num_samples=21, batch_size=10):
    """One process: a DDP model with batch norm evaluates its unpadded shard `way`."""
    rank = dist.get_rank()
    broadcasts = count_broadcasts()
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2)).double()
    ddp_model = DistributedDataParallel(module)
    X = torch.randn(num_samples, 4, dtype=torch.float64)
    ddp_model.train()
    ddp_model(X[rank::2][:batch_size]).sum().backward()  # a training step's forward pass
    module[1].running_mean.fill_(rank)  # each process's own statistics, told apart
    shard = X[list(distributed.UnpaddedDistributedSampler(range(num_samples)))]
    evaluated = module if way == "module" else ddp_model
    evaluated.eval()
    before = broadcasts[0]
    grad_mode = torch.enable_grad() if way == "wrapper, no no_grad" else torch.no_grad()
    with grad_mode:
        for batch in shard.split(batch_size):
            evaluated(batch)
    return {"batches": len(shard.split(batch_size)), "broadcasts": broadcasts[0] - before,
            "statistics": module[1].running_mean[0].item()}


def test_the_wrapper_under_no_grad_overwrites_rank_1s_statistics_once():
    ranks = distributed.launch(evaluate_shard, world_size=2, args=("wrapper",),
                               timeout=TIMEOUT, start_method="fork")
    assert [r["batches"] for r in ranks] == [2, 1]
    assert [r["broadcasts"] for r in ranks] == [1, 1]
    assert [r["statistics"] for r in ranks] == [0.0, 0.0]  # rank 1's replaced by rank 0's


def test_the_module_needs_no_collective_and_keeps_each_process_statistics():
    ranks = distributed.launch(evaluate_shard, world_size=2, args=("module",),
                               timeout=TIMEOUT, start_method="fork")
    assert [r["broadcasts"] for r in ranks] == [0, 0]
    assert [r["statistics"] for r in ranks] == [0.0, 1.0]


def test_the_wrapper_without_no_grad_on_uneven_shards_does_not_finish():
    # Rank 0 broadcasts at both of its batches, rank 1 at its one: the second broadcast
    # has no partner. Gloo may pair it with a later, unrelated collective; here it waits.
    try:
        ranks = distributed.launch(evaluate_shard, world_size=2,
                                   args=("wrapper, no no_grad",), timeout=5,
                                   start_method="fork")
    except TimeoutError:
        return
    # If the unmatched broadcast was paired with something else, the counts still differ.
    assert [r["broadcasts"] for r in ranks] == [2, 1]
    pytest.skip("gloo paired the unmatched broadcast with another collective")


def evaluate_shard_inside_join():
    """One process: the wrapper evaluates its shard inside `Join`, under `no_grad`."""
    rank = dist.get_rank()
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2)).double()
    ddp_model = DistributedDataParallel(module)
    X = torch.randn(21, 4, dtype=torch.float64)
    shard = X[list(distributed.UnpaddedDistributedSampler(range(21)))]
    ddp_model.eval()
    with Join([ddp_model]), torch.no_grad():
        for batch in shard.split(10):
            ddp_model(batch)
    return rank


def test_join_does_not_make_evaluating_the_wrapper_safe():
    # Join shadows the collectives of training (a backward all-reduce included) for the
    # process that ran out of batches; an evaluation never runs that all-reduce.
    with pytest.raises((TimeoutError, distributed.WorkerError)):
        distributed.launch(evaluate_shard_inside_join, world_size=2, timeout=5,
                           start_method="fork")
