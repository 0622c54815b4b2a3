"""Public portal pages and the staff workbench."""
