"""Counselor accounts: passwords, the accounts themselves, the login cookie and its pages, the
command line."""
