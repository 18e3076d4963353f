"""Cross-entropy and negative log-likelihood written out, what a batch counts for, and a loss's options.

Taught in the chapter "Cross-entropy" (chapter 2), `count` and the options in chapter 6,
"Averaging when samples don't count the same":

- `cross_entropy`, `nll_loss`: like `torch.nn.functional`'s, with checks that say the fix;
- `count(y, weight=..., ignore_index=...)`: the number `reduction="mean"` divides by;
- `options_of(loss_fn)`, `declare(fn, reduction=...)`: what a loss is averaged over,
  read from an `nn` loss or stated for a plain function; `IGNORE_INDEX`: torch's -100,
  the one default of every `ignore_index` in lossbook.
"""

from lossbook.losses.checks import IGNORE_INDEX
from lossbook.losses.count import count
from lossbook.losses.cross_entropy import cross_entropy, nll_loss
from lossbook.losses.options import DeclaredLoss, LossOptions, declare, describe, options_of

__all__ = [
    "IGNORE_INDEX", "DeclaredLoss", "LossOptions", "count", "cross_entropy", "declare", "describe",
    "nll_loss", "options_of",
]
