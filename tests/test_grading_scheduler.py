"""grading.scheduler: every task's result reaches `finished` once, follow-ups run, a dead worker costs no task."""

import os
from pathlib import Path

from grading.scheduler import Task, run_tasks


def square(n: int) -> int:
    return n * n


def die_once(flag: str, n: int) -> int:
    """Kill the worker the first time (the flag file does not exist yet), return n afterwards."""
    if not os.path.exists(flag):
        Path(flag).touch()
        os._exit(1)
    return n


def die(n: int) -> int:
    os._exit(1)


def test_each_result_once_and_follow_ups_run(tmp_path):
    firsts = [Task(square, (n,)) for n in range(4)]
    seen = []

    def finished(task, result):
        first = any(task is f for f in firsts)
        seen.append((first, result))
        return [Task(square, (result,))] if first else []  # each first result squared once more

    assert run_tasks(firsts, finished, jobs=2, log=tmp_path / "log") == []
    assert sorted(r for first, r in seen if first) == [0, 1, 4, 9]
    assert sorted(r for first, r in seen if not first) == [0, 1, 16, 81], "the follow-ups should have run"


def test_a_dead_worker_is_replaced_and_its_task_run_again(tmp_path):
    seen = []
    tasks = [Task(die_once, (str(tmp_path / "flag"), 7))] + [Task(square, (n,)) for n in range(3)]
    left = run_tasks(tasks, lambda task, result: seen.append(result) or [], jobs=2, log=tmp_path / "log")
    assert left == []
    assert sorted(seen) == [0, 1, 4, 7], "every task should finish once, the killed one in the second pool"


def test_a_task_that_always_kills_is_returned_unfinished(tmp_path):
    seen = []
    left = run_tasks([Task(die, (1,))], lambda task, result: seen.append(result) or [], jobs=1, log=tmp_path / "log")
    assert left == [Task(die, (1,))] and seen == []
