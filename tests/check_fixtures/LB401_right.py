# LB401, right: an unpadded sampler for the test set; DistributedSampler for training only.
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from lossbook.distributed import UnpaddedDistributedSampler


def loaders(train_dataset, test_dataset, batch_size):
    train_sampler = DistributedSampler(train_dataset, shuffle=True)
    train_loader = DataLoader(train_dataset, batch_size=batch_size, sampler=train_sampler)
    test_sampler = UnpaddedDistributedSampler(test_dataset, dist.get_world_size(), dist.get_rank())
    test_loader = DataLoader(test_dataset, batch_size=batch_size, sampler=test_sampler)
    return train_loader, test_loader


def test_accuracy(model, test_loader):
    model.eval()
    correct = torch.zeros(2)
    with torch.no_grad():
        for X, y in test_loader:
            correct[0] += (model(X).argmax(1) == y).sum()
            correct[1] += len(y)
    dist.all_reduce(correct)
    return (correct[0] / correct[1]).item()
