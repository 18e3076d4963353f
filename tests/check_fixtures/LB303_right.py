# LB303, right: model.train() at the start of every epoch (or after the evaluation).
import torch
from torch import nn

loss_fn = nn.CrossEntropyLoss()


def evaluate(model, test_loader):
    model.eval()
    with torch.no_grad():
        return sum((model(X).argmax(1) == y).sum().item() for X, y in test_loader)


def fit(model, teacher, train_loader, test_loader, optimizer, num_epochs):
    teacher.eval()
    for epoch in range(num_epochs):
        model.train()
        for X, y in train_loader:
            loss = loss_fn(model(X), y) + loss_fn(teacher(X), y).detach()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(epoch, evaluate(model, test_loader))


def fit_inline(model, train_loader, optimizer):
    for step, (X, y) in enumerate(train_loader):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0:
            model.eval()
            model.train()
