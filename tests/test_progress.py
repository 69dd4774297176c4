"""Training progress: a bar on a terminal, plain timed lines anywhere else."""

import io
import os
import re

from triage.progress import step_bar


def test_without_a_terminal_each_step_is_one_plain_line():
    stream = io.StringIO()
    with step_bar(3, stream) as progress:
        for step in ("reading data", "cross-validation fold 1/5", "fitting"):
            progress(step)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and all(re.fullmatch(r"\[ +\d+\.\ds\] .+", line) for line in lines)
    assert "\x1b[" not in stream.getvalue()


def test_on_a_terminal_a_bar_counts_the_steps():
    leader, follower = os.openpty()
    with os.fdopen(follower, "w", encoding="utf-8") as terminal:
        with step_bar(2, terminal) as progress:
            for step in ("reading data", "fitting", "one more than expected"):
                progress(step)
    output = b""
    os.set_blocking(leader, False)
    try:
        while chunk := os.read(leader, 65536):
            output += chunk
    except (BlockingIOError, OSError):
        pass
    os.close(leader)
    text = output.decode("utf-8", "replace")
    assert "one more than expected" in text and "\x1b[" in text
    assert "3/3" in text  # the bar grew to the steps that came, and ends full
