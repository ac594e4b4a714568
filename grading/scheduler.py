"""The driver's scheduler: calls run on a pool of forked workers, their results handed back as they finish.

It owns the pool's lifetime and nothing else. A worker process that dies takes the pool down: a new pool
takes the unfinished calls, once. Ctrl-C, or an error raised by what handles a result, kills the workers
(their kernels die with them). What is done with each result is the caller's `finished`.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

__all__ = ["Task", "run_tasks"]


@dataclass(frozen=True)
class Task:
    """A call to make in a worker: ``fn(*args)``."""

    fn: Callable
    args: tuple


def run_tasks(
    tasks: list[Task], finished: Callable[[Task, object], list[Task]], *, jobs: int, log: Path, pools: int = 2
) -> list[Task]:
    """Run `tasks` on `jobs` forked workers whose output goes to `log`; ``finished(task, result)`` is called in
    the parent as each completes, and the tasks it returns are queued on the same workers.

    A worker that dies breaks the pool: a new one takes the unfinished tasks, `pools` pools in all.
    Returns the tasks still unfinished after the last (none, unless a worker died in it).
    """
    left = list(tasks)
    for _ in range(pools):
        pool = _pool(jobs, log)
        try:
            running = {pool.submit(task.fn, *task.args): task for task in left}
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    task = running.pop(future)
                    result = future.result()
                    left.remove(task)
                    for follow in finished(task, result):
                        left.append(follow)
                        running[pool.submit(follow.fn, *follow.args)] = follow
            pool.shutdown()
            return []
        except BrokenProcessPool:
            tqdm.write(f"a grading worker died; {len(left)} tasks left, starting new workers")
            pool.shutdown(wait=False, cancel_futures=True)
        except BaseException:  # Ctrl-C, or the driver's own error: stop the workers (their kernels die with them)
            for worker in multiprocessing.active_children():
                worker.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return left


def _pool(jobs: int, log: Path) -> ProcessPoolExecutor:
    """Forked workers (nbgrader already imported) whose own output goes to `log`, not over the progress bar."""
    log.parent.mkdir(parents=True, exist_ok=True)
    return ProcessPoolExecutor(
        jobs, mp_context=multiprocessing.get_context("fork"), initializer=_quiet, initargs=(str(log),)
    )


def _quiet(log_path: str) -> None:
    """Worker start: output to the log; Ctrl-C is the driver's to handle (it stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
