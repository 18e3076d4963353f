"""Figures for classification: image grids, learning curves, confusion matrices, calibration.

Introduced in the chapter "Softmax regression on Fashion-MNIST" (chapter 4) and reused
after it (`figures`); the reliability diagram comes with "Beyond accuracy" (chapter 7,
`calibration`). Each function returns its matplotlib `Figure` (made through pyplot, so
`plt.show()` displays it in a notebook) for the caller to show, save or inspect.
"""

from lossbook.plot.calibration import reliability_diagram
from lossbook.plot.figures import confusion_matrix, image_grid, learning_curves

__all__ = ["confusion_matrix", "image_grid", "learning_curves", "reliability_diagram"]
