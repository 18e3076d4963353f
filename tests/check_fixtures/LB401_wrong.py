# LB401: DistributedSampler on the test set, accuracy all-reduced.
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler


def test_accuracy(model, test_dataset, batch_size):
    test_sampler = DistributedSampler(test_dataset, shuffle=False)
    test_loader = DataLoader(test_dataset, batch_size=batch_size, sampler=test_sampler)
    model.eval()
    correct = torch.zeros(2)
    with torch.no_grad():
        for X, y in test_loader:
            correct[0] += (model(X).argmax(1) == y).sum()
            correct[1] += len(y)
    dist.all_reduce(correct)
    return (correct[0] / correct[1]).item()


def validation_loader(val_dataset, batch_size):
    # The gathering happens elsewhere (a metric logger): the padded shards are still counted.
    val_sampler = DistributedSampler(val_dataset, shuffle=False)
    return DataLoader(val_dataset, batch_size=batch_size, sampler=val_sampler)
