"""Shared foundations: errors, middleware, the API object, crypto, tasks."""
