"""Lingkar's HTTP server: routes, pages, configuration and the command line."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lingkar")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
