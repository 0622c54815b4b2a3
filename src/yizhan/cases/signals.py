"""Signals of the case engine, for the apps that watch cases (supervision).

Unlike the workdays signals these are sent inside the sender's transaction:
what a receiver writes commits or rolls back with the change it was told of.
A receiver that raises aborts that change, so it should only write.
"""

from django.dispatch import Signal

# Sent by ``services.deadlines_recompute``, inside its transaction, for each
# case whose deadlines it moved, and by ``services.case_resume`` when a pause
# given back moved them, so that what was said about the old deadlines
# (supervision's alerts) is settled in the same commit.  ``moved`` names only
# what moved, each as [old, new]: "statutory_due", "promised_due", and
# "tasks", a dict by task id.  ``cause`` says why: "calendar" (the calendar
# changed) or "resumed" (the clock ran again after a lawful pause).
# provides args: case, moved, cause
deadlines_moved = Signal()
