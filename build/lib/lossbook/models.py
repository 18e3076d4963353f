"""The two models the book trains: softmax regression and a multilayer perceptron.

Softmax regression is taught in "Softmax regression" (chapter 4), the MLP in "An MLP on
MNIST" (chapter 5); the command-line runner (`python -m lossbook train`) builds both.
Both return logits: the softmax lives in the loss (`nn.CrossEntropyLoss`).
"""

from torch import nn

MLP_SIZES = (784, 512, 256, 128, 64, 10)


def softmax_regression(num_inputs: int = 784, num_classes: int = 10) -> nn.Sequential:
    """A linear model from flattened images to class logits, initialized as in chapter 4.

    The weights are drawn from N(0, 0.01²) and the biases start at 0 (the recipe of the
    softmax-regression chapter, from *Dive into Deep Learning*), so every class starts
    with a probability close to 1/10.

    Example:
        >>> import torch
        >>> model = softmax_regression()
        >>> model(torch.zeros(2, 1, 28, 28)).shape, model[1].bias.abs().sum().item()
        (torch.Size([2, 10]), 0.0)
    """
    model = nn.Sequential(nn.Flatten(), nn.Linear(num_inputs, num_classes))
    nn.init.normal_(model[1].weight, mean=0.0, std=0.01)
    nn.init.zeros_(model[1].bias)
    return model


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
