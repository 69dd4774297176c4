"""Progress output for long work, on stderr so it never mixes with results on stdout."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def step_printer(stream=None) -> Callable[[str], None]:
    """A callback that prints each step with the time since the first one."""
    stream = stream or sys.stderr
    start = time.monotonic()

    def report(step: str) -> None:
        print(f"[{time.monotonic() - start:6.1f}s] {step}", file=stream, flush=True)

    return report
