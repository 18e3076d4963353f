import contextlib
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
import torch
from torch.utils.data import Subset

from lossbook import data

IDX_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.fixture
def real_data(real_data_root, monkeypatch):
    monkeypatch.setenv("LOSSBOOK_DATA", str(real_data_root))
    return real_data_root


TIMEOUT = 1.0  # seconds, for lossbook.data.DOWNLOAD_TIMEOUT: its default, 30, is too long for a test
# Seconds after which the silent proxy hangs up: a download without a timeout fails, not hangs.
HANG_UP_AFTER = 20.0


def route_downloads_through(port, monkeypatch):
    """Send this test's http(s) requests to a proxy on 127.0.0.1:`port`, set as users set one."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    # urlopen reads the proxies once, when it builds its opener: have it build one for this
    # test, and put the previous one back afterwards.
    monkeypatch.setattr(urllib.request, "_opener", None)


@pytest.fixture
def offline(monkeypatch):
    """Make every download fail as it does with no network, wherever the test runs."""
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))  # bound but not listening: every connection is refused
        route_downloads_through(refusing.getsockname()[1], monkeypatch)
        yield


@pytest.fixture
def silent_proxy(monkeypatch):
    """A proxy on 127.0.0.1 that accepts connections and never answers; yields them as a list."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)  # wake up often, to notice the end of the test
    accepted, done = [], threading.Event()

    def serve():
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append((server.accept()[0], time.monotonic()))
            for connection, since in accepted:
                if time.monotonic() - since > HANG_UP_AFTER:
                    connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    route_downloads_through(server.getsockname()[1], monkeypatch)
    yield accepted
    done.set()
    thread.join()
    server.close()
    for connection, _ in accepted:
        connection.close()


