"""The memory allocator of ``lingkar serve``: jemalloc when the machine has it.

Measured on this project's soak (docs/reliability.md, bench/soak.py): with glibc's malloc the
server's RSS grows by about 0.15 MB for every member who joins and leaves, while its Python
heap stays flat (the peer connections' churn fragments glibc's arenas; ``malloc_trim`` gives
back only half). With jemalloc (Debian's ``libjemalloc2``) the same 150 cycles left the RSS
within 1.2 % of the start. So ``lingkar serve`` restarts itself once, before doing anything
else, with jemalloc preloaded when the library is installed and not loaded yet.
``LINGKAR_ALLOCATOR=system`` keeps glibc's malloc.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Where Debian and Ubuntu install it (libjemalloc2), by architecture, and the usual others.
JEMALLOC_PATHS = (
    "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
    "/usr/lib/arm-linux-gnueabihf/libjemalloc.so.2",
    "/usr/lib64/libjemalloc.so.2",
    "/usr/lib/libjemalloc.so.2",
    "/usr/local/lib/libjemalloc.so.2",
)
CHOICE = "LINGKAR_ALLOCATOR"  # "system": glibc's malloc, no restart
_TRIED = "LINGKAR_ALLOCATOR_TRIED"  # set on the restart, so it happens at most once


def jemalloc_path() -> str | None:
    return next((path for path in JEMALLOC_PATHS if Path(path).is_file()), None)


def in_use() -> str:
    """ "jemalloc" when it is loaded in this process, else "system" (glibc's malloc)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return "system"
    return "jemalloc" if "libjemalloc" in maps else "system"


def restart_with_jemalloc() -> None:
    """Replace this process by the same command with jemalloc preloaded, when that is wanted
    and possible; else return and go on as is. Call before any thread or socket exists."""
    if os.environ.get(CHOICE) == "system" or os.environ.get(_TRIED) or in_use() == "jemalloc":
        return
    path = jemalloc_path()
    if path is None:
        return
    preload = os.environ.get("LD_PRELOAD", "")
    env = dict(os.environ, LD_PRELOAD=f"{path}:{preload}" if preload else path)
    env[_TRIED] = "1"
    # sys.orig_argv is the command as typed (python -m server.cli ..., or the lingkar script).
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


def describe() -> str:
    """The banner's line."""
    if in_use() == "jemalloc":
        return "Memory allocator: jemalloc."
    return (
        "Memory allocator: glibc's malloc (install Debian's libjemalloc2 for a memory use that"
        " stays flat over a long day)."
    )
