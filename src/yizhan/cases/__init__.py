"""The case engine (办件): cases, tasks, the clock, events, materials, results."""
