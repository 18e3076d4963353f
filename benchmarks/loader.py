"""One epoch of Fashion-MNIST softmax regression: TensorLoader vs DataLoader + ToTensor.

Run with `make bench` (needs the datasets: see README). Same model, same seed, same
batch size; only the way batches are produced differs. Target ratio: at least 10x.
"""

import time

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms

from lossbook import data, runtime

BATCH_SIZE = 256
LR = 0.1


def train_one_epoch(loader) -> tuple[float, float]:
    """Train a fresh 784->10 model for one epoch; return (seconds, last batch loss)."""
    runtime.set_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for X, y in loader:
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start, loss.item()


def main() -> None:
    """Time both loaders and print the ratio."""
    X, y = data.as_tensors(data.fashion_mnist(train=True))
    tensor_loader = data.TensorLoader(X, y, BATCH_SIZE, shuffle=True,
                                      generator=torch.Generator().manual_seed(0))
    pil_dataset = data.fashion_mnist(train=True, transform=transforms.ToTensor())
    data_loader = DataLoader(pil_dataset, BATCH_SIZE, shuffle=True,
                             generator=torch.Generator().manual_seed(0))
    fast, fast_loss = train_one_epoch(tensor_loader)
    slow, slow_loss = train_one_epoch(data_loader)
    print(f"threads: {torch.get_num_threads()}, batch size {BATCH_SIZE}, one epoch of 60,000 images")
    print(f"TensorLoader:            {fast:6.2f} s  (last batch loss {fast_loss:.4f})")
    print(f"DataLoader + ToTensor(): {slow:6.2f} s  (last batch loss {slow_loss:.4f})")
    print(f"speed-up: {slow / fast:.1f}x (target: >= 10x)")
    # Same seed and the same batches: both runs must end on the same loss.
    assert abs(fast_loss - slow_loss) < 1e-4, "the two loaders did not give the same batches"


if __name__ == "__main__":
    main()
