import shutil
from urllib.error import URLError

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


@pytest.fixture
def offline(monkeypatch):
    """Make every download fail as it does with no network, wherever the test runs."""
    def no_network(*args, **kwargs):
        raise URLError("no network (simulated)")
    monkeypatch.setattr("torchvision.datasets.mnist.download_and_extract_archive", no_network)


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
