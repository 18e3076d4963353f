# LB103: a count of correct predictions, or batch accuracies, divided by the number of batches.
import torch


def accuracy(model, test_loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for X, y in test_loader:
            correct += (model(X).argmax(dim=1) == y).sum().item()
    return correct / len(test_loader)


def batch_accuracy(model, test_loader):
    model.eval()
    acc, n = 0.0, 0
    with torch.no_grad():
        for X, y in test_loader:
            acc += (model(X).argmax(1) == y).float().mean().item()
            n += 1
    return 100.0 * acc / n


def get_accuracy(logits, y):
    return (logits.argmax(dim=1) == y).float().mean()


def evaluate(model, test_loader):
    model.eval()
    batch_accuracies = []
    with torch.no_grad():
        for X, y in test_loader:
            batch_accuracies.append(get_accuracy(model(X), y).item())
    return sum(batch_accuracies) / len(batch_accuracies)
