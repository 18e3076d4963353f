"""What `python -m lossbook train` prints: the run's description, a line per epoch, the final line.

Shown in the chapter "An MLP on MNIST" (chapter 5); `lossbook.cli.runner` prints them.
"""

import argparse

from torch import nn

from lossbook import losses
from lossbook.cli.parser import DATASETS
from lossbook.distributed import torchrun


def describe(args: argparse.Namespace, processes: torchrun.Processes) -> str:
    """The run's first line: data, model, optimizer and its options, batch, epochs, seed, devices."""
    normalize = DATASETS[args.dataset][1]
    pixels = f"pixels (x - {normalize[0]}) / {normalize[1]}" if normalize else "pixels in [0, 1]"
    optimizer = {"sgd": f"SGD lr {args.lr} momentum {args.momentum}", "adam": f"Adam lr {args.lr}",
                 "adamw": f"AdamW lr {args.lr}"}[args.optimizer]
    extras = [f"weight decay {args.weight_decay}"] * bool(args.weight_decay)
    extras += ["cosine schedule"] * (args.schedule == "cosine")
    extras += [f"label smoothing {args.label_smoothing}"] * bool(args.label_smoothing)
    if args.validation:
        extras.append(f"{args.validation:,} training images held out for validation")
    epochs = f"{args.epochs} epoch{'s' * (args.epochs > 1)}"
    where = f"{processes.world_size} process{'es' * (processes.world_size > 1)} on {processes.device}"
    return ", ".join([f"{args.dataset} ({pixels})", args.model, optimizer, *extras,
                      f"batch {args.batch_size}", epochs, f"seed {args.seed}", where])


def epoch_line(record: dict, loss_fn: nn.Module) -> str:
    """One epoch's line: the training loss and accuracy, then the validation split's or the test set's.

    Example:
        >>> record = {"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8, "val_loss": 0.45,
        ...           "val_accuracy": 0.84, "seconds": 1.25}
        >>> print(epoch_line(record, nn.CrossEntropyLoss()))
        epoch  1: train loss 0.5000 accuracy 0.8000 | validation NLL 0.4500 accuracy 0.8400 | 1.2 s
    """
    # Label the training loss as what it is when it is not the NLL that the test reports.
    what = losses.describe(loss_fn)
    train_loss = "train loss" if what == "cross-entropy" else f"train loss ({what})"
    split, name = ("val", "validation") if "val_loss" in record else ("test", "test")
    return (f"epoch {record['epoch']:2d}: "
            f"{train_loss} {record['train_loss']:.4f} accuracy {record['train_accuracy']:.4f} | "
            f"{name} NLL {record[f'{split}_loss']:.4f} accuracy {record[f'{split}_accuracy']:.4f} | "
            f"{record['seconds']:.1f} s")


def final_line(record: dict, test_size: int) -> str:
    """The last line: the test set's per-sample NLL and accuracy, with the count of right images."""
    correct = round(record["test_accuracy"] * test_size)
    return (f"final: per-sample test NLL (cross-entropy) {record['test_loss']:.4f}, test accuracy "
            f"{record['test_accuracy']:.4f} ({correct:,} of {test_size:,} test images)")
