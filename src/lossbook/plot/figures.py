"""Figures of data and training: image grids, learning curves, confusion matrices.

Introduced in the chapter "Softmax regression on Fashion-MNIST" (chapter 4) and reused
after it.
"""

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure


def image_grid(
    images: torch.Tensor, titles: Sequence[str] | None = None, *, ncols: int = 8,
    title_colors: Sequence[str] | None = None, size: float = 1.4,
) -> Figure:
    """Show grey images in a grid, each with an optional title.

    Args:
        images: N×1×H×W or N×H×W (a tensor or anything `torch.as_tensor` takes).
        titles: N titles; a title may span several lines (e.g. true and predicted class).
        ncols: Images per row (fewer if there are fewer images).
        title_colors: N matplotlib colours for the titles, e.g. red for mistakes.
        size: Inches per image.

    Example:
        >>> fig = image_grid(torch.rand(10, 1, 28, 28), [str(i) for i in range(10)], ncols=5)
        >>> len(fig.axes), fig.axes[7].get_title()
        (10, '7')
        >>> plt.close(fig)
    """
    images = torch.as_tensor(images).detach().cpu()
    if images.dim() == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.dim() != 3 or len(images) == 0:
        raise ValueError(
            f"images must be N×1×H×W or N×H×W grey images with N ≥ 1, got shape {tuple(images.shape)}; "
            "for one image use images[None]."
        )
    for name, labels in (("titles", titles), ("title_colors", title_colors)):
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"{name} needs one entry per image: got {len(labels)} for {len(images)} images.")
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    line_count = max((title.count("\n") + 1 for title in titles), default=0) if titles else 0
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, (size + 0.2 * line_count) * nrows), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        if i >= len(images):
            fig.delaxes(ax)  # so that len(fig.axes) is the number of images
            continue
        ax.imshow(images[i].float().numpy(), cmap="gray_r")
        ax.set_axis_off()
        if titles is not None:
            color = title_colors[i] if title_colors is not None else "black"
            ax.set_title(titles[i], fontsize=9, color=color)
    fig.tight_layout()
    return fig


def learning_curves(history: Sequence[dict], title: str | None = None) -> Figure:
    """Plot loss and accuracy per epoch, train and (if recorded) validation and test, from `train.fit`.

    Args:
        history: One dict per epoch with `epoch`, `train_loss`, `train_accuracy` and
            optionally `val_loss`, `val_accuracy`, `test_loss`, `test_accuracy`.
        title: A title above both plots.

    Example:
        >>> history = [{"epoch": 1, "train_loss": 0.8, "train_accuracy": 0.7, "val_accuracy": 0.75},
        ...            {"epoch": 2, "train_loss": 0.6, "train_accuracy": 0.8, "val_accuracy": 0.79}]
        >>> fig = learning_curves(history)
        >>> [ax.get_title() for ax in fig.axes], len(fig.axes[1].lines)
        (['Loss', 'Accuracy'], 2)
        >>> plt.close(fig)
    """
    if not history:
        raise ValueError("history is empty: train for at least one epoch first.")
    missing = {"epoch", "train_loss", "train_accuracy"} - set(history[0])
    if missing:
        raise ValueError(f"history records lack {sorted(missing)}; pass the list that train.fit returns.")
    epochs = [record["epoch"] for record in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, metric, name in ((loss_ax, "loss", "Loss"), (acc_ax, "accuracy", "Accuracy")):
        for split, style in (("train", "-"), ("val", "-."), ("test", "--")):
            key = f"{split}_{metric}"
            if key in history[0]:
                ax.plot(epochs, [record[key] for record in history], style, marker="o", label=split)
        ax.set(title=name, xlabel="epoch", ylabel=f"{name.lower()} (per-sample mean)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(
    matrix: torch.Tensor, class_names: Sequence[str] | None = None, *, normalize: bool = True,
) -> Figure:
    """Plot a confusion matrix: row = true class, column = predicted class.

    Args:
        matrix: C×C counts, `matrix[i, j]` = samples of class i predicted as class j.
        class_names: C names for the axes; default the class indices.
        normalize: Colour and label each cell by the fraction of its row (the share of
            class i predicted as j), so that every class counts the same.

    Example:
        >>> fig = confusion_matrix(torch.tensor([[8, 2], [1, 9]]), ["cat", "dog"])
        >>> fig.axes[0].get_ylabel(), [t.get_text() for t in fig.axes[0].texts]
        ('true class', ['0.80', '0.20', '0.10', '0.90'])
        >>> plt.close(fig)
    """
    matrix = torch.as_tensor(matrix).detach().cpu()
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1] or len(matrix) == 0:
        raise ValueError(f"matrix must be square (C×C counts), got shape {tuple(matrix.shape)}.")
    num_classes = len(matrix)
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"class_names needs {num_classes} names, got {len(class_names)}.")
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    values = matrix.double()
    if normalize:
        values = values / values.sum(dim=1, keepdim=True).clamp(min=1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * num_classes, 0.6 + 0.6 * num_classes))
    image = ax.imshow(values.numpy(), cmap="Blues")
    fig.colorbar(image, ax=ax, label="fraction of the true class" if normalize else "samples")
    threshold = values.max().item() / 2
    for i in range(num_classes):
        for j in range(num_classes):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(matrix[i, j])}"
            color = "white" if values[i, j] > threshold else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(num_classes), names, rotation=45, ha="right")
    ax.set_yticks(range(num_classes), names)
    ax.set(xlabel="predicted class", ylabel="true class", title="Confusion matrix")
    fig.tight_layout()
    return fig
