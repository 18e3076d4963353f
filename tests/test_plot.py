import matplotlib

matplotlib.use("Agg")  # no display needed; must come before pyplot is imported

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from lossbook import plot


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_image_grid_has_one_titled_axis_per_image_and_no_empty_cells():
    images = torch.rand(10, 1, 28, 28)
    titles = [f"true {i}\npred {9 - i}" for i in range(10)]
    colors = ["red" if i % 2 else "black" for i in range(10)]
    fig = plot.image_grid(images, titles, ncols=4, title_colors=colors)
    assert len(fig.axes) == 10  # a 3×4 grid with its two empty cells removed
    assert [ax.get_title() for ax in fig.axes] == titles
    assert matplotlib.colors.same_color(fig.axes[1].title.get_color(), "red")
    np.testing.assert_allclose(fig.axes[3].images[0].get_array(), images[3, 0].numpy())


def test_image_grid_takes_n_by_h_by_w_and_fewer_images_than_columns():
    fig = plot.image_grid(torch.rand(3, 5, 5), ncols=8)
    assert len(fig.axes) == 3
    assert all(ax.get_title() == "" for ax in fig.axes)


@pytest.mark.parametrize("images", [torch.rand(28, 28), torch.rand(2, 3, 28, 28), torch.rand(0, 28, 28)])
def test_image_grid_rejects_what_is_not_a_batch_of_grey_images(images):
    with pytest.raises(ValueError, match="N×1×H×W or N×H×W"):
        plot.image_grid(images)


def test_image_grid_needs_one_title_per_image():
    with pytest.raises(ValueError, match="titles needs one entry per image: got 2 for 3"):
        plot.image_grid(torch.rand(3, 28, 28), ["a", "b"])


def history(with_test=True):
    records = []
    for epoch in range(1, 5):
        record = {"epoch": epoch, "train_loss": 1 / epoch, "train_accuracy": 1 - 0.5 / epoch, "seconds": 0.1}
        if with_test:
            record |= {"test_loss": 1.1 / epoch, "test_accuracy": 0.9 - 0.5 / epoch}
        records.append(record)
    return records


def test_learning_curves_plot_train_and_test_loss_and_accuracy():
    records = history()
    fig = plot.learning_curves(records, title="run 1")
    loss_ax, acc_ax = fig.axes
    assert (loss_ax.get_title(), acc_ax.get_title()) == ("Loss", "Accuracy")
    assert fig._suptitle.get_text() == "run 1"
    assert [line.get_label() for line in acc_ax.lines] == ["train", "test"]
    x, y = loss_ax.lines[1].get_data()
    assert list(x) == [1, 2, 3, 4]
    assert list(y) == [r["test_loss"] for r in records]
    assert acc_ax.get_xlabel() == "epoch"


def test_learning_curves_without_test_metrics_draw_only_train():
    fig = plot.learning_curves(history(with_test=False))
    assert [len(ax.lines) for ax in fig.axes] == [1, 1]


@pytest.mark.parametrize("records, match", [([], "history is empty"),
                                            ([{"epoch": 1, "loss": 0.3}], "lack")])
def test_learning_curves_reject_what_is_not_a_history(records, match):
    with pytest.raises(ValueError, match=match):
        plot.learning_curves(records)


def test_confusion_matrix_labels_cells_with_row_fractions_by_default():
    matrix = torch.tensor([[5, 0, 5], [0, 10, 0], [1, 1, 8]])
    fig = plot.confusion_matrix(matrix, ["a", "b", "c"])
    ax = fig.axes[0]
    texts = [float(t.get_text()) for t in ax.texts]
    np.testing.assert_allclose(texts, [0.5, 0, 0.5, 0, 1, 0, 0.1, 0.1, 0.8])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    assert len(fig.axes) == 2  # the matrix and its colour bar


def test_confusion_matrix_can_show_counts_and_survives_an_empty_row():
    matrix = torch.tensor([[3, 1], [0, 0]])
    counts = plot.confusion_matrix(matrix, normalize=False).axes[0]
    assert [t.get_text() for t in counts.texts] == ["3", "1", "0", "0"]
    fractions = plot.confusion_matrix(matrix).axes[0]
    assert [t.get_text() for t in fractions.texts] == ["0.75", "0.25", "0.00", "0.00"]
    assert [t.get_text() for t in counts.get_xticklabels()] == ["0", "1"]


@pytest.mark.parametrize("matrix, names, match", [
    (torch.ones(2, 3), None, "square"),
    (torch.ones(3, 3), ["a", "b"], "class_names needs 3 names, got 2"),
])
def test_confusion_matrix_rejects_bad_input(matrix, names, match):
    with pytest.raises(ValueError, match=match):
        plot.confusion_matrix(matrix, names)


def calibration(n_bins=5):
    from lossbook import metrics

    generator = torch.Generator().manual_seed(0)
    logits = 2 * torch.randn(200, 4, generator=generator)
    y = torch.randint(4, (200,), generator=generator)
    ece = metrics.CalibrationError(n_bins=n_bins)
    ece.update(logits, y)
    return ece


def test_reliability_diagram_plots_accuracy_per_bin_and_the_share_of_samples():
    ece = calibration()
    bins = ece.bins()
    fig = plot.reliability_diagram(ece, title="random logits")
    top, bottom = fig.axes
    assert top.get_title() == "random logits"
    filled = bins.count > 0
    accuracy_bars = top.patches[:int(filled.sum())]
    np.testing.assert_allclose([bar.get_height() for bar in accuracy_bars], bins.accuracy[filled].numpy())
    np.testing.assert_allclose([bar.get_x() for bar in accuracy_bars], bins.edges[:-1][filled].numpy())
    np.testing.assert_allclose([bar.get_height() for bar in bottom.patches], (bins.count / 200).numpy())
    legend = [text.get_text() for text in top.get_legend().texts]
    assert legend[0] == f"accuracy (ECE {ece.compute():.4f})"
    assert (top.get_xlim(), top.get_ylim()) == ((0, 1), (0, 1))
    assert bottom.get_xlabel() == "confidence (largest softmax probability)"


def test_reliability_diagram_takes_the_bins_and_skips_empty_ones():
    bins = calibration(n_bins=20).bins()
    assert (bins.count == 0).any()  # some bins are empty: no bar, no NaN drawn
    fig = plot.reliability_diagram(bins)
    assert len(fig.axes[0].patches) == int((bins.count > 0).sum())
    assert len(fig.axes[1].patches) == 20


def test_reliability_diagram_rejects_other_input():
    with pytest.raises(TypeError, match="CalibrationError or its bins"):
        plot.reliability_diagram(torch.zeros(15))
