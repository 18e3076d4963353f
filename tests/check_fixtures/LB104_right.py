# LB104, right: add loss.item(); a loss summed on purpose and backpropagated is fine.
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
        running_loss += loss.item()
    return running_loss


def train_two_heads(model, train_loader, optimizer):
    model.train()
    for X, y in train_loader:
        total = 0
        for head in model.heads:
            total += loss_fn(head(X), y)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()


def train_style(model, train_loader, optimizer, targets):
    for X, _ in train_loader:
        features = model(X)
        content_loss = loss_fn(features[0], targets[0])
        style_loss = 0.0
        for feature, target in zip(features, targets):
            style_loss += loss_fn(feature, target)
        total_loss = content_loss + style_loss
        optimizer.zero_grad()
        total_loss.backward()
        optimizer.step()
