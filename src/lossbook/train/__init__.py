"""Training loops that report loss and accuracy averaged per sample: `train_epoch`, `evaluate`, `fit`.

Taught in the chapter "Softmax regression on Fashion-MNIST" (chapter 4), which first
writes the loop out by hand; reused by the MLP chapter and the command-line runner;
gradient accumulation and data-parallel training in chapter 6. The modules:

- `epoch`: `train_epoch`, one pass over the training data;
- `evaluate`: `evaluate`, the loss (by default the NLL) and accuracy without gradients;
- `fit`: `fit`, epochs of both, the history;
- `watch`: what the loop records per batch; `parts`: its error, devices, DDP, progress bar.
"""

from lossbook.train.epoch import train_epoch
from lossbook.train.evaluate import evaluate
from lossbook.train.fit import fit
from lossbook.train.parts import NonFiniteLossError

__all__ = ["NonFiniteLossError", "evaluate", "fit", "train_epoch"]
