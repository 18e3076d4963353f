import io
import multiprocessing
import os
import sys
import threading
import time
import types

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from lossbook import distributed, metrics

# Every job below must finish well within this; a hang fails the test instead of CI.
TIMEOUT = 30.0
# An odd number of samples: DistributedSampler pads 2 shards with one duplicate.
N, NUM_CLASSES, BATCH_SIZE = 105, 4, 10


pytestmark = pytest.mark.usefixtures("one_thread")


def dataset():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(N, NUM_CLASSES, generator=generator, dtype=torch.float64)
    return logits, torch.randint(NUM_CLASSES, (N,), generator=generator)


def evaluate(sampler):
    """One process's evaluation epoch over its shard (runs inside `launch`)."""
    logits, y = dataset()
    loss_metric, accuracy = metrics.Mean(), metrics.Accuracy()
    seen = []
    for batch_logits, batch_y, rows in DataLoader(
        TensorDataset(logits, y, torch.arange(N)), batch_size=BATCH_SIZE, sampler=sampler
    ):
        loss_metric.update(*metrics.mean_and_count(F.cross_entropy(batch_logits, batch_y), batch_y,
                                                     reduction="mean"))
        accuracy.update(batch_logits, batch_y)
        seen += rows.tolist()
    return loss_metric, accuracy, seen


def exact_and_padded_evaluation():
    loss_metric, accuracy, seen = evaluate(distributed.UnpaddedDistributedSampler(range(N)))
    local_sums = (loss_metric.value_sum.item(), loss_metric.weight_sum.item(), accuracy.correct.item())
    first = (loss_metric.compute(distributed=True), accuracy.compute(distributed=True))
    second = (loss_metric.compute(distributed=True), accuracy.compute(distributed=True))
    unchanged = local_sums == (loss_metric.value_sum.item(), loss_metric.weight_sum.item(),
                               accuracy.correct.item())
    padded_loss, padded_accuracy, padded_seen = evaluate(DistributedSampler(range(N), shuffle=False))
    padded = (padded_loss.compute(distributed=True), padded_accuracy.compute(distributed=True))
    return {"seen": seen, "first": first, "second": second, "unchanged": unchanged,
            "local": (loss_metric.compute(), accuracy.compute()), "padded": padded,
            "padded_seen": padded_seen, "interface": os.environ["GLOO_SOCKET_IFNAME"],
            "threads": torch.get_num_threads(), "backend": dist.get_backend()}


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_two_process_gloo_evaluation_is_exact_and_sync_never_double_counts(start_method):
    start = time.monotonic()
    ranks = distributed.launch(exact_and_padded_evaluation, world_size=2, timeout=TIMEOUT,
                               start_method=start_method)
    assert time.monotonic() - start < TIMEOUT
    logits, y = dataset()
    single_process = (F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).double().mean().item())
    for rank in ranks:
        assert rank["backend"] == "gloo" and rank["interface"] in ("lo", "lo0") and rank["threads"] == 1
        assert rank["first"] == pytest.approx(single_process, abs=1e-12)
        assert rank["second"] == rank["first"] and rank["unchanged"]
        # The duplicate that padding adds moves the loss: evaluation over padded shards is off.
        assert abs(rank["padded"][0] - single_process[0]) > 1e-4
    # Unpadded shards: disjoint, every sample exactly once, sizes 53 and 52.
    assert sorted(ranks[0]["seen"] + ranks[1]["seen"]) == list(range(N))
    assert [len(rank["seen"]) for rank in ranks] == [53, 52]
    # Padded shards: 106 samples, the first one twice.
    padded_seen = sorted(ranks[0]["padded_seen"] + ranks[1]["padded_seen"])
    assert padded_seen == [0] + list(range(N))
    # Averaging the two processes' own means is off too: the shards differ in size.
    mean_of_means = (ranks[0]["local"][0] + ranks[1]["local"][0]) / 2
    assert abs(mean_of_means - single_process[0]) > 1e-6
    assert not multiprocessing.active_children()


def mean_of_one_sample_over_two_processes():
    loss_metric = metrics.Mean()
    for rank_value in distributed.UnpaddedDistributedSampler(range(1)):
        loss_metric.update(float(rank_value + 7))
    return loss_metric.weight_sum.item(), loss_metric.compute(distributed=True)


def test_a_process_without_samples_still_takes_part_in_the_sum():
    results = distributed.launch(mean_of_one_sample_over_two_processes, world_size=2, timeout=TIMEOUT,
                                 start_method="fork")
    assert results == [(1.0, 7.0), (0.0, 7.0)]


