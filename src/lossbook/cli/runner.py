r"""`python -m lossbook train ...`: the book's training recipes from the command line.

Shown in the chapter "An MLP on MNIST". It builds the chapters' models, loaders and
optimizers and calls the same `train.fit`, so one process gives the run the chapter's own
code gives. `RECIPES` lists every recipe of the book with the chapter it comes from;
`--help` prints them. MNIST pixels are normalized with `data.MNIST_MEAN_STD`; Fashion-MNIST
pixels stay in [0, 1], as in the chapters. Under `torchrun --nproc_per_node=N -m lossbook
train ...` the same command trains on N processes (`lossbook.distributed.torchrun`); `--batch-size`
stays the global batch, shared by the processes. `--validation N` holds out the chapters'
split (`data.validation_split`): the validation images after every epoch, the test set
once, after the last. Not in the usage line, for quick tries and tests: `--subset N` keeps
only the first N training and N test images, `--subset N,M` the first N training and M
test images.
"""

import argparse
import os
import sys

import torch
from torch import nn

from lossbook import data, runtime, train
from lossbook.cli import lines, seeds
from lossbook.cli.parser import DATASETS, MODELS, OPTIMIZERS, TEST_BATCH_SIZE, build_parser
from lossbook.distributed import torchrun


def run(argv: list[str] | None = None) -> list[dict]:
    """Parse `argv` (default: the command line), train, print as the command does.

    Returns:
        The history: one dict per epoch, as `train.fit` returns it; with `--seeds`, a
        list of histories, one per seed. With `--validation`, the last epoch's record also
        holds `test_loss` and `test_accuracy`, measured once.

    Raises:
        SystemExit: Bad arguments (exit code 2, argparse's message on stderr).
        lossbook.data.DataError: The dataset is missing or corrupt.
        lossbook.train.NonFiniteLossError: The loss became NaN or infinite (lr too large?).

    Example:
        >>> history = run("train --dataset fashion-mnist --model softmax --epochs 1 "  # fashion_mnist()
        ...               "--batch-size 100 --lr 0.1 --subset 500 --no-progress".split())
        fashion-mnist (pixels in [0, 1]), softmax, SGD lr 0.1 momentum 0.0, batch 100, 1 epoch, ...
        epoch  1: train loss ... | test NLL ... | ... s
        final: per-sample test NLL (cross-entropy) ..., test accuracy ... (... of 500 test images)
        >>> len(history)
        1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.momentum and args.optimizer != "sgd":
        parser.error(f"--momentum is SGD's; {args.optimizer} keeps running averages of its own")
    if not torchrun.launched_by_torchrun():
        return _runs(args, torchrun.Processes(device=args.device or runtime.device()))
    processes = torchrun.start(args.device or torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        return _runs(args, processes)
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


def _runs(args: argparse.Namespace, processes: torchrun.Processes):
    """One run, or with `--seeds` one per seed and their summary (`cli.seeds`)."""
    if args.seeds is None:
        return _train(args, processes)
    test_size = len(DATASETS[args.dataset][0](train=False, download=not args.offline))
    test_size = test_size if args.subset[1] is None else min(args.subset[1], test_size)

    def run_one(seed: int) -> list[dict]:
        return _train(argparse.Namespace(**vars(args) | {"seed": seed}), processes)

    return seeds.over_seeds(run_one, args.seeds, test_size, print if processes.is_main else _silent)


def _train(args: argparse.Namespace, processes: torchrun.Processes) -> list[dict]:
    say = print if processes.is_main else _silent
    device = processes.device
    (X_train, y_train), (X_test, y_test) = _load(args)
    shard = {"num_replicas": processes.world_size, "rank": processes.rank}
    val_loader = None
    if args.validation is not None:
        if args.validation >= len(y_train):
            build_parser().error(f"--validation {args.validation} leaves no training images: there are "
                                 f"{len(y_train):,}; hold out fewer")
        train_index, val_index = data.validation_split(len(y_train), args.validation)
        X_val, y_val = X_train[val_index].to(device), y_train[val_index].to(device)
        X_train, y_train = X_train[train_index], y_train[train_index]
        val_loader = data.TensorLoader(X_val, y_val, TEST_BATCH_SIZE, **shard)
    # The chapters' order of random draws: seed, build the model, then each epoch's order.
    runtime.set_seed(args.seed)
    model = MODELS[args.model]().to(device)
    optimizer = _optimizer(args, model)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs) \
        if args.schedule == "cosine" else None
    train_loader = data.TensorLoader(X_train.to(device), y_train.to(device), args.batch_size,
                                     shuffle=True, **shard)
    test_loader = data.TensorLoader(X_test.to(device), y_test.to(device), TEST_BATCH_SIZE, **shard)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    say(lines.describe(args, processes))

    def on_epoch(record: dict) -> None:
        say(lines.epoch_line(record, loss_fn))
        if schedule is not None:
            schedule.step()

    # The evaluation loss is always the plain cross-entropy (the NLL), whatever the training
    # loss. With a validation split, the test set is measured once, after the last epoch.
    wrapped = torchrun.wrap(model, processes)
    distributed = processes.world_size > 1
    history = train.fit(
        wrapped, train_loader, loss_fn, optimizer, args.epochs, val_loader=val_loader,
        test_loader=None if val_loader else test_loader, progress=args.progress and processes.is_main,
        log_every=args.log_every, log=None if processes.is_main else _silent, on_epoch=on_epoch,
        distributed=distributed)
    if val_loader is not None:
        test = train.evaluate(wrapped, test_loader, distributed=distributed)
        history[-1] |= {"test_loss": test["loss"], "test_accuracy": test["accuracy"]}
    say(lines.final_line(history[-1], len(y_test)))
    if args.save and processes.is_main:
        _save(args, processes, model, history)
    return history


def _optimizer(args: argparse.Namespace, model: nn.Module) -> torch.optim.Optimizer:
    options = {"lr": args.lr, "weight_decay": args.weight_decay}
    if args.optimizer == "sgd":
        options["momentum"] = args.momentum
    elif next(model.parameters()).device.type in ("cpu", "cuda"):
        # Adam's whole update in one kernel per tensor, as chapter 5 does: the same
        # algorithm; on a CPU the default's separate operations cost 14-22 % of a step.
        options["fused"] = True
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


def _save(args: argparse.Namespace, processes: torchrun.Processes, model: nn.Module,
          history: list[dict]) -> None:
    weights = {name: tensor.cpu() for name, tensor in model.state_dict().items()}
    torch.save({"model": weights, "args": vars(args) | {"device": str(processes.device)},
                "world_size": processes.world_size, "history": history}, args.save)


def _silent(*args, **kwargs) -> None:
    """Every process but rank 0 prints nothing."""
