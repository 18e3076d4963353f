"""The argument parser of `python -m lossbook train`, and the book's recipes it lists.

Shown in the chapter "An MLP on MNIST" (chapter 5); `lossbook.cli.runner` runs what it parses.
"""

import argparse

import torch

from lossbook import data, models
from lossbook.cli import args as cli_args

DATASETS = {"mnist": (data.mnist, data.MNIST_MEAN_STD), "fashion-mnist": (data.fashion_mnist, None)}
MODELS = {"softmax": models.softmax_regression, "mlp": models.mlp}
OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
TEST_BATCH_SIZE = 1000  # evaluation only: any size gives the same per-sample means
RECIPES = {
    "chapter 4, softmax regression (the reference recipe)":
        "--dataset fashion-mnist --model softmax --epochs 5 --batch-size 256 --lr 0.1 --validation 5000",
    "chapter 4, softmax regression with a cosine schedule":
        "--dataset fashion-mnist --model softmax --epochs 20 --batch-size 256 --lr 0.5 --schedule cosine "
        "--validation 5000",
    "chapter 5, the MLP's reference run":
        "--dataset mnist --model mlp --epochs 10 --batch-size 64 --lr 0.01 --momentum 0.5 --validation 5000",
    "chapter 5, the MLP's better recipe":
        "--dataset mnist --model mlp --epochs 4 --batch-size 128 --optimizer adam --lr 0.001 "
        "--schedule cosine --validation 5000",
    "chapter 5, softmax regression on MNIST":
        "--dataset mnist --model softmax --epochs 10 --batch-size 64 --lr 0.01 --momentum 0.5 "
        "--validation 5000",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m lossbook`.

    Example:
        >>> args = build_parser().parse_args("train --dataset mnist --model mlp --epochs 2 "
        ...                                  "--batch-size 64 --lr 0.01".split())
        >>> args.dataset, args.epochs, args.optimizer, args.momentum, args.schedule
        ('mnist', 2, 'sgd', 0.0, 'constant')
    """
    parser = argparse.ArgumentParser(
        prog="python -m lossbook", description="lossbook's command-line runner.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train}")
    recipes = "\n".join(f"  {name}:\n    python -m lossbook train {flags}" for name, flags in RECIPES.items())
    command = commands.add_parser(
        "train", help="train a model and report its per-sample test NLL and accuracy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a model; print the training loss and accuracy and the test NLL (plain "
                    "cross-entropy) and accuracy per epoch and, last, the per-sample test NLL and accuracy.",
        epilog=f"The book's recipes:\n{recipes}\n\n"
               "Under torchrun --nproc_per_node=N -m lossbook train ... it trains on N processes\n"
               "(DistributedDataParallel; gloo on CPU, NCCL on CUDA) and reports the same metrics.\n"
               "--validation N holds out N training images (data.validation_split, as the chapters do),\n"
               "reports them after every epoch and the test set once, after the last.\n"
               "--subset N (for quick tries) uses only the first N training and N test images;\n"
               "--subset N,M the first N training and M test images.")
    command.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    command.add_argument("--model", required=True, choices=sorted(MODELS),
                         help="softmax regression, or the MNIST chapter's 784-512-256-128-64-10 MLP")
    command.add_argument("--epochs", required=True, type=cli_args.positive_int, metavar="N")
    command.add_argument("--batch-size", required=True, type=cli_args.positive_int, metavar="B",
                         help="samples per step, over all processes")
    command.add_argument("--lr", required=True, type=cli_args.positive_float, metavar="LR")
    command.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd",
                         help="(default: sgd)")
    command.add_argument("--momentum", type=cli_args.momentum, default=0.0, metavar="M",
                         help="SGD momentum in [0, 1) (default: 0)")
    command.add_argument("--weight-decay", type=cli_args.non_negative_float, default=0.0, metavar="WD",
                         help="(default: 0)")
    command.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                         help="the learning rate: constant, or a cosine from --lr to 0 over the epochs, "
                              "stepped after each (default: constant)")
    command.add_argument("--label-smoothing", type=cli_args.probability, default=0.0, metavar="EPS",
                         help="nn.CrossEntropyLoss's label_smoothing in [0, 1] (default: 0)")
    command.add_argument("--validation", type=cli_args.positive_int, default=None, metavar="N",
                         help="hold out N training images (the chapters' split), report them after "
                              "every epoch and the test set once, at the end (default: none; the test "
                              "set after every epoch)")
    seeding = command.add_mutually_exclusive_group()
    seeding.add_argument("--seed", type=cli_args.non_negative_int, default=0, metavar="S",
                         help="seeds the initial weights and the batches (default: 0)")
    seeding.add_argument("--seeds", type=cli_args.seeds, default=None, metavar="A-B",
                         help="one run per seed (A-B or A,B,C), then each run's test accuracy with "
                              "its interval, and their mean and standard deviation")
    command.add_argument("--device", type=cli_args.device, default=None, metavar="D",
                         help="cpu, cuda, cuda:1, mps (default: the best available)")
    command.add_argument("--log-every", type=cli_args.positive_int, default=None, metavar="K",
                         help="print the running per-sample training loss every K batches")
    command.add_argument("--no-progress", dest="progress", action="store_false",
                         help="no progress bar")
    command.add_argument("--offline", action="store_true",
                         help="never download: fail if the data is not in $LOSSBOOK_DATA")
    command.add_argument("--save", metavar="PATH", default=None,
                         help="save the final weights, the arguments and the history (torch.save)")
    command.add_argument("--subset", type=cli_args.subset, default=(None, None), help=argparse.SUPPRESS)
    return parser
