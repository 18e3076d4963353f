import os
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session")
def real_data_root():
    """The datasets folder; tests that need it skip locally without it but fail under CI."""
    root = os.environ.get("LOSSBOOK_DATA")
    if root and (Path(root) / "FashionMNIST" / "raw").is_dir():
        return Path(root)
    if os.environ.get("CI"):
        pytest.fail("CI must run with LOSSBOOK_DATA pointing at the datasets (see .ci/run).")
    pytest.skip("datasets not available: set LOSSBOOK_DATA (see README)")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors gain nothing from a second thread, and lose a lot waiting for it on busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
