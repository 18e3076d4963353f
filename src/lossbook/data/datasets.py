"""MNIST and Fashion-MNIST: where they live, loading them offline or online, holding them in memory.

Introduced in the intro ("Running the book"); used by every chapter that trains.
The files are torchvision's: `fashion_mnist()` and `mnist()` download the official
files when online (giving up after `DOWNLOAD_TIMEOUT` seconds without an answer) and
otherwise use what is already under `data_root()`, checked by `lossbook.data.idx`.
"""

import os
import sys
from pathlib import Path

import torch
from torch.utils.data import Subset
from torchvision import datasets

from lossbook.data import downloads
from lossbook.data.idx import CorruptDataError, DataError, DataNotFoundError, check_idx

# Seconds a download waits for the network to answer (to connect, or between reads) before
# giving up with a DataNotFoundError: raise it for a slow link; a slow but live one is never cut off.
DOWNLOAD_TIMEOUT = 30.0

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
# The mean and standard deviation of MNIST's 60,000 official training images' pixels in
# [0, 1]: the `Normalize((0.1307,), (0.3081,))` of PyTorch's examples (chapter 5 computes them).
MNIST_MEAN_STD = (0.1307, 0.3081)


def data_root() -> Path:
    """Return the folder that holds the datasets, creating it if needed.

    `$LOSSBOOK_DATA` if set, else `lossbook` in the per-user cache folder
    (`$XDG_CACHE_HOME`, default `~/.cache`).

    Example:
        >>> data_root().is_dir()
        True
    """
    root = os.environ.get("LOSSBOOK_DATA")
    if not root:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        root = Path(cache) / "lossbook"
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def fashion_mnist(train: bool = True, *, download: bool = True, transform=None):
    """Fashion-MNIST (60,000 training or 10,000 test 28×28 grey images, 10 classes).

    Args:
        train: The training split if True, else the test split.
        download: Fetch the official files if they are not under `data_root()`.
        transform: Passed to torchvision (e.g. `transforms.ToTensor()`).

    Raises:
        DataNotFoundError: The files are missing and could not be downloaded, or the
            network did not answer within `DOWNLOAD_TIMEOUT` seconds.
        CorruptDataError: A file on disk is truncated, corrupt, or another IDX file.

    Example:
        >>> test = fashion_mnist(train=False)
        >>> len(test), FASHION_MNIST_CLASSES[test.targets[0]]
        (10000, 'Ankle boot')
    """
    return _load(datasets.FashionMNIST, train, download, transform)


def mnist(train: bool = True, *, download: bool = True, transform=None):
    """MNIST handwritten digits (60,000 training or 10,000 test 28×28 grey images).

    Arguments, errors and behaviour as `fashion_mnist`.

    Example:
        >>> test = mnist(train=False)
        >>> len(test), int(test.targets[0])
        (10000, 7)
    """
    return _load(datasets.MNIST, train, download, transform)


def as_tensors(dataset, normalize: tuple[float, float] | None = None):
    """Hold a whole MNIST-style dataset in memory as two tensors.

    Args:
        dataset: A torchvision MNIST-family dataset, or a `Subset` of one.
        normalize: Optional `(mean, std)`; pixels become `(x - mean) / std`.

    Returns:
        `(X, y)`: `X` float32 of shape N×1×28×28, in [0, 1] unless normalized; `y` int64.

    Example:
        >>> X, y = as_tensors(fashion_mnist(train=False))
        >>> X.shape, X.dtype, y.dtype
        (torch.Size([10000, 1, 28, 28]), torch.float32, torch.int64)
    """
    images, labels = _pixels_and_labels(dataset)
    X = images.unsqueeze(1).float().div_(255)
    if normalize is not None:
        mean, std = normalize
        if std <= 0:
            raise ValueError(f"normalize=(mean, std) needs std > 0, got std={std}.")
        X.sub_(mean).div_(std)
    return X, labels.long()


def _pixels_and_labels(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(dataset, Subset):
        images, labels = _pixels_and_labels(dataset.dataset)
        rows = torch.as_tensor(dataset.indices, dtype=torch.long)
        return images[rows], labels[rows]
    if isinstance(dataset, datasets.MNIST):  # FashionMNIST is a subclass.
        return dataset.data, dataset.targets
    raise TypeError(
        f"as_tensors expects a torchvision MNIST-family dataset or a Subset of one, "
        f"got {type(dataset).__name__}; for other data build X and y yourself."
    )


def _load(cls, train: bool, download: bool, transform):
    root = data_root()
    raw = Path(root) / cls.__name__ / "raw"
    names = [os.path.splitext(url)[0] for url, _ in cls.resources]
    if not all((raw / name).is_file() for name in names):
        _fetch(cls, root, raw, names, download)
    split = "train" if train else "t10k"
    images, labels = (check_idx(raw / n) for n in names if n.startswith(split))
    if images != labels:
        raise CorruptDataError(
            f"{raw}: the {split} images file holds {images} samples but the labels file "
            f"{labels}; delete the folder's files and download again."
        )
    return cls(root, train=train, download=False, transform=transform)


def _fetch(cls, root: Path, raw: Path, names: list[str], download: bool) -> None:
    missing = ", ".join(name for name in names if not (raw / name).is_file())
    fix = (
        f"To fix: go online and call it again (the files are downloaded to {root}), "
        f"or set LOSSBOOK_DATA to a folder that holds {cls.__name__}/raw/<the four files>."
    )
    if not download:
        raise DataNotFoundError(f"{cls.__name__} is not in {raw} (missing: {missing}). {fix}")
    try:
        from lossbook import data  # the package's value: `lossbook.data.DOWNLOAD_TIMEOUT = 60` takes effect

        downloads.fetch(cls, root, data.DOWNLOAD_TIMEOUT)
    except (OSError, RuntimeError) as err:  # a TimeoutError too: its message gives the time
        raise DataNotFoundError(
            f"{cls.__name__} is not in {raw} (missing: {missing}) and downloading it "
            f"failed ({err}). {fix}"
        ) from err


def main() -> int:
    """`python -m lossbook.data`: load every split (downloading what is missing), print its size.

    Returns:
        The exit code: 0, or 1 after printing a `DataError`'s one-line message on stderr.

    Example:
        >>> main()
        MNIST        train 60,000 images in ...
        MNIST        test  10,000 images in ...
        FashionMNIST train 60,000 images in ...
        FashionMNIST test  10,000 images in ...
        0
    """
    try:
        for load in (mnist, fashion_mnist):
            for split in (True, False):
                dataset = load(train=split)
                print(f"{type(dataset).__name__:12} {'train' if split else 'test':5} "
                      f"{len(dataset):6,} images in {data_root()}")
    except DataError as error:
        print(f"python -m lossbook.data: error: {error}", file=sys.stderr)
        return 1
    return 0

