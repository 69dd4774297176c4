"""Progress output for long work, on stderr so it never mixes with results on stdout."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar


def step_printer(stream=None) -> Callable[[str], None]:
    """A callback that prints each step with the time since the first one."""
    stream = stream or sys.stderr
    start = time.monotonic()

    def report(step: str) -> None:
        print(f"[{time.monotonic() - start:6.1f}s] {step}", file=stream, flush=True)

    return report


@contextmanager
def step_bar(expected_steps: int, stream=None) -> Iterator[Callable[[str], None]]:
    """Report the steps of long work (training) on stderr; yields the callback to call
    as each step starts. On a terminal: a rich bar with the current step, steps done and
    time elapsed (it grows if more steps come than expected). Anywhere else (CI, a log
    file, a pipe): :func:`step_printer`'s one timed line per step, so logs stay readable."""
    stream = stream or sys.stderr
    console = Console(file=stream)
    if not console.is_terminal:
        yield step_printer(stream)
        return
    columns = (TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Bar(*columns, console=console) as bar:
        task = bar.add_task("starting", total=max(expected_steps, 1))
        started = False

        def report(step: str) -> None:
            nonlocal started
            if started:
                bar.advance(task)
            started = True
            done, total = bar.tasks[0].completed, bar.tasks[0].total or 1
            bar.update(task, description=step, total=max(total, done + 1))

        yield report
        bar.update(task, completed=bar.tasks[0].total)
