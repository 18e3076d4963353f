# LB201-LB206, right: logits into the losses that take logits, log-probabilities into NLLLoss.
import torch
import torch.nn.functional as F
from torch import nn

loss_fn = nn.CrossEntropyLoss()
nll = nn.NLLLoss()
bce_logits = nn.BCEWithLogitsLoss()
model = nn.Sequential(nn.Linear(784, 10))


def losses(logits, y, t, X):
    probs = F.softmax(logits, dim=1)  # for reporting only
    a = loss_fn(logits, y)
    b = F.cross_entropy(model(X), y)
    e = nll(F.log_softmax(logits, dim=1), y)
    f = bce_logits(logits[:, 0], t)
    i = F.log_softmax(logits, dim=1)
    confidence = probs.max(dim=1).values
    return a, b, e, f, i, confidence, torch.log(t + 1)


model = nn.Sequential(nn.Linear(784, 10), nn.LogSoftmax(dim=1))
nll_loss = nll(model(torch.zeros(2, 784)), torch.zeros(2, dtype=torch.long))
model = nn.Sequential(nn.Linear(784, 10))  # rebound, as notebooks do: logits from here on
ce_loss = loss_fn(model(torch.zeros(2, 784)), torch.zeros(2, dtype=torch.long))
