# LB101: the mean of batch means, four ways.
import numpy as np
import torch
from torch import nn

loss_fn = nn.CrossEntropyLoss()


def test_loop(dataloader, model):
    model.eval()
    num_batches = len(dataloader)
    test_loss = 0
    with torch.no_grad():
        for X, y in dataloader:
            test_loss += loss_fn(model(X), y).item()
    test_loss /= num_batches
    return test_loss


def train_epoch(model, train_loader, optimizer):
    model.train()
    running_loss = 0.0
    for i, (X, y) in enumerate(train_loader):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    return running_loss / (i + 1)


def evaluate(model, test_loader):
    model.eval()
    total, steps = 0.0, 0
    batch_losses = []
    with torch.no_grad():
        for X, y in test_loader:
            loss = loss_fn(model(X), y)
            total += loss.item()
            steps += 1
            batch_losses.append(loss.item())
    return total / steps, np.mean(batch_losses)


def evaluate_len(model, test_loader):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for X, y in test_loader:
            total += float(loss_fn(model(X), y))
    return total / len(test_loader)


def fit(model, train_loader, optimizer, num_epochs):
    for epoch in range(num_epochs):
        running_loss = 0.0
        for X, y in train_loader:
            loss = loss_fn(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        else:  # for ... else: runs once the loop is done
            print(running_loss / len(train_loader))
