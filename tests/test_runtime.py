import random

import numpy as np
import torch

from lossbook import runtime


def test_set_seed_seeds_python_numpy_and_torch():
    runtime.set_seed(123)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    runtime.set_seed(123)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert runtime.device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert runtime.device().type == "cpu"
