"""Directory: divisions, agencies, posts, staff, applicants and roles."""
