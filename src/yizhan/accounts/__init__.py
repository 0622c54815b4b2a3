"""Accounts: users, sign-in protection, second factor and API tokens."""
