"""Guidance sessions as stored: the repository, their codes, the dashboard and the home
page's join form."""
