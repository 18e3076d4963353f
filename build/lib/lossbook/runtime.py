"""Reproducibility and hardware: seeds and the device to train on.

Taught in the intro (how to run the book) and used by every chapter that trains.
"""

import random

import torch


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's (if installed) and PyTorch's random number generators.

    Args:
        seed: Any integer; the same seed gives the same initial weights and batches.

    Example:
        >>> set_seed(0); a = torch.rand(2)
        >>> set_seed(0); b = torch.rand(2)
        >>> torch.equal(a, b)
        True
    """
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np
    except ImportError:  # NumPy is optional for the book's own code.
        return
    np.random.seed(seed)


def device() -> torch.device:
    """Return the best available device: CUDA, then Apple's MPS, then the CPU.

    Example:
        >>> device().type in {"cuda", "mps", "cpu"}
        True
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
