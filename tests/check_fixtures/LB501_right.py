# LB501-LB502, right: sums divided by the whole batch's count; a step after the last batch.
from torch import nn

loss_fn = nn.CrossEntropyLoss(ignore_index=-100, reduction="sum")
plain_loss_fn = nn.CrossEntropyLoss()


def train_epoch(model, train_loader, optimizer, accumulation_steps, count):
    model.train()
    for i, (X, y) in enumerate(train_loader):
        loss = loss_fn(model(X), y) / count
        loss.backward()
        if (i + 1) % accumulation_steps == 0 or i + 1 == len(train_loader):
            optimizer.step()
            optimizer.zero_grad()


def train_plain(model, train_loader, optimizer, accumulation_steps):
    model.train()
    for i, (X, y) in enumerate(train_loader):
        loss = plain_loss_fn(model(X), y) / accumulation_steps  # equal micro-batches: fine
        loss.backward()
        if (i + 1) % accumulation_steps == 0:
            optimizer.step()
            optimizer.zero_grad()
    optimizer.step()
    optimizer.zero_grad()
