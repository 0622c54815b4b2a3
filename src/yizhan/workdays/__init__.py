"""Working days: the holiday calendar and working-day arithmetic."""
