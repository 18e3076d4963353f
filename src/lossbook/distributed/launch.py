"""`launch`: run a function on N local CPU processes joined in a gloo process group.

Taught at the end of the chapter "Averaging loss and accuracy" (chapter 3), so that the
chapter (and its tests) can run a real distributed job without `torchrun`.
"""

import os
import pickle
import signal
import socket
import sys
import tempfile
import time
import traceback
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lossbook import _validate
from lossbook.distributed.group import loopback_interface

LOOPBACK = "127.0.0.1"


class WorkerError(RuntimeError):
    """A process started by `launch` raised an exception or died; the message says which."""


def launch(fn, world_size: int = 2, args: tuple = (), *, timeout: float = 60.0,
           start_method: str = "spawn") -> list:
    """Run `fn(*args)` on `world_size` new CPU processes joined in a gloo process group.

    Inside `fn`, `torch.distributed` is initialized (`dist.get_rank()`, `all_reduce`, ...)
    and torch uses one thread, so the processes share the cores without oversubscribing
    them. The processes meet through a store that this process holds on 127.0.0.1 at a
    free port, and gloo connects them over the loopback interface: nothing listens on, or
    connects to, any other address.

    Args:
        fn: A function; it must be importable by name unless `start_method="fork"`.
        world_size: Number of processes.
        args: Positional arguments for `fn`, the same for every process.
        timeout: Seconds the whole job may take; then every process is stopped.
        start_method: `"spawn"` (safe everywhere) or `"fork"` (Linux and macOS), which
            also runs functions defined in a notebook, since the child gets a copy of it.
            What `fn` prints goes to the processes' own standard streams (in Jupyter, the
            terminal that started it, not the notebook): return what you want to show.

    Returns:
        The values `fn` returned, indexed by rank (they must be picklable).

    Raises:
        WorkerError: A process raised an exception (its traceback is in the message).
        TimeoutError: The job took longer than `timeout` seconds.

    Example:
        >>> launch(dist.get_world_size, world_size=2)
        [2, 2]
    """
    _check_launch(fn, world_size, timeout, start_method)
    store = _loopback_store(timeout)
    with tempfile.TemporaryDirectory(prefix="lossbook-launch-") as folder:
        context = mp.start_processes(
            _run_rank, args=(fn, tuple(args), world_size, store.port, loopback_interface(),
                             timeout, folder),
            nprocs=world_size, join=False, start_method=start_method,
        )
        _wait(context, world_size, timeout, Path(folder))
        return [pickle.loads((Path(folder) / f"{rank}.pickle").read_bytes())
                for rank in range(world_size)]


def _loopback_store(timeout: float) -> dist.TCPStore:
    """The store where the processes meet, listening on 127.0.0.1 only, at a free port."""
    # Given only a port, TCPStore listens on every interface; a socket we bind ourselves
    # keeps it on the loopback, and asking for port 0 leaves no gap for another program
    # to take the port between choosing it and binding it.
    listener = socket.create_server((LOOPBACK, 0))
    try:
        store = dist.TCPStore(LOOPBACK, listener.getsockname()[1], is_master=True,
                              wait_for_workers=False, timeout=timedelta(seconds=timeout),
                              master_listen_fd=listener.fileno())
    except BaseException:
        listener.close()
        raise
    listener.detach()  # The store owns the socket now and closes it when it goes.
    return store


def _run_rank(rank, fn, args, world_size, port, interface, timeout, folder):
    # A forked child inherits the parent's sys.stdout and sys.stderr. In Jupyter they are
    # objects with a lock that another thread of the parent (the one sending output to
    # the notebook) may have held at the moment of the fork: flushing them when this
    # process exits would then wait forever. Write to this process's own streams.
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    # A forked child inherits the parent's OpenMP state but not its threads: a
    # multi-threaded op would wait for them forever. One thread is safe with any method.
    torch.set_num_threads(1)
    os.environ["GLOO_SOCKET_IFNAME"] = interface
    try:
        store = dist.TCPStore(LOOPBACK, port, is_master=False, timeout=timedelta(seconds=timeout))
        dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size,
                                timeout=timedelta(seconds=timeout))
        result = fn(*args)
        # init_process_group can return on one process while another is still connecting
        # to it: leaving at once would break that connection. Leave together.
        dist.barrier()
    except BaseException:
        # Stamp the error before the teardown below makes the other processes fail too.
        error = (time.monotonic_ns(), traceback.format_exc())
        (Path(folder) / f"{rank}.error").write_bytes(pickle.dumps(error))
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    (Path(folder) / f"{rank}.pickle").write_bytes(pickle.dumps(result))


def _wait(context, world_size: int, timeout: float, folder: Path) -> None:
    deadline = time.monotonic() + timeout
    try:
        while not context.join(timeout=max(0.0, deadline - time.monotonic()), grace_period=2.0):
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"launch: the {world_size} processes did not finish within {timeout} s "
                    "and were stopped; raise timeout= if the job is just slow."
                )
    except (mp.ProcessRaisedException, mp.ProcessExitedException) as err:
        _stop(context.processes)
        raise WorkerError(_failure_report(folder, context.processes, err)) from None
    finally:
        _stop(context.processes)
        for path in context.error_files:  # torch leaves them in the temporary folder
            Path(path).unlink(missing_ok=True)


def _failure_report(folder: Path, processes, err: Exception) -> str:
    """Put first the process that failed first: the others usually fail because it left."""
    died = [(rank, f"died ({_exit_reason(process.exitcode)}) without raising an exception")
            for rank, process in enumerate(processes)
            if process.exitcode not in (0, -signal.SIGTERM) and not (folder / f"{rank}.error").exists()]
    errors = sorted((*pickle.loads(path.read_bytes()), int(path.stem)) for path in folder.glob("*.error"))
    failures = died + [(rank, f"raised:\n{text.strip()}") for _, text, rank in errors]
    if not failures:  # Stopped from outside (SIGTERM): torch's message is all there is.
        failures = [(err.error_index, f"failed: {str(err).strip()}")]
    (rank, what), *others = failures
    report = f"process of rank {rank} (of {len(processes)}) {what}"
    if died:
        report += ("; if it was started with 'spawn', can it import everything it needs? "
                   "Its stderr may say more.")
    for rank, what in others:
        report += f"\n\n(then rank {rank} failed too: {what.splitlines()[-1]})"
    return report


def _exit_reason(exitcode: int) -> str:
    return f"exit code {exitcode}" if exitcode >= 0 else f"signal {signal.Signals(-exitcode).name}"


def _stop(processes) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join()


def _check_launch(fn, world_size: int, timeout: float, start_method: str) -> None:
    _validate.positive_int("world_size", world_size)
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    if start_method not in mp.get_all_start_methods():
        raise ValueError(f"start_method must be one of {mp.get_all_start_methods()}, "
                         f"got {start_method!r}.")
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    if start_method != "fork" and module is not None and module.__name__ == "__main__" \
            and not hasattr(module, "__file__"):
        raise ValueError(
            f"launch: {getattr(fn, '__name__', fn)!r} is defined in a notebook or an interactive "
            f"session, which a process started with {start_method!r} cannot import; pass "
            "start_method='fork' (Linux, macOS) or move the function to a module."
        )
