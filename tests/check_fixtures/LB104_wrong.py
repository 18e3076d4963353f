# LB104: a loss tensor added to a running total keeps its graph.
from torch import nn

loss_fn = nn.CrossEntropyLoss()


def train_epoch(model, train_loader, optimizer):
    model.train()
    running_loss = 0.0
    for X, y in train_loader:
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running_loss += loss
    total = 0
    for X, y in train_loader:
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total = total + loss
    return running_loss.item(), total.item()
