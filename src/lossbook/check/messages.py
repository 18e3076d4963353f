"""Every rule's message, and the chapter that explains it, in one table (`MESSAGES`).

Each message says what is wrong and what to write instead; `register` in `lossbook.check`
gives every rule class its message by code, so that the words live here, where they are
read and reviewed together, and the rule modules hold only the logic. The chapters are those
of the book's table of contents.

>>> chapter, message = MESSAGES["LB205"]
>>> chapter
'chapter 1, "Softmax"'
>>> message[:38]
'log of a softmax: small probabilities '
"""

import re

__all__ = ["CHAPTERS", "MESSAGES"]

CHAPTERS = {1: "Softmax", 2: "Cross-entropy", 3: "Averaging loss and accuracy honestly",
            6: "Averaging when samples don't count the same"}

# "LBnnn chapter: message", the message going on over indented lines.
_TABLE = """
LB101 3: the mean of batch means: each batch loss is already a mean, so the last, smaller batch
    counts as much as a full one; add loss.item() * len(y) and divide by the number of samples (or
    feed lossbook's metrics.Mean from metrics.mean_and_count(loss, y, loss_fn))
LB102 3: a sum of batch means divided by the number of samples is about batch-size times too small;
    add loss.item() * len(y) (each batch's sum) or use reduction='sum'
LB103 3: a count of correct predictions (or a sum of batch accuracies) divided by the number of
    batches: divide the count of correct predictions by the number of samples, len(loader.dataset)
LB104 3: a loss tensor added to a running total keeps the autograd graph of every batch alive (and,
    without torch.no_grad(), every batch's activations): add loss.item() instead
LB201 2: softmax before CrossEntropyLoss/F.cross_entropy: the loss applies log_softmax itself, so
    softmax runs twice and the gradient vanishes when the model is confidently wrong; pass the logits
LB202 2: log_softmax before CrossEntropyLoss/F.cross_entropy is redundant (the loss applies it): pass
    the logits, or keep log_softmax and use NLLLoss
LB203 2: softmax before NLLLoss/F.nll_loss: it wants log-probabilities and checks nothing; use
    log_softmax (or CrossEntropyLoss on the logits)
LB204 2: sigmoid before BCEWithLogitsLoss/F.binary_cross_entropy_with_logits: the loss applies the
    sigmoid itself; pass the logits
LB205 1: log of a softmax: small probabilities round to 0 and their log to -inf; use
    F.log_softmax(z, dim=...) (or torch.log_softmax)
LB206 2: BCELoss on sigmoid(z) saturates for large logits (each log is capped at -100): use
    BCEWithLogitsLoss/F.binary_cross_entropy_with_logits on z
LB301 3: evaluation without torch.no_grad() (or torch.inference_mode()): every batch records an
    autograd graph it never uses; wrap the loop in 'with torch.no_grad():'
LB302 3: evaluation without model.eval(): dropout stays on and batch norm uses each test batch's
    statistics (and updates its running ones); call model.eval() before the loop
LB303 3: model.eval() inside the training loop with no model.train() in it: the following steps train
    without dropout and with frozen batch-norm statistics; call model.train() at the start of every
    training epoch (or after each evaluation)
LB401 3: DistributedSampler on an evaluation set pads the shards with repeated samples, which metrics
    gathered over the processes (or divided by the dataset's size) count twice; use an unpadded
    sampler (lossbook.distributed.UnpaddedDistributedSampler) and all-reduce sums and counts
LB501 6: gradient accumulation divides a mean over each micro-batch's own weights or non-ignored
    targets by the number of micro-batches: that is not the whole batch's mean; use reduction='sum'
    and divide by the whole batch's count (summed weights, non-ignored targets)
LB502 6: the optimizer steps only every k micro-batches: when the number of batches is not a multiple
    of k, the last ones' gradients are dropped (or leak into the next epoch); also step after the last
    batch, e.g. 'if (i + 1) % k == 0 or i + 1 == len(loader):'
LB601 2: KLDivLoss/F.kl_div with reduction='mean' (the default) divides by batch size times the
    number of classes; use reduction='batchmean' for the KL divergence per sample
LB602 6: a loss with class weights or ignore_index averages over summed weights or non-ignored
    targets, not len(y): weight each batch mean by that count (lossbook's losses.count, or
    metrics.mean_and_count(loss, y, loss_fn))
"""


def _parse(table: str) -> dict[str, tuple[str, str]]:
    """`{code: (chapter reference, message)}` from the table above."""
    found = {}
    for entry in re.split(r"\n(?=LB\d{3} )", table.strip()):
        code, chapter, message = re.fullmatch(r"(LB\d{3}) (\d): (.*)", " ".join(entry.split()), re.S).groups()
        found[code] = (f'chapter {chapter}, "{CHAPTERS[int(chapter)]}"', message)
    return found


MESSAGES = _parse(_TABLE)
