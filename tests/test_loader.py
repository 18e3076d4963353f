import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset

from lossbook.data import TensorLoader


def make_data(n):
    X = torch.arange(n * 3, dtype=torch.float32).reshape(n, 3)
    return X, torch.arange(n) % 7


def batches(loader):
    return [(xb.clone(), yb.clone()) for xb, yb in loader]


def assert_same_batches(a, b):
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 70), batch_size=st.integers(1, 25), drop_last=st.booleans())
def test_matches_dataloader_in_order(n, batch_size, drop_last):
    X, y = make_data(n)
    ours = TensorLoader(X, y, batch_size, drop_last=drop_last)
    theirs = DataLoader(TensorDataset(X, y), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert len(ours.dataset) == len(theirs.dataset) == n
    assert_same_batches(batches(ours), batches(theirs))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 70), batch_size=st.integers(1, 25), seed=st.integers(0, 2**31))
def test_shuffle_matches_dataloader_with_seeded_generator(n, batch_size, seed):
    X, y = make_data(n)
    ours = TensorLoader(X, y, batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    theirs = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    for _epoch in range(3):
        assert_same_batches(batches(ours), batches(theirs))


def test_shuffle_matches_dataloader_under_global_seed():
    X, y = make_data(23)
    torch.manual_seed(3)
    ours = [batches(TensorLoader(X, y, 5, shuffle=True)) for _ in range(2)]
    after_ours = torch.rand(1)
    torch.manual_seed(3)
    theirs = [batches(DataLoader(TensorDataset(X, y), 5, shuffle=True)) for _ in range(2)]
    after_theirs = torch.rand(1)
    for a, b in zip(ours, theirs, strict=True):
        assert_same_batches(a, b)
    # Same random numbers are consumed, so later randomness (init, dropout) matches too.
    assert torch.equal(after_ours, after_theirs)


def test_fresh_permutation_every_epoch_and_every_sample_once():
    X, y = make_data(50)
    loader = TensorLoader(X, y, 8, shuffle=True, generator=torch.Generator().manual_seed(0))
    epochs = [torch.cat([yb for _, yb in loader]) for _ in range(2)]
    xs = torch.cat([xb[:, 0] for xb, _ in loader])
    assert sorted(xs.tolist()) == sorted(X[:, 0].tolist())
    assert not torch.equal(epochs[0], epochs[1])


def test_seeded_generator_is_reproducible():
    X, y = make_data(40)
    a = TensorLoader(X, y, 6, shuffle=True, generator=torch.Generator().manual_seed(7))
    b = TensorLoader(X, y, 6, shuffle=True, generator=torch.Generator().manual_seed(7))
    assert_same_batches(batches(a), batches(b))


def test_last_partial_batch_kept_unless_drop_last():
    X, y = make_data(105)
    assert [len(yb) for _, yb in TensorLoader(X, y, 10)] == [10] * 10 + [5]
    assert [len(yb) for _, yb in TensorLoader(X, y, 10, drop_last=True)] == [10] * 10
    assert len(TensorLoader(X, y, 10, drop_last=True).dataset) == 105


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "8"])
def test_bad_batch_size(batch_size):
    X, y = make_data(4)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        TensorLoader(X, y, batch_size)


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="3 inputs and 2 targets"):
        TensorLoader(torch.zeros(3, 2), torch.zeros(2), 1)


def test_empty_and_non_tensor_inputs():
    with pytest.raises(ValueError, match="empty"):
        TensorLoader(torch.zeros(0, 2), torch.zeros(0), 1)
    with pytest.raises(ValueError, match="as_tensors"):
        TensorLoader([[1.0]], [0], 1)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 80), batch_size=st.integers(1, 12), num_replicas=st.integers(1, 4),
       shuffle=st.booleans(), seed=st.integers(0, 2**16))
def test_processes_share_every_batch_that_one_process_would_see(n, batch_size, num_replicas, shuffle, seed):
    X, y = make_data(n)

    def epochs(**kwargs):
        loader = TensorLoader(X, y, batch_size, shuffle=shuffle,
                              generator=torch.Generator().manual_seed(seed), **kwargs)
        return len(loader), [batches(loader) for _ in range(2)]

    length, alone = epochs()
    shares = [epochs(num_replicas=num_replicas, rank=rank) for rank in range(num_replicas)]
    assert {len_ for len_, _ in shares} == {length}, "every process runs the same number of steps"
    for epoch in range(2):
        for step, (xb, yb) in enumerate(alone[epoch]):
            parts = [share[epoch][step] for _, share in shares]
            assert torch.equal(torch.cat([p[0] for p in parts]), xb)
            assert torch.equal(torch.cat([p[1] for p in parts]), yb)
            sizes = [len(p[1]) for p in parts]
            assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"num_replicas": 0}, "num_replicas must be a positive integer"),
    ({"num_replicas": 2, "rank": 2}, r"rank must be in 0 \.\.\. 1"),
])
def test_bad_shards_are_refused(kwargs, message):
    X, y = make_data(4)
    with pytest.raises(ValueError, match=message):
        TensorLoader(X, y, 2, **kwargs)
