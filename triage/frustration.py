"""Frustration: the tone of the words, raised by history (unanswered repeats, days waiting).

Automated mail is never frustrated.
"""

from __future__ import annotations


def history_pressure(repeat_count: int, waited_hours: float | None) -> float:
    """0..0.6: how much the customer's history alone suggests frustration.

    ``repeat_count`` counts this message; ``waited_hours`` is how long the customer had
    already been waiting for an answer when they wrote it.
    """
    pressure = min(0.15 * max(repeat_count - 1, 0), 0.45)
    days = (waited_hours or 0) / 24
    if days >= 14:
        pressure += 0.3
    elif days >= 7:
        pressure += 0.2
    elif days >= 3:
        pressure += 0.1
    return min(pressure, 0.6)


def frustration_score(tone: float, repeat_count: int, waited_hours: float | None, automated: bool) -> float:
    """Combine tone (0..1) and history into one 0..1 score: either can raise it, neither
    lowers what the other says (1 - (1 - tone)(1 - history))."""
    if automated:
        return 0.0
    score = 1 - (1 - tone) * (1 - history_pressure(repeat_count, waited_hours))
    return round(min(max(score, 0.0), 1.0), 3)
