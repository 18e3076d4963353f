# LB101, right: weight each batch mean by its count, or divide equal batches.
import torch
from torch import nn
from torch.utils.data import DataLoader

loss_fn = nn.CrossEntropyLoss()
sum_loss_fn = nn.CrossEntropyLoss(reduction="sum")


def test_loop(dataloader, model):
    model.eval()
    size = len(dataloader.dataset)
    test_loss = 0
    with torch.no_grad():
        for X, y in dataloader:
            test_loss += loss_fn(model(X), y).item() * len(y)
    test_loss /= size
    return test_loss


def test_sum(dataloader, model):
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for X, y in dataloader:
            test_loss += sum_loss_fn(model(X), y).item()
    return test_loss / len(dataloader.dataset)


def train_log(model, train_loader, optimizer):
    model.train()
    running_loss = 0.0
    for i, (X, y) in enumerate(train_loader):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        if i % 100 == 99:  # a window of 100 full batches
            print(running_loss / 100)
            running_loss = 0.0
