"""Data: the datasets on disk or downloaded, and batches of tensors held in memory.

Introduced in the intro ("Running the book"); used by every chapter that trains.

- `datasets`: `mnist()`, `fashion_mnist()`, `as_tensors()`, `data_root()`;
- `loader`: `TensorLoader`, DataLoader-style batches from tensors (also one share per process);
- `split`: `validation_split()`, the training samples held out for choosing;
- `downloads`: the official files, with a timeout; `idx`: their checks and the errors.

`python -m lossbook.data` loads every split (downloading what is missing).
"""

from lossbook.data.datasets import (
    DOWNLOAD_TIMEOUT,
    FASHION_MNIST_CLASSES,
    MNIST_MEAN_STD,
    as_tensors,
    data_root,
    fashion_mnist,
    main,
    mnist,
)
from lossbook.data.idx import CorruptDataError, DataError, DataNotFoundError
from lossbook.data.loader import TensorLoader
from lossbook.data.split import validation_split

__all__ = [
    "DOWNLOAD_TIMEOUT", "FASHION_MNIST_CLASSES", "MNIST_MEAN_STD", "CorruptDataError", "DataError",
    "DataNotFoundError", "TensorLoader", "as_tensors", "data_root", "fashion_mnist", "main", "mnist",
    "validation_split",
]
