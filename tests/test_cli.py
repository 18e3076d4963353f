"""`python -m lossbook train`: arguments, errors, and the numbers it reports."""

import os
import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from lossbook import cli, data, models

REQUIRED = {"dataset": "fashion-mnist", "model": "softmax", "epochs": "1", "batch_size": "100", "lr": "0.1"}
FINAL = re.compile(r"^final: per-sample test NLL \(cross-entropy\) (\d+\.\d{4}), test accuracy (\d\.\d{4}) "
                   r"\(([\d,]+) of ([\d,]+) test images\)$")


def python_m_lossbook(*args, data_root):
    env = os.environ | {"LOSSBOOK_DATA": str(data_root)}
    return subprocess.run([sys.executable, "-m", "lossbook", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def command(*flags, **options):
    """`train` with the REQUIRED options, changed or added by `options`, then `flags`."""
    argv = ["train"]
    for name, value in (REQUIRED | options).items():
        argv += [f"--{name.replace('_', '-')}", value]
    return argv + list(flags)


def test_help_shows_every_option_and_the_torchrun_path(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--dataset {fashion-mnist,mnist}", "--model {mlp,softmax}", "--epochs N",
                   "--batch-size B", "--lr LR", "[--optimizer {adam,adamw,sgd}]", "[--momentum M]",
                   "[--weight-decay WD]", "[--schedule {constant,cosine}]", "[--label-smoothing EPS]",
                   "[--validation N]",
                   "[--seed S | --seeds A-B]", "[--device D]", "torchrun"):
        assert option in out
    for name, flags in cli.RECIPES.items():  # every recipe, with the chapter it comes from
        assert name.startswith("chapter ") and f"{name}:\n    python -m lossbook train {flags}" in out


@pytest.mark.parametrize(("argv", "message"), [
    ([], "required: {train}"),
    (["train"], "required: --dataset, --model, --epochs, --batch-size, --lr"),
    (["test"], "invalid choice: 'test'"),
    (command(dataset="cifar10"), "argument --dataset: invalid choice: 'cifar10'"),
    (command(model="resnet"), "argument --model: invalid choice: 'resnet'"),
    (command(epochs="0"), "argument --epochs: must be a positive integer, got 0"),
    (command(epochs="2.5"), "argument --epochs: must be a positive integer, got '2.5'"),
    (command(batch_size="-64"), "argument --batch-size: must be a positive integer"),
    (command(lr="nan"), "argument --lr: must be a positive number, got nan"),
    (command(lr="0"), "argument --lr: must be a positive number"),
    (command(lr="fast"), "argument --lr: must be a positive number, got 'fast'"),
    (command(momentum="1"), "argument --momentum: must be a number in [0, 1)"),
    (command(optimizer="adam", momentum="0.9"), "--momentum is SGD's; adam keeps running averages"),
    (command(optimizer="lbfgs"), "argument --optimizer: invalid choice: 'lbfgs'"),
    (command(weight_decay="-1"), "argument --weight-decay: must be a number >= 0"),
    (command(label_smoothing="1.5"), "argument --label-smoothing: must be a number in [0, 1]"),
    (command(schedule="step"), "argument --schedule: invalid choice: 'step'"),
    (command(seed="-1"), "argument --seed: must be an integer >= 0"),
    (command(device="quantum"), "argument --device: unknown device 'quantum'"),
    (command(subset="10,20,30"), "argument --subset: must be N or N,M"),
    (command("--unknown"), "unrecognized arguments: --unknown"),
])
def test_bad_arguments_exit_with_code_2_and_argparses_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m lossbook") and message in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_an_unavailable_device_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        cli.main(command(device="cuda"))
    assert "CUDA is not available here; use --device cpu" in capsys.readouterr().err


def test_missing_data_prints_the_data_layers_message_without_a_traceback(tmp_path, monkeypatch):
    # --offline: never reach for the network, whatever the machine is connected to.
    result = python_m_lossbook(*command("--offline", dataset="mnist"), data_root=tmp_path)
    monkeypatch.setenv("LOSSBOOK_DATA", str(tmp_path))
    with pytest.raises(data.DataNotFoundError) as error:
        data.mnist(train=True, download=False)
    assert result.returncode == 1
    assert result.stderr == f"python -m lossbook train: error: {error.value}\n"
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_bad_arguments_through_python_m_lossbook(tmp_path):
    result = python_m_lossbook(*command(epochs="ten"), data_root=tmp_path)
    assert result.returncode == 2
    assert "argument --epochs: must be a positive integer, got 'ten'" in result.stderr


def test_a_diverging_loss_stops_with_one_clear_message(real_data_root, capsys):
    code = cli.main(command("--no-progress", model="mlp", lr="1e10", subset="500"))
    assert code == 1
    err = capsys.readouterr().err
    assert re.match(r"python -m lossbook train: error: the loss is (nan|-?inf) at epoch 1, batch \d", err)
    assert "a smaller lr" in err and "Traceback" not in err


def test_the_final_line_is_the_per_sample_test_loss_and_accuracy_of_the_final_weights(
        real_data_root, tmp_path, capsys):
    # 1,500 test images: batches of 1,000 and 500, so a mean of batch means would be off.
    argv = command("--no-progress", subset="2000,1500", save=str(tmp_path / "model.pt"))
    history = cli.run(argv)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("fashion-mnist (pixels in [0, 1]), softmax, SGD lr 0.1 momentum 0.0, "
                               "batch 100, 1 epoch, seed 0, 1 process on")
    assert len(lines) == 3 and lines[1].startswith("epoch  1: train loss")
    loss, acc, correct, total = FINAL.match(lines[-1]).groups()

    saved = torch.load(tmp_path / "model.pt")
    model = cli.MODELS["softmax"]()
    model.load_state_dict(saved["model"])
    X, y = data.as_tensors(torch.utils.data.Subset(data.fashion_mnist(train=False), range(1500)))
    with torch.no_grad():
        logits = model(X)
    expected_loss = F.cross_entropy(logits, y).item()  # all 1,500 at once: no batching at all
    expected_correct = (logits.argmax(dim=1) == y).sum().item()
    assert (float(loss), int(correct.replace(",", "")), total) == (round(expected_loss, 4), expected_correct,
                                                                   "1,500")
    assert float(acc) == round(expected_correct / 1500, 4)
    assert history[-1]["test_loss"] == pytest.approx(expected_loss, rel=1e-6)
    assert saved["history"] == history and saved["args"]["lr"] == 0.1


def test_the_same_seed_gives_the_same_run_and_another_seed_another(real_data_root, capsys):
    def numbers(seed):
        history = cli.run(command("--no-progress", seed=seed, subset="1000", epochs="2"))
        return [{k: v for k, v in record.items() if k != "seconds"} for record in history]

    assert numbers("3") == numbers("3") != numbers("4")


def test_fashion_mnist_softmax_reproduces_the_softmax_regression_chapter(real_data_root, capsys):
    # The chapter's reference, epoch 5: train loss 0.4860, train accuracy 0.837, test accuracy ~0.83,
    # run as the chapter lists it: on 55,000 images, the test set once.
    recipe = cli.RECIPES["chapter 4, softmax regression (the reference recipe)"]
    history = cli.run(f"train {recipe} --no-progress".split())
    last = history[-1]
    assert last["train_loss"] == pytest.approx(0.4860, abs=0.01)
    assert last["train_accuracy"] == pytest.approx(0.837, abs=0.01)
    assert 0.80 <= last["val_accuracy"] <= 0.85 and 0.80 <= last["test_accuracy"] <= 0.85
    assert all("test_accuracy" not in record for record in history[:-1])
    assert capsys.readouterr().out.splitlines()[-1].startswith("final: per-sample test NLL (cross-entropy)")



def test_one_process_gives_the_run_of_the_chapters_own_code(real_data_root, tmp_path, capsys):
    # What the MNIST chapter writes out: seed, model, optimizer, shuffled loader, train.fit.
    argv = command("--no-progress", dataset="mnist", model="mlp", epochs="2", batch_size="64", lr="0.01",
                   momentum="0.5", subset="640,300", save=str(tmp_path / "cli.pt"))
    history = cli.run(argv)
    (X_train, y_train), (X_test, y_test) = (
        data.as_tensors(torch.utils.data.Subset(data.mnist(train=split), range(size)),
                        normalize=data.MNIST_MEAN_STD) for split, size in ((True, 640), (False, 300)))
    from lossbook import models, runtime, train

    runtime.set_seed(0)
    model = models.mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    chapter = train.fit(model, data.TensorLoader(X_train, y_train, 64, shuffle=True),
                        torch.nn.CrossEntropyLoss(), optimizer, 2,
                        test_loader=data.TensorLoader(X_test, y_test, 1000), progress=False)
    for ours, theirs in zip(history, chapter, strict=True):
        assert {k: v for k, v in ours.items() if k != "seconds"} == {k: v for k, v in theirs.items()
                                                                     if k != "seconds"}
    saved = torch.load(tmp_path / "cli.pt")["model"]
    for name, weight in model.state_dict().items():
        assert torch.equal(saved[name], weight)


def test_validation_holds_out_the_chapters_split_and_tests_once(real_data_root, capsys):
    # What the chapters write out: the split, seed, model, optimizer, train.fit on the split
    # with the validation images, then the test set once.
    history = cli.run(command("--no-progress", epochs="2", subset="900,300", validation="200"))
    lines = capsys.readouterr().out.splitlines()
    assert "200 training images held out for validation" in lines[0]
    assert all("| validation NLL " in line for line in lines[1:3])
    (X_all, y_all), (X_test, y_test) = (
        data.as_tensors(torch.utils.data.Subset(data.fashion_mnist(train=split), range(size)))
        for split, size in ((True, 900), (False, 300)))
    train_index, val_index = data.validation_split(900, 200)
    from lossbook import runtime, train

    runtime.set_seed(0)
    model = models.softmax_regression()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    chapter = train.fit(model, data.TensorLoader(X_all[train_index], y_all[train_index], 100, shuffle=True),
                        torch.nn.CrossEntropyLoss(), optimizer, 2,
                        val_loader=data.TensorLoader(X_all[val_index], y_all[val_index], 1000),
                        progress=False)
    chapter[-1] |= {f"test_{key}": value for key, value in
                    train.evaluate(model, data.TensorLoader(X_test, y_test, 1000)).items()}
    assert "test_loss" not in history[0]  # the test set only once, after the last epoch
    for ours, theirs in zip(history, chapter, strict=True):
        assert {k: v for k, v in ours.items() if k != "seconds"} == {k: v for k, v in theirs.items()
                                                                     if k != "seconds"}
    assert FINAL.match(lines[-1])


def test_a_validation_split_as_large_as_the_training_set_is_a_usage_error(real_data_root, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.run(command("--no-progress", subset="300,100", validation="300"))
    assert exit_info.value.code == 2
    message = "--validation 300 leaves no training images: there are 300; hold out fewer"
    assert message in capsys.readouterr().err


def test_adam_with_a_cosine_schedule_and_label_smoothing(real_data_root, tmp_path, capsys):
    history = cli.run(command("--no-progress", optimizer="adam", lr="0.001", schedule="cosine", epochs="2",
                              label_smoothing="0.1", weight_decay="0.01", subset="600,200",
                              save=str(tmp_path / "model.pt")))
    header, first, *_ = capsys.readouterr().out.splitlines()
    assert "Adam lr 0.001, weight decay 0.01, cosine schedule, label smoothing 0.1, batch 100" in header
    assert len(history) == 2 and history[-1]["train_loss"] < history[0]["train_loss"]
    # The training loss is labelled as the smoothed loss; the test loss is the plain NLL.
    assert first.startswith("epoch  1: train loss (cross-entropy with label smoothing 0.1) ")
    assert "| test NLL " in first
    model = models.softmax_regression()
    model.load_state_dict(torch.load(tmp_path / "model.pt")["model"])
    X_test, y_test = data.as_tensors(torch.utils.data.Subset(data.fashion_mnist(train=False), range(200)))
    nll = F.cross_entropy(model(X_test), y_test).item()
    assert history[-1]["test_loss"] == pytest.approx(nll, rel=1e-5)


def test_several_seeds_print_each_run_with_its_interval_and_the_spread(real_data_root, capsys):
    histories = cli.run(command("--no-progress", subset="600,300", seeds="0-2"))
    lines = capsys.readouterr().out.splitlines()
    accuracies = [history[-1]["test_accuracy"] for history in histories]
    assert [line.split(":")[0] for line in lines[-4:-1]] == ["seed 0", "seed 1", "seed 2"]
    assert lines[-1].startswith(f"3 seeds: mean test accuracy {sum(accuracies) / 3:.4f}, standard deviation ")
    # Each run is the single run with that seed.
    single = cli.run(command("--no-progress", subset="600,300", seed="1"))
    assert single[-1]["test_accuracy"] == accuracies[1]


def test_seed_and_seeds_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        cli.run(command(seed="1", seeds="0-2"))
    assert "not allowed with argument" in capsys.readouterr().err
