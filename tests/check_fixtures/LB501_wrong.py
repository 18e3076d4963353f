# LB501-LB502: gradient accumulation that is not the whole batch's gradient.
from torch import nn

loss_fn = nn.CrossEntropyLoss(ignore_index=-100)


def train_epoch(model, train_loader, optimizer, accumulation_steps):
    model.train()
    for i, (X, y) in enumerate(train_loader):
        loss = loss_fn(model(X), y)
        loss = loss / accumulation_steps
        loss.backward()
        if (i + 1) % accumulation_steps == 0:
            optimizer.step()
            optimizer.zero_grad()
