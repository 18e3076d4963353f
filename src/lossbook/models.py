"""The two models the book trains: softmax regression and a multilayer perceptron.

Softmax regression is taught in "Softmax regression" (chapter 4), the MLP in "An MLP on
MNIST" (chapter 5); the command-line runner (`python -m lossbook train`) builds both.
Both return logits: the softmax lives in the loss (`nn.CrossEntropyLoss`).
"""

from torch import nn

MLP_SIZES = (784, 512, 256, 128, 64, 10)


def softmax_regression(num_inputs: int = 784, num_classes: int = 10) -> nn.Sequential:
    """A linear model from flattened images to class logits.

    Example:
        >>> import torch
        >>> softmax_regression()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """
    return nn.Sequential(nn.Flatten(), nn.Linear(num_inputs, num_classes))


def mlp(sizes: tuple[int, ...] = MLP_SIZES) -> nn.Sequential:
    """Fully connected layers of the given widths, ReLU between them, logits at the end.

    Args:
        sizes: Input width, hidden widths, number of classes; the default is the
            784-512-256-128-64-10 network of the MNIST chapter.

    Example:
        >>> mlp((4, 8, 3))
        Sequential(
          (0): Flatten(start_dim=1, end_dim=-1)
          (1): Linear(in_features=4, out_features=8, bias=True)
          (2): ReLU()
          (3): Linear(in_features=8, out_features=3, bias=True)
        )
    """
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"sizes needs an input and an output width, all >= 1; got {sizes!r}.")
    layers: list[nn.Module] = [nn.Flatten()]
    for width_in, width_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(width_in, width_out), nn.ReLU()]
    # No activation after the last layer: CrossEntropyLoss wants raw logits.
    return nn.Sequential(*layers[:-1])
