"""The appendix's "Check your own code" section, drafted: each pair's rule, and the tutorial's loop.

The appendix (book/90_common_mistakes.ipynb) will run these on its own pairs after issue 18
lands; this test keeps the draft true until then (see docs/check.md).
"""

import pytest

from lossbook import check

# Each pair of the appendix that a rule covers: the rule, the wrong code, the right code.
PAIRS = [
    ("LB103", "pair 1", """
model.eval()
correct = 0
with torch.no_grad():
    for X_batch, y_batch in test_loader:
        correct += (model(X_batch).argmax(dim=1) == y_batch).sum().item()
accuracy = correct / len(test_loader)
""", """
model.eval()
correct = 0
with torch.no_grad():
    for X_batch, y_batch in test_loader:
        correct += (model(X_batch).argmax(dim=1) == y_batch).sum().item()
accuracy = correct / len(test_loader.dataset)
"""),
    ("LB101", "pair 2", """
model.eval()
sum_of_means = 0.0
with torch.no_grad():
    for X_batch, y_batch in test_loader:
        sum_of_means += loss_fn(model(X_batch), y_batch).item()
test_loss = sum_of_means / len(test_loader)
""", """
model.eval()
loss_metric = metrics.Mean()
with torch.no_grad():
    for X_batch, y_batch in test_loader:
        loss = loss_fn(model(X_batch), y_batch)
        loss_metric.update(*metrics.mean_and_count(loss, y_batch, loss_fn))
test_loss = loss_metric.compute()
"""),
    ("LB104", "pair 3", """
running_loss = 0.0
for X_batch, y_batch in train_loader:
    loss = loss_fn(model(X_batch), y_batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    running_loss += loss
""", """
running_loss = 0.0
for X_batch, y_batch in train_loader:
    loss = loss_fn(model(X_batch), y_batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    running_loss += loss.item()
"""),
    ("LB201", "pair 4", """
loss_fn = nn.CrossEntropyLoss()
loss = loss_fn(torch.softmax(model(X), dim=1), y)
""", """
loss_fn = nn.CrossEntropyLoss()
loss = loss_fn(model(X), y)
"""),
    ("LB303", "pair 5", """
model.train()
for epoch in range(num_epochs):
    for X_batch, y_batch in train_loader:
        loss = loss_fn(model(X_batch), y_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
""", """
for epoch in range(num_epochs):
    model.train()
    for X_batch, y_batch in train_loader:
        loss = loss_fn(model(X_batch), y_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
"""),
    ("LB401", "pair 7", """
test_sampler = DistributedSampler(test_dataset, shuffle=False)
dist.all_reduce(correct)
""", """
test_sampler = distributed.UnpaddedDistributedSampler(test_dataset, world_size, rank)
dist.all_reduce(correct)
"""),
    ("LB501", "pair 9", """
loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
for X_micro, y_micro in micro_batches:
    (loss_fn(tagger(X_micro), y_micro) / len(micro_batches)).backward()
""", """
loss_fn = nn.CrossEntropyLoss(ignore_index=-100, reduction="sum")
for X_micro, y_micro in micro_batches:
    (loss_fn(tagger(X_micro), y_micro) / total).backward()
"""),
    ("LB602", "exercise 2", """
weighted_loss_fn = nn.CrossEntropyLoss(weight=w)
model.eval()
with torch.no_grad():
    for X_batch, y_batch in test_loader:
        loss = weighted_loss_fn(model(X_batch), y_batch)
        by_length.update(loss, weight=len(y_batch))
""", """
weighted_loss_fn = nn.CrossEntropyLoss(weight=w)
model.eval()
with torch.no_grad():
    for X_batch, y_batch in test_loader:
        loss = weighted_loss_fn(model(X_batch), y_batch)
        by_weight.update(*metrics.mean_and_count(loss, y_batch, weighted_loss_fn))
"""),
    ("LB205", "the checklist", "log_probs = torch.log(torch.softmax(logits, dim=1))",
     "log_probs = F.log_softmax(logits, dim=1)"),
    ("LB206", "the checklist", "loss = nn.BCELoss()(torch.sigmoid(z), t)",
     "loss = nn.BCEWithLogitsLoss()(z, t)"),
]


@pytest.mark.parametrize(("code", "where", "wrong", "right"), PAIRS, ids=[f"{p[0]} {p[1]}" for p in PAIRS])
def test_each_wrong_version_is_flagged_with_its_rule_and_each_right_one_is_clean(code, where, wrong, right):
    assert [f.code for f in check.check_source(wrong)] == [code]
    assert check.check_source(right) == []


TUTORIAL_TEST_LOOP = """
def test_loop(test_loader, model, loss_fn):
    model.eval()
    num_batches = len(test_loader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in test_loader:
            y_hat = model(X)
            test_loss += loss_fn(y_hat, y).item()
            correct += (y_hat.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= len(test_loader.dataset)
    return test_loss, correct
"""


def test_the_official_tutorials_test_loop_in_the_books_names():
    findings = check.check_source(TUTORIAL_TEST_LOOP, "test_loop.py")
    assert [(f.line, f.code) for f in findings] == [(11, "LB101")]
    assert str(findings[0]).startswith("test_loop.py:11:5 LB101 the mean of batch means")
