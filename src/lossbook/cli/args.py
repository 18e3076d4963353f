"""Argument types of `python -m lossbook train`: each turns one option's text into a value.

Used by `lossbook.cli.parser` (the chapter "An MLP on MNIST"). A bad value raises
`argparse.ArgumentTypeError`, which argparse prints with the usage line and exit code 2.

Example:
    >>> positive_int("3"), momentum("0.5"), subset("1000,200")
    (3, 0.5, (1000, 200))
    >>> positive_int("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: must be a positive integer, got 0
"""

import argparse
import math

import torch


def device(text: str) -> torch.device:
    """A torch device that exists here: cpu, cuda, cuda:N or mps."""
    try:
        device = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text}: CUDA is not available here; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError(f"{text}: MPS is not available here; use --device cpu")
    if device.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"unsupported device {text!r}; use cpu, cuda, cuda:N or mps")
    return device


def _checked(kind, ok, requirement: str):
    """An argparse `type` that converts with `kind` and accepts values for which `ok` is true."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value
    return parse


positive_int = _checked(int, lambda value: value >= 1, "a positive integer")
non_negative_int = _checked(int, lambda value: value >= 0, "an integer >= 0")
positive_float = _checked(float, lambda value: math.isfinite(value) and value > 0, "a positive number")
non_negative_float = _checked(float, lambda value: math.isfinite(value) and value >= 0, "a number >= 0")
momentum = _checked(float, lambda value: 0 <= value < 1, "a number in [0, 1)")
probability = _checked(float, lambda value: 0 <= value <= 1, "a number in [0, 1]")


def subset(text: str) -> tuple[int, int]:
    """`N` or `N,M`: the number of training and of test images to keep."""
    sizes = [positive_int(part) for part in text.split(",")]
    if len(sizes) > 2:
        raise argparse.ArgumentTypeError(f"must be N or N,M (training and test images), got {text!r}")
    return sizes[0], sizes[-1]


def seeds(text: str) -> list[int]:
    """`A-B` (inclusive) or `A,B,C`: the seeds of several runs.

    Example:
        >>> seeds("0-4"), seeds("3,1")
        ([0, 1, 2, 3, 4], [3, 1])
    """
    if "-" in text:
        first, _, last = text.partition("-")
        low, high = non_negative_int(first), non_negative_int(last)
        if high < low:
            raise argparse.ArgumentTypeError(f"must be A-B with A <= B, got {text!r}")
        return list(range(low, high + 1))
    return [non_negative_int(part) for part in text.split(",")]
