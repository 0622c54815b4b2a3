"""Markers shared by the test packages."""

import pytest
from django.db import connection

# Threads that wait on each other's row locks need a server database; SQLite
# serialises whole transactions.  CI runs the suite on PostgreSQL too.
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="threads need a server database's row locks")
