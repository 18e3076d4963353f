# LB301-LB302, right: model.eval() and torch.no_grad(), here or at the call.
import torch
from torch import nn

loss_fn = nn.CrossEntropyLoss()


@torch.no_grad()
def evaluate(model, test_loader):
    model.eval()
    correct = 0
    for X, y in test_loader:
        correct += (model(X).argmax(dim=1) == y).sum().item()
    return correct / len(test_loader.dataset)


def validate(model, val_loader):
    total = 0.0
    for X, y in val_loader:
        total += loss_fn(model(X), y).item() * len(y)
    return total / len(val_loader.dataset)


def main(model, val_loader, test_loader):
    model.eval()
    with torch.no_grad():
        print(validate(model, val_loader), evaluate(model, test_loader))


model = nn.Sequential(nn.Linear(784, 10), nn.ReLU(), nn.Linear(10, 10))  # no dropout, no batch norm
test_loader = []
correct = 0
with torch.no_grad():
    for X, y in test_loader:  # eval() would change nothing for this model
        correct += (model(X).argmax(1) == y).sum().item()
