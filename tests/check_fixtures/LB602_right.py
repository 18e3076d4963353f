# LB602, right: each batch counts for its summed class weights.
import torch
from torch import nn

weight = torch.tensor([1.0, 2.0, 5.0])
loss_fn = nn.CrossEntropyLoss(weight=weight)
plain_loss_fn = nn.CrossEntropyLoss()


def evaluate(model, test_loader, meter):
    model.eval()
    total, count = 0.0, 0.0
    with torch.no_grad():
        for X, y in test_loader:
            loss = loss_fn(model(X), y)
            batch_weight = weight[y].sum().item()
            total += loss.item() * batch_weight
            count += batch_weight
            meter.update(plain_loss_fn(model(X), y).item(), X.size(0))
    return total / count
