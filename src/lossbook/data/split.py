"""`validation_split`: which training samples to hold out for choosing, drawn once.

Introduced in the chapter "Softmax regression" (chapter 4) and used wherever the book
chooses a learning rate, a schedule, a number of epochs or a model: the choice is made on
the held-out samples, and the test set is measured once, at the end. The command line's
`--validation N` draws the same split, so a chapter and the command train on the same
samples.
"""

import torch

from lossbook import _validate


def validation_split(num_samples: int, num_val: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the samples to train on and of the `num_val` held out, drawn at random.

    One permutation of `range(num_samples)` from a generator seeded with `seed` (so the
    global random state is neither used nor changed): its first `num_val` entries are the
    validation samples, the rest the training samples, in that permuted order. The two are
    disjoint and together cover every sample; the same arguments give the same split on
    every machine.

    Args:
        num_samples: How many samples there are, at least 2.
        num_val: How many to hold out, from 1 to `num_samples - 1`.
        seed: Seeds the permutation (the book uses 0).

    Returns:
        `(train_index, val_index)`, two int64 tensors of lengths `num_samples - num_val`
        and `num_val`.

    Raises:
        ValueError: `num_val` leaves no sample for one of the two.

    Example:
        >>> train_index, val_index = validation_split(10, 3)
        >>> len(train_index), len(val_index)
        (7, 3)
        >>> sorted(train_index.tolist() + val_index.tolist()) == list(range(10))
        True
        >>> validation_split(10, 10)
        Traceback (most recent call last):
        ...
        ValueError: num_val must be from 1 to 9 (it leaves samples to train on), got 10.
    """
    _validate.positive_int("num_samples", num_samples, minimum=2)
    _validate.positive_int("seed", seed, minimum=0)
    if isinstance(num_val, bool) or not isinstance(num_val, int) or not 1 <= num_val < num_samples:
        raise ValueError(f"num_val must be from 1 to {num_samples - 1} (it leaves samples to train on), "
                         f"got {num_val!r}.")
    order = torch.randperm(num_samples, generator=torch.Generator().manual_seed(seed))
    return order[num_val:], order[:num_val]
