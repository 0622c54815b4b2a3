"""Signals of the directory app, sent inside the transaction of the change.

The case engine subscribes to put back in their post's inbox the tasks a
person claimed and can no longer do, and the catalog to keep its search
words in step with an agency's name; the directory knows nothing about
cases or items (STYLE §11).  Receivers run in the same transaction, so the change
and what follows from it commit together or not at all.
"""

from django.dispatch import Signal

# A person stopped holding posts: removed from one (免去岗位), or their
# account switched off (every post they held).  ``posts`` is a set of
# ``(agency id, role)``; ``actor`` made the change.
# provides args: actor, user, posts
posts_left = Signal()

# An agency's name or short name changed (agency_update); ``agency`` is as saved.
# provides args: agency
agency_renamed = Signal()
