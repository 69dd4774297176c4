"""triage: keep a shared support inbox sorted so no customer waits weeks for an answer."""

__version__ = "0.1.0"

CATEGORIES = ("refund", "cancellation", "fee_dispute", "follow_up")
"""The categories the classifier decides; a message with none of them is ``other``."""

OTHER = "other"
