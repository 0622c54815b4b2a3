"""Signals of the directory app, sent inside the transaction of the change.

The case engine subscribes to put back in their post's inbox the tasks a
person claimed and can no longer do, and the catalog to keep its search
words in step with an agency's name; the directory knows nothing about
cases or items (STYLE §11).  Receivers run in the same transaction, so the change
and what follows from it commit together or not at all.
"""

from django.dispatch import Signal

# A person stopped holding roles: removed from a post (免去岗位), their
# account switched off (every post they held), or a grant revoked (收回授权:
# the agencies it reached that no post or other grant of theirs still
# covers).  ``posts`` is a set of ``(agency id, role)``; ``actor`` made the
# change.  A grant that runs out announces nothing: the case engine looks
# for what rested on it periodically (cases.release_lapsed_claims).
# provides args: actor, user, posts
posts_left = Signal()

# An agency's name or short name changed (agency_update); ``agency`` is as saved.
# provides args: agency
agency_renamed = Signal()
