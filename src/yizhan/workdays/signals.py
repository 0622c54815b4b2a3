"""Signals of the workdays app, sent only after the change has committed.

The case engine subscribes to them to recompute the deadlines that depend
on the changed calendar; the workdays app knows nothing about cases
(STYLE §11).  Receivers run after commit, in the process that made the
change; they should enqueue work rather than do it.  A receiver that raises
is logged and does not stop the others (``send_robust``).
"""

from django.dispatch import Signal

# A year's holiday data became complete: by an administrator's publishing
# or by seeding a year from a newer ``chinesecalendar``.  Every deadline
# computed provisionally over that year must be recomputed.
# provides args: year
calendar_year_published = Signal()

# One day of the calendar changed (an administrator's edit).  If the year
# was already published, deadlines computed over it as final may have
# moved; ``published`` says whether it was.
# provides args: date, year, published
calendar_day_changed = Signal()
