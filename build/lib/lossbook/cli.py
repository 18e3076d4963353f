r"""`python -m lossbook train ...`: the book's training recipes from the command line.

Shown in the chapter "An MLP on MNIST". It builds the chapters' models, loaders and
optimizers and calls the same `train.fit`, so one process gives the run the chapter's own
code gives. `RECIPES` lists every recipe of the book with the chapter it comes from;
`--help` prints them. MNIST pixels are normalized with `data.MNIST_MEAN_STD`; Fashion-MNIST
pixels stay in [0, 1], as in the chapters. Under `torchrun --nproc_per_node=N -m lossbook
train ...` the same command trains on N processes (`lossbook.torchrun`); `--batch-size`
stays the global batch, shared by the processes. Not in the usage line, for quick tries and
tests: `--subset N` keeps only the first N training and N test images, `--subset N,M` the
first N training and M test images.
"""

import argparse
import os
import sys

import torch
from torch import nn

from lossbook import cli_args, data, models, runtime, torchrun, train

__all__ = ["RECIPES", "build_parser", "main", "run"]

DATASETS = {"mnist": (data.mnist, data.MNIST_MEAN_STD), "fashion-mnist": (data.fashion_mnist, None)}
MODELS = {"softmax": models.softmax_regression, "mlp": models.mlp}
OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
TEST_BATCH_SIZE = 1000  # evaluation only: any size gives the same per-sample means
RECIPES = {
    "chapter 4, softmax regression (the reference recipe)":
        "--dataset fashion-mnist --model softmax --epochs 5 --batch-size 256 --lr 0.1",
    "chapter 4, softmax regression with a cosine schedule":
        "--dataset fashion-mnist --model softmax --epochs 20 --batch-size 256 --lr 0.5 --schedule cosine",
    "chapter 5, the MLP's reference run":
        "--dataset mnist --model mlp --epochs 10 --batch-size 64 --lr 0.01 --momentum 0.5",
    "chapter 5, the MLP's better recipe":
        "--dataset mnist --model mlp --epochs 5 --batch-size 128 --optimizer adam --lr 0.001 "
        "--schedule cosine",
    "chapter 5, softmax regression on MNIST":
        "--dataset mnist --model softmax --epochs 10 --batch-size 64 --lr 0.01 --momentum 0.5",
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
        "train", help="train a model and report its per-sample test loss and accuracy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a model; print train and test loss and accuracy per epoch and, last, "
                    "the per-sample test loss and accuracy.",
        epilog=f"The book's recipes:\n{recipes}\n\n"
               "Under torchrun --nproc_per_node=N -m lossbook train ... it trains on N processes\n"
               "(DistributedDataParallel; gloo on CPU, NCCL on CUDA) and reports the same metrics.\n"
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
    command.add_argument("--seed", type=cli_args.non_negative_int, default=0, metavar="S",
                         help="seeds the initial weights and the batches (default: 0)")
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


def run(argv: list[str] | None = None) -> list[dict]:
    """Parse `argv` (default: the command line), train, print as the command does.

    Returns:
        The history: one dict per epoch, as `train.fit` returns it.

    Raises:
        SystemExit: Bad arguments (exit code 2, argparse's message on stderr).
        lossbook.data.DataError: The dataset is missing or corrupt.
        lossbook.train.NonFiniteLossError: The loss became NaN or infinite (lr too large?).

    Example:
        >>> history = run("train --dataset fashion-mnist --model softmax --epochs 1 "  # fashion_mnist()
        ...               "--batch-size 100 --lr 0.1 --subset 500 --no-progress".split())
        fashion-mnist (pixels in [0, 1]), softmax, SGD lr 0.1 momentum 0.0, batch 100, 1 epoch, ...
        epoch  1: train loss ... | test loss ... | ... s
        final: per-sample test loss ..., test accuracy ... (... of 500 test images)
        >>> len(history)
        1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.momentum and args.optimizer != "sgd":
        parser.error(f"--momentum is SGD's; {args.optimizer} keeps running averages of its own")
    if not torchrun.launched_by_torchrun():
        return _train(args, torchrun.Processes(device=args.device or runtime.device()))
    processes = torchrun.start(args.device or torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        return _train(args, processes)
    finally:
        torchrun.stop()  # also after an error, so that the other processes are not left waiting


def main(argv: list[str] | None = None) -> int:
    """`run`, with data and divergence errors printed as one message instead of a traceback.

    Returns:
        The exit code: 0 on success, 1 if the data is missing or corrupt or the loss diverged
        (bad arguments exit with code 2, as argparse does).

    Example:
        >>> main(["train", "--dataset", "mnist"])
        Traceback (most recent call last):
        SystemExit: 2
    """
    try:
        run(argv)
    except (data.DataError, train.NonFiniteLossError) as error:
        # Under torchrun every process fails the same way; the rank tells them apart.
        rank = f"[rank {os.environ['RANK']}] " if torchrun.launched_by_torchrun() else ""
        print(f"python -m lossbook train: error: {rank}{error}", file=sys.stderr)
        return 1
    return 0


def _train(args: argparse.Namespace, processes: torchrun.Processes) -> list[dict]:
    say = print if processes.is_main else _silent
    device = processes.device
    (X_train, y_train), (X_test, y_test) = _load(args)
    shard = {"num_replicas": processes.world_size, "rank": processes.rank}
    # The chapters' order of random draws: seed, build the model, then each epoch's order.
    runtime.set_seed(args.seed)
    model = MODELS[args.model]().to(device)
    optimizer = _optimizer(args, model)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs) \
        if args.schedule == "cosine" else None
    train_loader = data.TensorLoader(X_train.to(device), y_train.to(device), args.batch_size,
                                     shuffle=True, **shard)
    test_loader = data.TensorLoader(X_test.to(device), y_test.to(device), TEST_BATCH_SIZE, **shard)
    say(_describe(args, processes))

    def on_epoch(record: dict) -> None:
        say(_epoch_line(record))
        if schedule is not None:
            schedule.step()

    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    history = train.fit(
        torchrun.wrap(model, processes), train_loader, loss_fn, optimizer, args.epochs,
        test_loader=test_loader, progress=args.progress and processes.is_main,
        log_every=args.log_every, log=None if processes.is_main else _silent, on_epoch=on_epoch,
        distributed=processes.world_size > 1)
    say(_final_line(history[-1], len(y_test)))
    if args.save and processes.is_main:
        _save(args, processes, model, history)
    return history


def _optimizer(args: argparse.Namespace, model: nn.Module) -> torch.optim.Optimizer:
    options = {"lr": args.lr, "weight_decay": args.weight_decay}
    if args.optimizer == "sgd":
        options["momentum"] = args.momentum
    return OPTIMIZERS[args.optimizer](model.parameters(), **options)


def _load(args: argparse.Namespace):
    load, normalize = DATASETS[args.dataset]
    num_train, num_test = args.subset
    return (_tensors(load(train=True, download=not args.offline), normalize, num_train),
            _tensors(load(train=False, download=not args.offline), normalize, num_test))


def _tensors(dataset, normalize, size: int | None):
    if size is not None:
        dataset = torch.utils.data.Subset(dataset, range(min(size, len(dataset))))
    return data.as_tensors(dataset, normalize=normalize)


def _describe(args: argparse.Namespace, processes: torchrun.Processes) -> str:
    normalize = DATASETS[args.dataset][1]
    pixels = f"pixels (x - {normalize[0]}) / {normalize[1]}" if normalize else "pixels in [0, 1]"
    optimizer = {"sgd": f"SGD lr {args.lr} momentum {args.momentum}", "adam": f"Adam lr {args.lr}",
                 "adamw": f"AdamW lr {args.lr}"}[args.optimizer]
    extras = [f"weight decay {args.weight_decay}"] * bool(args.weight_decay)
    extras += ["cosine schedule"] * (args.schedule == "cosine")
    extras += [f"label smoothing {args.label_smoothing}"] * bool(args.label_smoothing)
    epochs = f"{args.epochs} epoch{'s' * (args.epochs > 1)}"
    where = f"{processes.world_size} process{'es' * (processes.world_size > 1)} on {processes.device}"
    return ", ".join([f"{args.dataset} ({pixels})", args.model, optimizer, *extras,
                      f"batch {args.batch_size}", epochs, f"seed {args.seed}", where])


def _epoch_line(record: dict) -> str:
    return (f"epoch {record['epoch']:2d}: "
            f"train loss {record['train_loss']:.4f} acc {record['train_acc']:.4f} | "
            f"test loss {record['test_loss']:.4f} acc {record['test_acc']:.4f} | {record['seconds']:.1f} s")


def _final_line(record: dict, test_size: int) -> str:
    correct = round(record["test_acc"] * test_size)
    return (f"final: per-sample test loss {record['test_loss']:.4f}, test accuracy {record['test_acc']:.4f} "
            f"({correct:,} of {test_size:,} test images)")


def _save(args: argparse.Namespace, processes: torchrun.Processes, model: nn.Module,
          history: list[dict]) -> None:
    weights = {name: tensor.cpu() for name, tensor in model.state_dict().items()}
    torch.save({"model": weights, "args": vars(args) | {"device": str(processes.device)},
                "world_size": processes.world_size, "history": history}, args.save)


def _silent(*args, **kwargs) -> None:
    """Every process but rank 0 prints nothing."""
