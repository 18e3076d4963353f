"""`python -m lossbook train ...`: the book's training recipes from the command line.

Shown in the chapter "An MLP on MNIST" (chapter 5):

- `parser`: the options and `RECIPES`, every recipe of the book with its chapter;
- `args`: the options' types, each turning text into a checked value;
- `runner`: `run` and `main`, which train with `train.fit` and print what it reports.
"""

from lossbook.cli.parser import DATASETS, MODELS, OPTIMIZERS, RECIPES, build_parser
from lossbook.cli.runner import main, run

__all__ = ["DATASETS", "MODELS", "OPTIMIZERS", "RECIPES", "build_parser", "main", "run"]