def tcp_sockets(pid):
    """(local address, remote address, state) of the TCP sockets of process `pid` (Linux)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # the descriptor listdir itself used
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    sockets = []
    for table in (f"/proc/{pid}/net/tcp", f"/proc/{pid}/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                local, remote = (address.split(":")[0] for address in fields[1:3])
                sockets.append((local, remote, fields[3]))
    return sockets


def sockets_of_this_process_and_its_parent():
    return tcp_sockets(os.getpid()), tcp_sockets(os.getppid())


@pytest.mark.skipif(not os.path.exists("/proc/self/net/tcp"), reason="reads Linux's /proc")
def test_the_processes_use_the_loopback_interface_only():
    # 127.0.0.1, ::1 and ::ffff:127.0.0.1, as /proc/net/tcp* spell them
    loopback = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}
    listen, unconnected = "0A", {"00000000", "0" * 32}
    results = distributed.launch(sockets_of_this_process_and_its_parent, world_size=2, timeout=TIMEOUT,
                                 start_method="fork")
    for worker, parent in results:
        assert any(state == listen for _, _, state in worker)  # gloo's own listener
        assert any(state == listen for _, _, state in parent)  # the store
        for local, remote, state in worker + parent:
            assert local in loopback
            assert remote in loopback or (state == listen and remote in unconnected)


def fail_on_rank_1(message):
    if dist.get_rank() == 1:
        raise ValueError(message)
    dist.barrier()  # Rank 0 waits for rank 1, which never comes: it fails after it.


def test_a_worker_exception_surfaces_with_its_rank_and_traceback():
    start = time.monotonic()
    with pytest.raises(distributed.WorkerError) as err:
        distributed.launch(fail_on_rank_1, world_size=2, args=("rank 1 broke",), timeout=TIMEOUT,
                           start_method="fork")
    message = str(err.value)
    assert message.startswith("process of rank 1 (of 2) raised:")
    assert "in fail_on_rank_1" in message and "ValueError: rank 1 broke" in message
    # Rank 0 fails after rank 1 left (or is stopped): it may be listed, but never first.
    assert "process of rank 0" not in message
    assert time.monotonic() - start < 10
    assert not multiprocessing.active_children()


def sleep_forever():
    time.sleep(3600)


def test_a_job_that_hangs_is_stopped_at_the_timeout():
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="did not finish within 1.5 s"):
        distributed.launch(sleep_forever, world_size=2, timeout=1.5, start_method="fork")
    assert time.monotonic() - start < 8
    assert not multiprocessing.active_children()


def exit_abruptly():
    if dist.get_rank() == 0:
        os._exit(3)  # No exception, no traceback: the process just dies.
    dist.barrier()


def test_a_worker_that_dies_without_an_exception_is_reported():
    message = r"process of rank 0 \(of 2\) died \(exit code 3\) without raising"
    with pytest.raises(distributed.WorkerError, match=message):
        distributed.launch(exit_abruptly, world_size=2, timeout=TIMEOUT, start_method="fork")


def matmul_sum():
    return (torch.ones(300, 300) @ torch.ones(300, 300)).sum().item()


def test_forked_workers_can_compute_after_the_parent_used_its_threads():
    # A forked child that starts OpenMP threads after its parent did hangs forever;
    # launch runs the children single-threaded.
    torch.set_num_threads(2)
    try:
        torch.ones(500, 500) @ torch.ones(500, 500)
        results = distributed.launch(matmul_sum, world_size=2, timeout=TIMEOUT, start_method="fork")
    finally:
        torch.set_num_threads(1)
    assert results == [300.0**3] * 2


def test_a_forked_worker_never_flushes_the_parents_stdout(monkeypatch):
    # In Jupyter, sys.stdout's lock may be held by the kernel's output thread at the
    # fork; a child that flushed that inherited object when exiting would hang.
    held, parent = threading.Lock(), os.getpid()

    class NotebookStream(io.StringIO):
        def flush(self):
            if os.getpid() != parent:  # a copy of the lock, held at the fork
                with held:
                    super().flush()

    monkeypatch.setattr(sys, "stdout", NotebookStream())
    with held:  # held at the fork, so held forever in the children
        results = distributed.launch(dist.get_rank, world_size=2, timeout=TIMEOUT,
                                     start_method="fork")
    assert results == [0, 1]


def test_a_notebook_function_with_spawn_is_refused_with_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))  # no __file__
    def defined_in_a_cell():
        return 1
    defined_in_a_cell.__module__ = "__main__"
    with pytest.raises(ValueError, match="defined in a notebook .* start_method='fork'"):
        distributed.launch(defined_in_a_cell, start_method="spawn")


@pytest.mark.parametrize("kwargs, message", [
    ({"world_size": 0}, "world_size must be a positive integer"),
    ({"timeout": 0}, "timeout must be a positive number"),
    ({"start_method": "thread"}, "start_method must be one of"),
])
def test_bad_launch_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        distributed.launch(matmul_sum, **kwargs)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 300), num_replicas=st.integers(1, 9))
def test_unpadded_shards_cover_the_dataset_exactly_once(n, num_replicas):
    shards = [list(distributed.UnpaddedDistributedSampler(range(n), num_replicas, rank))
              for rank in range(num_replicas)]
    assert sorted(sum(shards, [])) == list(range(n))
    assert [len(s) for s in shards] == [len(distributed.UnpaddedDistributedSampler(range(n), num_replicas, r))
                                        for r in range(num_replicas)]
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    # The same shards as DistributedSampler without shuffling, minus its padded tail.
    for rank, shard in enumerate(shards):
        padded = list(DistributedSampler(range(n), num_replicas, rank, shuffle=False))
        assert padded[:len(shard)] == shard
        assert set(padded[len(shard):]) <= set(range(n))


def test_sampler_needs_a_process_group_or_explicit_ranks():
    with pytest.raises(RuntimeError, match="pass num_replicas and rank"):
        distributed.UnpaddedDistributedSampler(range(4))
    with pytest.raises(ValueError, match=r"rank must be in 0 ... 1, got rank=2"):
        distributed.UnpaddedDistributedSampler(range(4), num_replicas=2, rank=2)

