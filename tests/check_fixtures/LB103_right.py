# LB103, right: the count of correct predictions divided by the number of samples.
import torch


def accuracy(model, test_loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for X, y in test_loader:
            correct += (model(X).argmax(dim=1) == y).sum().item()
    return correct / len(test_loader.dataset)


def batch_accuracy(model, test_loader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for X, y in test_loader:
            correct += model(X).argmax(1).eq(y).sum().item()
            total += len(y)
    return 100.0 * correct / total
