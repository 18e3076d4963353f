"""Several processes: evaluating exactly across them, starting them, and training under torchrun.

Taught at the end of the chapter "Averaging loss and accuracy" (chapter 3; evaluation
across processes) and in "An MLP on MNIST" (chapter 5; training under `torchrun`):

- `group`: the default process group as the metrics and the loop use it;
- `sampler.UnpaddedDistributedSampler`: evaluation shards, every sample exactly once;
- `launch.launch`: a function on N local CPU processes in a gloo group;
- `torchrun`: join `torchrun`'s group, wrap the model in DDP, leave.
"""

from lossbook.distributed import group, torchrun
from lossbook.distributed.group import loopback_interface
from lossbook.distributed.launch import WorkerError, launch
from lossbook.distributed.sampler import UnpaddedDistributedSampler

__all__ = ["UnpaddedDistributedSampler", "WorkerError", "group", "launch", "loopback_interface", "torchrun"]
