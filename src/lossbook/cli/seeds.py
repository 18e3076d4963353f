"""`python -m lossbook train ... --seeds 0-4`: one recipe over several seeds, and its spread.

Taught in the chapter "How sure is that number?" (chapter 8): the seed is a sample too.
Each run prints as a single run does; then one line per seed with its test accuracy and
its 95 % Wilson interval (the test set's sampling error), and the mean and standard
deviation across the seeds (the spread from initial weights and batch order).
"""

import statistics
from collections.abc import Callable

from lossbook import stats


def over_seeds(run_one: Callable[[int], list[dict]], seeds: list[int], test_size: int,
               say: Callable[[str], None]) -> list[list[dict]]:
    """Call `run_one(seed)` for every seed, then print the summary; return every history.

    Example:
        >>> fake = {0: 0.82, 1: 0.81}
        >>> histories = over_seeds(lambda s: [{"test_accuracy": fake[s]}], [0, 1], 10_000, print)
        seed 0: test accuracy 0.8200 (95 % interval 0.8123 to 0.8274)
        seed 1: test accuracy 0.8100 (95 % interval 0.8022 to 0.8176)
        2 seeds: mean test accuracy 0.8150, standard deviation 0.0071 across seeds
    """
    histories = [run_one(seed) for seed in seeds]
    accuracies = [history[-1]["test_accuracy"] for history in histories]
    for seed, accuracy in zip(seeds, accuracies, strict=True):
        _, low, high = stats.accuracy_interval(round(accuracy * test_size), test_size)
        say(f"seed {seed}: test accuracy {accuracy:.4f} (95 % interval {low:.4f} to {high:.4f})")
    spread = f", standard deviation {statistics.stdev(accuracies):.4f} across seeds" if len(seeds) > 1 else ""
    say(f"{len(seeds)} seeds: mean test accuracy {statistics.fmean(accuracies):.4f}{spread}")
    return histories
