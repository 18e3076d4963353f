# LB102, right: sum the losses (reduction="sum"), then divide by the number of samples.
import torch
import torch.nn.functional as F


def test(model, test_loader):
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for X, y in test_loader:
            test_loss += F.cross_entropy(model(X), y, reduction="sum").item()
    test_loss /= len(test_loader.dataset)
    return test_loss


def test_counted(model, test_loader):
    model.eval()
    test_loss, seen = 0.0, 0
    with torch.no_grad():
        for X, y in test_loader:
            test_loss += F.nll_loss(model(X), y).item() * y.size(0)
            seen += y.size(0)
    return test_loss / seen


def loss_function(recon_x, x):
    """The file's own loss: a sum over the batch, not a mean."""
    return F.binary_cross_entropy(recon_x, x, reduction="sum")


def test_vae(model, test_loader):
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for X, _ in test_loader:
            test_loss += loss_function(model(X), X).item()
    test_loss /= len(test_loader.dataset)
    return test_loss
