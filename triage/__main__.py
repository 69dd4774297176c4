"""``python -m triage`` runs the command line."""

from triage.cli import main_entry

main_entry()
