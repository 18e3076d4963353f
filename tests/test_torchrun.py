"""lossbook.distributed.torchrun: joining torchrun's process group, and a real 2-process torchrun."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from lossbook import cli, data, train
from lossbook.distributed import torchrun

LOOPBACK = "127.0.0.1"
# The torchrun job below takes about 15 s on an idle 2-core machine; this only stops a hang.
TIMEOUT = 240.0


def test_outside_torchrun_there_is_no_process_group_to_join(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"):
        monkeypatch.delenv(name, raising=False)
    assert not torchrun.launched_by_torchrun()
    with pytest.raises(RuntimeError, match="torchrun --nproc_per_node"):
        torchrun.start(torch.device("cpu"))
    model = torch.nn.Linear(2, 2)
    assert torchrun.wrap(model, torchrun.Processes()) is model  # one process: no wrapper


# --- a real torchrun job ------------------------------------------------------------------

EPOCHS = 3
RECIPE = ["train", "--dataset", "mnist", "--model", "mlp", "--epochs", str(EPOCHS), "--batch-size", "64",
          "--lr", "0.05", "--momentum", "0.9", "--log-every", "5", "--no-progress", "--offline",
          # 1,024 training images: 16 full batches. 1,001 test images: shards of 501 and 500.
          "--subset", "1024,1001"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def loopback_interface() -> str:
    names = {name for _, name in socket.if_nameindex()}
    return "lo0" if "lo0" in names and "lo" not in names else "lo"


def run_torchrun(args, data_root):
    """Run torchrun with 2 CPU processes on the loopback interface; stop the whole job on timeout."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
               f"--master_addr={LOOPBACK}", f"--master_port={free_port()}", "-m", "lossbook", *args]
    env = os.environ | {"LOSSBOOK_DATA": str(data_root), "GLOO_SOCKET_IFNAME": loopback_interface(),
                        "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # its own process group: one kill stops all
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"torchrun did not finish within {TIMEOUT} s")
    assert process.returncode == 0, stderr
    return stdout


def test_torchrun_reports_exact_metrics_and_trains_like_one_process(real_data_root, tmp_path, capsys,
                                                                    monkeypatch):
    start = time.monotonic()
    stdout = run_torchrun([*RECIPE, "--save", str(tmp_path / "ddp.pt")], real_data_root)
    assert time.monotonic() - start < TIMEOUT
    # Under PyTorch 2.8 and 2.9 Gloo prints "[Gloo] Rank r is connected to 1 peer ranks. ..."
    # from both processes, their pieces sometimes interleaved: not the program's output.
    lines = [line for line in stdout.splitlines()
             if line.strip() and "[Gloo]" not in line and "peer ranks" not in line]
    # Only rank 0 prints: one header, 3 running-loss lines and 1 result line per epoch, one final line.
    assert lines[0].endswith("2 processes on cpu")
    assert len(lines) == 1 + EPOCHS * (3 + 1) + 1 and lines[-1].startswith("final:")
    assert sum(line.startswith("[epoch") for line in lines) == 3 * EPOCHS
    saved = torch.load(tmp_path / "ddp.pt")
    assert saved["world_size"] == 2

    # The reported test metrics equal a single-process evaluation of the final weights.
    model = cli.MODELS["mlp"]()
    model.load_state_dict(saved["model"])
    X_test, y_test = data.as_tensors(torch.utils.data.Subset(data.mnist(train=False), range(1001)),
                                     normalize=data.MNIST_MEAN_STD)
    loss_fn = torch.nn.CrossEntropyLoss()
    single = train.evaluate(model, data.TensorLoader(X_test, y_test, 1001), loss_fn)
    reported = saved["history"][-1]
    assert reported["test_accuracy"] == single["accuracy"]
    assert reported["test_loss"] == pytest.approx(single["loss"], rel=1e-6)
    assert lines[-1].startswith(f"final: per-sample test NLL (cross-entropy) {single['loss']:.4f}, "
                                f"test accuracy {single['accuracy']:.4f}")
    # What the all-reduce of sums avoids: the mean of the two shards' means is off (501 vs 500 images).
    shard_losses = [train.evaluate(model, data.TensorLoader(X_test[rank::2], y_test[rank::2], 1000),
                                   loss_fn)["loss"] for rank in (0, 1)]
    assert abs(sum(shard_losses) / 2 - single["loss"]) > 1e-6

    # DDP averages the two halves' gradients: the same steps as one process on the whole batches.
    monkeypatch.setenv("LOSSBOOK_DATA", str(real_data_root))
    alone = cli.run([*RECIPE, "--save", str(tmp_path / "alone.pt")])
    assert "1 process on" in capsys.readouterr().out
    for record, other in zip(alone, saved["history"], strict=True):
        for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
            assert record[key] == pytest.approx(other[key], rel=1e-5), key
    alone_weights = torch.load(tmp_path / "alone.pt")["model"]
    for name, weight in saved["model"].items():
        torch.testing.assert_close(weight, alone_weights[name], rtol=0, atol=1e-6)
    assert saved["history"][-1]["test_accuracy"] > 0.5  # it learned something: not a trivial agreement