@pytest.fixture
def stalled_network(silent_proxy, tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSBOOK_DATA", str(tmp_path))
    monkeypatch.setattr(data, "DOWNLOAD_TIMEOUT", TIMEOUT)
    return silent_proxy


@pytest.mark.parametrize("load, n_train", [(data.fashion_mnist, 60000), (data.mnist, 60000)])
def test_splits_shapes_dtypes_and_labels(real_data, load, n_train):
    for train, n in [(True, n_train), (False, 10000)]:
        X, y = data.as_tensors(load(train=train))
        assert X.shape == (n, 1, 28, 28) and X.dtype == torch.float32
        assert y.shape == (n,) and y.dtype == torch.int64
        assert 0 <= X.min() and X.max() == 1
        assert set(y.unique().tolist()) == set(range(10))


def test_fashion_mnist_class_names(real_data):
    assert len(data.FASHION_MNIST_CLASSES) == 10
    y = data.fashion_mnist(train=False).targets
    # The first test image of Fashion-MNIST is an ankle boot, the second a pullover.
    assert [data.FASHION_MNIST_CLASSES[i] for i in y[:2]] == ["Ankle boot", "Pullover"]


def test_as_tensors_normalizes_and_takes_subsets(real_data):
    test = data.mnist(train=False)
    X, _ = data.as_tensors(test)
    Xn, _ = data.as_tensors(test, normalize=(X.mean().item(), X.std().item()))
    assert abs(Xn.mean().item()) < 1e-4 and abs(Xn.std().item() - 1) < 1e-4
    Xs, ys = data.as_tensors(Subset(test, [5, 3]))
    assert torch.equal(Xs, X[[5, 3]]) and ys.tolist() == test.targets[[5, 3]].tolist()
    with pytest.raises(ValueError, match="std > 0"):
        data.as_tensors(test, normalize=(0.1, 0.0))


def test_as_tensors_rejects_other_datasets():
    with pytest.raises(TypeError, match="MNIST-family"):
        data.as_tensors(torch.utils.data.TensorDataset(torch.zeros(2)))


def test_data_root_from_env_created_on_demand(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSBOOK_DATA", str(tmp_path / "new" / "root"))
    assert data.data_root() == tmp_path / "new" / "root" and data.data_root().is_dir()


def test_data_root_default_is_per_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("LOSSBOOK_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.data_root() == tmp_path / "lossbook"


@pytest.mark.parametrize("load, folder", [(data.mnist, "MNIST"), (data.fashion_mnist, "FashionMNIST")])
def test_missing_data_offline_says_what_to_do(tmp_path, monkeypatch, offline, load, folder):
    monkeypatch.setenv("LOSSBOOK_DATA", str(tmp_path))
    with pytest.raises(data.DataNotFoundError) as err:
        load()
    message = str(err.value)
    assert folder in message and str(tmp_path) in message
    assert "LOSSBOOK_DATA" in message and "online" in message


@pytest.mark.parametrize("load, folder", [(data.mnist, "MNIST"), (data.fashion_mnist, "FashionMNIST")])
def test_a_stalled_download_times_out_once_with_a_one_line_message(stalled_network, tmp_path, load, folder):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(600.0)  # the caller's own default, to be restored
    try:
        start = time.monotonic()
        with pytest.raises(data.DataNotFoundError) as err:
            load()
        elapsed = time.monotonic() - start
        assert socket.getdefaulttimeout() == 600.0
    finally:
        socket.setdefaulttimeout(previous)
    message = str(err.value)
    assert "\n" not in message and f"{folder} is not in {tmp_path}" in message
    assert f"timed out after {TIMEOUT:g} s" in message
    assert "LOSSBOOK_DATA" in message and "online" in message
    # The first timeout ends it: one connection, not one per mirror (MNIST has two) and file.
    assert len(stalled_network) == 1
    assert elapsed < 5 * TIMEOUT  # generous; without a timeout it would wait for the proxy to hang up


def test_python_m_lossbook_data_reports_a_stalled_download_in_one_line(stalled_network, capsys):
    assert data.main() == 1
    output = capsys.readouterr()
    assert output.out == "" and output.err.count("\n") == 1
    assert output.err.startswith("python -m lossbook.data: error: MNIST is not in ")
    assert f"timed out after {TIMEOUT:g} s" in output.err and "LOSSBOOK_DATA" in output.err


def test_python_m_lossbook_data_offline_exits_1_without_a_traceback(tmp_path, offline):
    env = os.environ | {"LOSSBOOK_DATA": str(tmp_path)}  # with the proxy that `offline` set
    result = subprocess.run([sys.executable, "-m", "lossbook.data"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("python -m lossbook.data: error: MNIST is not in ")
    assert result.stderr.count("\n") == 1 and "LOSSBOOK_DATA" in result.stderr


def test_missing_data_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSBOOK_DATA", str(tmp_path))
    with pytest.raises(data.DataNotFoundError, match="missing: train-images"):
        data.mnist(download=False)


def copy_raw(src_root, dst_root, folder="MNIST"):
    (dst_root / folder / "raw").mkdir(parents=True)
    for name in IDX_NAMES:
        shutil.copy(src_root / folder / "raw" / name, dst_root / folder / "raw" / name)
    return dst_root / folder / "raw"


def test_truncated_file_is_named(real_data_root, tmp_path, monkeypatch):
    raw = copy_raw(real_data_root, tmp_path)
    victim = raw / "t10k-images-idx3-ubyte"
    victim.write_bytes(victim.read_bytes()[:-100])
    monkeypatch.setenv("LOSSBOOK_DATA", str(tmp_path))
    with pytest.raises(data.CorruptDataError, match="t10k-images-idx3-ubyte is truncated"):
        data.mnist(train=False)
    data.mnist(train=True)  # The intact training split still loads.


def test_garbage_file_is_named(real_data_root, tmp_path, monkeypatch):
    raw = copy_raw(real_data_root, tmp_path, "FashionMNIST")
    (raw / "train-labels-idx1-ubyte").write_bytes(b"<html>not found</html>")
    monkeypatch.setenv("LOSSBOOK_DATA", str(tmp_path))
    with pytest.raises(data.CorruptDataError, match="train-labels-idx1-ubyte is not an IDX"):
        data.fashion_mnist(train=True)


def test_images_and_labels_disagreeing_in_count(real_data_root, tmp_path, monkeypatch):
    raw = copy_raw(real_data_root, tmp_path)
    labels = raw / "t10k-labels-idx1-ubyte"
    content = labels.read_bytes()
    # A valid labels file, but for 9,999 samples.
    labels.write_bytes(content[:4] + (9999).to_bytes(4, "big") + content[8:-1])
    monkeypatch.setenv("LOSSBOOK_DATA", str(tmp_path))
    with pytest.raises(data.CorruptDataError, match="10000 samples but the labels file 9999"):
        data.mnist(train=False)


def write_idx(path, shape):
    """An IDX file of unsigned bytes, all 0, of this shape."""
    header = bytes([0, 0, 8, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)
    path.write_bytes(header + bytes(math.prod(shape)))


def fake_raw(root, folder="MNIST"):
    """A small, well-formed `<root>/<folder>/raw`: 3 training and 2 test images, and their labels."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    for split, n in [("train", 3), ("t10k", 2)]:
        write_idx(raw / f"{split}-images-idx3-ubyte", (n, 28, 28))
        write_idx(raw / f"{split}-labels-idx1-ubyte", (n,))
    return raw


def test_fake_files_load(tmp_path, monkeypatch):  # the control for the tests that spoil them
    fake_raw(tmp_path)
    monkeypatch.setenv("LOSSBOOK_DATA", str(tmp_path))
    assert len(data.mnist(train=True)) == 3 and len(data.mnist(train=False)) == 2


@pytest.mark.parametrize(("victim", "spoil", "says"), [
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
     "holds labels (an IDX file of 1 dimension), not images (3 dimensions)"),
    ("t10k-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
     "holds images (an IDX file of 3 dimensions), not labels (1 dimension)"),
    ("train-images-idx3-ubyte", (3, 784),
     "holds neither images nor labels (an IDX file of 2 dimensions), not images (3 dimensions)"),
])
def test_another_idx_file_in_its_place_is_named_the_wrong_file(tmp_path, monkeypatch, victim, spoil, says):
    raw = fake_raw(tmp_path, "FashionMNIST")
    if isinstance(spoil, str):  # the other file of the split, copied over it
        shutil.copy(raw / spoil, raw / victim)
    else:  # a well-formed IDX file of this shape
        write_idx(raw / victim, spoil)
    monkeypatch.setenv("LOSSBOOK_DATA", str(tmp_path))
    with pytest.raises(data.CorruptDataError) as err:
        data.fashion_mnist(train=victim.startswith("train"))
    message = str(err.value)
    assert message.startswith(f"{raw / victim} {says}: it is the wrong file; ")
    assert "download again" in message and "\n" not in message


def test_validation_split_is_the_chapters_permutation_and_leaves_the_global_seed_alone():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    train_index, val_index = data.validation_split(60_000, 5_000)
    # The split the chapters used to write out by hand.
    order = torch.randperm(60_000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(val_index, order[:5_000]) and torch.equal(train_index, order[5_000:])
    assert torch.equal(torch.rand(3), before)  # the global random state is untouched
    assert torch.equal(data.validation_split(100, 10, seed=1)[1], data.validation_split(100, 10, seed=1)[1])
    assert not torch.equal(data.validation_split(100, 10, seed=1)[1], data.validation_split(100, 10)[1])


@pytest.mark.parametrize("num_val", [0, 100, 101, -1, 2.5, True])
def test_validation_split_refuses_a_split_that_leaves_nothing(num_val):
    with pytest.raises(ValueError, match="num_val must be from 1 to 99"):
        data.validation_split(100, num_val)
