"""Downloading a dataset's official files without hanging on a stalled network.

Used by `lossbook.data` (the appendix "The data"). torchvision's own download waits
forever on a network that accepts a connection and never answers (a broken proxy, a
captive portal), and it counts a timeout as one mirror's failure and tries the next.
Here every socket gives up after `timeout` seconds of silence, and the first timeout
ends the whole download: a stalled network costs one timeout, not one per mirror.

Example:
    >>> import socket
    >>> before = socket.getdefaulttimeout()
    >>> with socket_timeout(5.0):
    ...     socket.getdefaulttimeout()
    5.0
    >>> socket.getdefaulttimeout() == before  # the previous default is back
    True
"""

import math
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from torchvision.datasets import utils

__all__ = ["fetch", "socket_timeout"]


def fetch(cls, root: Path, timeout: float) -> None:
    """Download the files of a torchvision MNIST-family dataset into `root/<name>/raw`.

    Files already there are kept. Each missing one comes from the first of `cls.mirrors`
    that serves it, through torchvision's `download_and_extract_archive`, as
    `cls(root, download=True)` would fetch it, but with every socket bounded by `timeout`.

    Args:
        cls: `torchvision.datasets.MNIST` or a subclass such as `FashionMNIST`.
        root: The folder that holds `<cls.__name__>/raw`.
        timeout: Seconds any connection or read may wait for the network, > 0. A slow but
            live download is not cut off; a silent one is.

    Raises:
        TimeoutError: The network did not answer within `timeout` seconds; nothing more
            was tried. The message, one line, gives the time.
        RuntimeError: Every mirror failed for one file; the message, one line, is the last
            mirror's error.
        ValueError: `timeout` is not a positive number of seconds.

    Example:
        >>> from torchvision import datasets
        >>> from lossbook.data import data_root
        >>> fetch(datasets.FashionMNIST, data_root(), timeout=30.0)  # all there: no network
    """
    raw = Path(root) / cls.__name__ / "raw"
    with socket_timeout(timeout):
        for archive, md5 in cls.resources:
            if not (raw / Path(archive).stem).is_file():
                _from_first_mirror(cls.mirrors, archive, md5, raw, timeout)


@contextmanager
def socket_timeout(seconds: float) -> Iterator[None]:
    """Make new sockets give up after `seconds` of silence, until the block ends (also on error).

    torchvision opens its connections with urllib's default timeout, which is the
    process-wide socket default: no timeout at all unless someone sets one. Being
    process-wide, it also bounds sockets that other threads open meanwhile.
    """
    if not 0 < seconds < math.inf:
        raise ValueError(f"a download timeout must be a positive number of seconds, got {seconds!r}; "
                         "set lossbook.data.DOWNLOAD_TIMEOUT to, e.g., 30.")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _from_first_mirror(mirrors: list[str], archive: str, md5: str, raw: Path, timeout: float) -> None:
    # torchvision's MNIST.download runs this loop too, but it catches a timeout with every
    # other URLError and moves on: a stalled network would cost mirrors × timeout, or more.
    failure = None
    for mirror in mirrors:
        url = f"{mirror}{archive}"
        try:
            utils.download_and_extract_archive(url, download_root=raw, filename=archive, md5=md5)
            return
        except (OSError, RuntimeError) as err:  # URLError is an OSError
            if _timed_out(err):
                raise TimeoutError(
                    f"the download timed out after {timeout:g} s with no answer for {url}; if the "
                    f"network is just slow, raise lossbook.data.DOWNLOAD_TIMEOUT") from err
            failure = err
    # As in torchvision's message, the last mirror's error stands for them all.
    raise RuntimeError(_last_line(failure)) from failure


def _timed_out(err: BaseException) -> bool:
    # urllib wraps a timeout while connecting (or opening a proxy's tunnel) in a URLError;
    # one while waiting for the response or reading the body arrives bare.
    return isinstance(err, TimeoutError) or isinstance(getattr(err, "reason", None), TimeoutError)


def _last_line(err: Exception | None) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[-1] if lines else type(err).__name__
