"""The reliability diagram: is a confidence of 0.9 right 90 % of the time, bin by bin?

Taught in the chapter "Beyond accuracy" (chapter 7): per confidence bin, the accuracy
against the mean confidence, above a histogram of how many samples each bin holds.
"""

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from lossbook.metrics.calibration import CalibrationBins, CalibrationError, calibration_error


def reliability_diagram(calibration: CalibrationError | CalibrationBins, *, title: str | None = None,
                        color: str = "C0") -> Figure:
    """Accuracy per confidence bin against the diagonal of perfect calibration, and a histogram.

    Bars below the diagonal are overconfident bins (right less often than the model
    says), bars above it underconfident ones. A red dot marks each bin's mean confidence
    (as a height), the red segment its gap to the accuracy, which the ECE weights by the
    bin's share of the samples. The lower panel shows that share: for a confident model, most samples sit
    in the last bins, and those gaps dominate the ECE (shown in the legend).

    Args:
        calibration: A `metrics.CalibrationError` that has seen the data, or its `bins()`.
        title: Above the diagram.
        color: The bars' matplotlib colour.

    Example:
        >>> from lossbook import metrics
        >>> ece = metrics.CalibrationError(n_bins=10)
        >>> ece.update(torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0]]), torch.tensor([0, 0, 0]))
        >>> fig = reliability_diagram(ece, title="toy")
        >>> [ax.get_ylabel() for ax in fig.axes]
        ['accuracy', 'share of samples']
        >>> [text.get_text() for text in fig.axes[0].get_legend().texts]
        ['accuracy (ECE 0.3435)', 'gap to the mean confidence', 'perfect calibration']
        >>> plt.close(fig)
    """
    bins = calibration.bins() if isinstance(calibration, CalibrationError) else calibration
    if not isinstance(bins, CalibrationBins):
        raise TypeError(f"reliability_diagram takes a metrics.CalibrationError or its bins(), "
                        f"got {type(calibration).__name__}.")
    ece = calibration_error(bins, "l1")
    edges = bins.edges.double()
    left, width = edges[:-1].numpy(), torch.diff(edges).numpy()
    filled = (bins.count > 0).numpy()
    accuracy, confidence = bins.accuracy.double().numpy(), bins.confidence.double().numpy()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(4.6, 5.4), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    top.bar(left[filled], accuracy[filled], width[filled], align="edge", color=color, alpha=0.75,
            edgecolor="white", label=f"accuracy (ECE {ece:.4f})")
    top.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfect calibration")
    centers = left[filled] + width[filled] / 2
    top.vlines(centers, accuracy[filled], confidence[filled], color="firebrick", linewidth=2,
               label="gap to the mean confidence")
    top.plot(centers, confidence[filled], "o", color="firebrick", markersize=3)
    top.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy", title=title)
    handles, labels = top.get_legend_handles_labels()  # the bars first
    top.legend(handles[::-1], labels[::-1], loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    share = (bins.count.double() / bins.count.sum()).numpy()
    bottom.bar(left, share, width, align="edge", color=color, alpha=0.75, edgecolor="white")
    bottom.set(xlabel="confidence (largest softmax probability)", ylabel="share of samples",
               ylim=(0, 1))
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    return fig
