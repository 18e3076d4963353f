"""The book's own plumbing: `glue` hands a number computed in a chapter to its prose.

Not taught; every chapter uses it so that the numbers in its text come from its run.
A code cell calls `book.glue("test_acc", f"{acc:.1%}")` and the text around it writes
``{glue:text}`test_acc` ``: Jupyter Book pastes the stored value, and the `-W` build
fails if the key is missing. The value is stored in the cell's outputs exactly as
`myst_nb.glue(name, value, display=False)` stores it, so myst-nb reads it, Jupyter and
Colab show nothing, and no notebook needs myst-nb installed (Colab has none).

Under nbval a glued value is compared like any other output: glue from a cell that
nbval checks only what prints the same on every machine (a rounded string, say), and
glue float32 training results from a `# NBVAL_IGNORE_OUTPUT` cell that asserts them.
"""

import math
from fractions import Fraction

__all__ = ["glue"]

# myst-nb reads glued values from outputs with this metadata and these MIME types.
MIME_PREFIX = "application/papermill.record/"


def glue(name: str, value: str | int | float | Fraction) -> None:
    """Store `value` under `name` for the prose: ``{glue:text}`name` `` in markdown.

    Args:
        name: A key unique in the notebook, letters, digits and underscores.
        value: A string (shown without quotes), an integer, a finite float or a
            `Fraction`; format floats first (`f"{x:.4f}"`) unless the prose formats
            them (``{glue:text}`name:.4f` ``).

    Raises:
        TypeError: `value` is of another type, e.g. a tensor (use `.item()`).
        ValueError: `name` is not an identifier, or `value` is NaN or infinite.

    Example:
        >>> glue("toy_loss", Fraction(4, 7))  # outside Jupyter it prints the record
        {'application/papermill.record/text/plain': "'4/7'"}
        >>> glue("loss", float("nan"))
        Traceback (most recent call last):
        ValueError: glue('loss', nan): the value is not finite; a number in the text must be.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue: the name must be an identifier like 'test_acc', got {name!r}.")
    if isinstance(value, bool) or not isinstance(value, str | int | float | Fraction):
        raise TypeError(
            f"glue({name!r}, ...): expected a str, int, float or Fraction, got "
            f"{type(value).__name__}; convert it first (tensor.item(), f'{{x:.4f}}')."
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"glue({name!r}, {value}): the value is not finite; a number in the text must be.")
    # Fraction's repr is not literal Python that myst-nb can read back; its str is.
    text = repr(str(value)) if isinstance(value, Fraction) else repr(value)
    from IPython.display import display  # Jupyter's, imported only where it is used

    display({f"{MIME_PREFIX}text/plain": text}, raw=True,
            metadata={"scrapbook": {"name": name, "mime_prefix": MIME_PREFIX}})
