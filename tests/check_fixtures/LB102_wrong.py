# LB102: a sum of batch means divided by the number of samples (pytorch/tutorials#1486).
import torch
import torch.nn.functional as F


def test(model, test_loader):
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for X, y in test_loader:
            test_loss += F.cross_entropy(model(X), y).item()
    test_loss /= len(test_loader.dataset)
    return test_loss


def test_counted(model, test_loader):
    model.eval()
    test_loss, seen = 0.0, 0
    with torch.no_grad():
        for X, y in test_loader:
            test_loss += F.nll_loss(model(X), y).item()
            seen += y.size(0)
    return test_loss / seen
