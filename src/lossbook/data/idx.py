"""The errors of loading a dataset, and the IDX files checked against their names and sizes.

Used by `lossbook.data` (the appendix "The data"): a truncated download, a file that is
not IDX, or the images file where the labels belong gets an error that says to download
again, instead of torchvision's failure deep inside `torch.frombuffer`.
"""

import math
import re
from pathlib import Path


class DataError(RuntimeError):
    """A dataset could not be loaded; the message says why and what to do."""


class DataNotFoundError(DataError):
    """The dataset is not on disk and could not be downloaded."""


class CorruptDataError(DataError):
    """A dataset file on disk is truncated, not an IDX file, or the wrong IDX file."""


def check_idx(path: Path) -> int:
    """Check an IDX file's header against its name and size; return its number of samples."""
    with open(path, "rb") as f:
        header = f.read(4)
        ndim = header[3] if len(header) == 4 else 0
        dims = f.read(4 * ndim)
    if len(header) < 4 or header[:3] != b"\x00\x00\x08" or not 1 <= ndim <= 3 \
            or len(dims) < 4 * ndim:
        raise CorruptDataError(
            f"{path} is not an IDX file of bytes (bad header); delete it and download again."
        )
    # The name says how many dimensions the file has ("idx3": images, "idx1": labels).
    promised = re.search(r"idx(\d)", path.name)
    if promised and ndim != int(promised[1]):
        raise CorruptDataError(
            f"{path} holds {_contents(ndim)} (an IDX file of {_dimensions(ndim)}), not "
            f"{_contents(int(promised[1]))} ({_dimensions(int(promised[1]))}): it is the wrong file; "
            f"delete it and download again, or copy the right {path.name} there."
        )
    shape = [int.from_bytes(dims[i:i + 4], "big") for i in range(0, 4 * ndim, 4)]
    expected = 4 + 4 * ndim + math.prod(shape)
    actual = path.stat().st_size
    if actual != expected:
        raise CorruptDataError(
            f"{path} is truncated or corrupt: its header promises {expected:,} bytes for "
            f"shape {tuple(shape)}, the file has {actual:,}; delete it and download again."
        )
    return shape[0]


def _contents(ndim: int) -> str:
    return {1: "labels", 3: "images"}.get(ndim, "neither images nor labels")


def _dimensions(ndim: int) -> str:
    return f"{ndim} dimension{'' if ndim == 1 else 's'}"
