# LB301-LB302: evaluation without torch.no_grad(), without model.eval().
import torch
from torch import nn

loss_fn = nn.CrossEntropyLoss()


def evaluate(model, test_loader):
    model.eval()
    correct = 0
    for X, y in test_loader:
        correct += (model(X).argmax(dim=1) == y).sum().item()
    return correct / len(test_loader.dataset)


def validate(model, val_loader):
    total = 0.0
    with torch.no_grad():
        for X, y in val_loader:
            total += loss_fn(model(X), y).item() * len(y)
    return total / len(val_loader.dataset)


def main(model, val_loader, test_loader):
    print(validate(model, val_loader), evaluate(model, test_loader))
