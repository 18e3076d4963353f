# LB602: batch means of a class-weighted loss weighted by the number of samples.
import torch
from torch import nn

loss_fn = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 5.0]))


def evaluate(model, test_loader, meter):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for X, y in test_loader:
            loss = loss_fn(model(X), y)
            total += loss.item() * len(y)
            meter.update(loss.item(), X.size(0))
    return total / len(test_loader.dataset)
