# LB201-LB206: a loss fed the wrong kind of input.
import torch
import torch.nn.functional as F
from torch import nn

loss_fn = nn.CrossEntropyLoss()
nll = nn.NLLLoss()
bce_logits = nn.BCEWithLogitsLoss()
bce = nn.BCELoss()
model = nn.Sequential(nn.Linear(784, 10), nn.Softmax(dim=1))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(784, 10)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, X):
        return self.softmax(self.linear(X))


def losses(logits, y, t, X):
    probs = F.softmax(logits, dim=1)
    a = loss_fn(probs, y)
    b = F.cross_entropy(logits.softmax(dim=1), y)
    c = loss_fn(model(X), y)
    d = loss_fn(Net()(X), y)
    e = nll(torch.softmax(logits, dim=1), y)
    f = bce_logits(torch.sigmoid(logits[:, 0]), t)
    g = bce(torch.sigmoid(logits[:, 0]), t)
    h = F.binary_cross_entropy(logits[:, 0].sigmoid(), t)
    i = torch.log(probs)
    j = F.cross_entropy(F.log_softmax(logits, dim=1), y)
    return a, b, c, d, e, f, g, h, i, j


net = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
net = net.to("cpu")
k = bce(net(torch.zeros(4, 2)), torch.zeros(4, 1))
