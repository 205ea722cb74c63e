"""A share of a core for each server process, by a CPU cgroup (root only): how a bench on a
2-core machine stands for "one core per worker" while its own clients use the rest.

Each capped process gets a cgroup of its own with a CFS quota of ``share`` times the period
(:data:`PERIOD_US`, short, so that a worker over its quota waits milliseconds, not a tenth of a
second). cgroup v1 (``/sys/fs/cgroup/cpu``) and v2 (``cpu.max``) are both handled. The groups are
removed on :meth:`CpuCaps.remove`, once their processes have exited.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PERIOD_US = 10_000
V1 = Path("/sys/fs/cgroup/cpu")
V2 = Path("/sys/fs/cgroup")


class CannotCap(RuntimeError):
    pass


class CpuCaps:
    """Cgroups made by this bench, one per capped process."""

    def __init__(self, share: float) -> None:
        if not 0.01 <= share <= 1.0:
            raise CannotCap(f"a share of a core is between 0.01 and 1, not {share}")
        self.share = share
        self.groups: list[Path] = []
        if (V2 / "cgroup.controllers").exists() and "cpu" in (
            (V2 / "cgroup.subtree_control").read_text()
        ):
            self.root, self.v2 = V2, True
        elif (V1 / "cpu.cfs_quota_us").exists():
            self.root, self.v2 = V1, False
        else:
            raise CannotCap("no CPU cgroup controller at /sys/fs/cgroup")
        if not os.access(self.root, os.W_OK):
            raise CannotCap(f"{self.root} is not writable: run the bench as root")

    def cap(self, pid: int) -> None:
        """Move the process (all its threads) into a new group with the quota."""
        group = self.root / f"lingkar-bench-{os.getpid()}-{pid}"
        group.mkdir()
        self.groups.append(group)
        quota = int(self.share * PERIOD_US)
        if self.v2:
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        (group / "cgroup.procs").write_text(str(pid))

    def throttled_s(self) -> float:
        """Seconds the capped processes spent throttled (waiting for their next quota)."""
        total = 0
        for group in self.groups:
            for line in (group / "cpu.stat").read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == "throttled_time":  # v1: nanoseconds
                    total += int(value) // 1000
                elif name == "throttled_usec":  # v2
                    total += int(value)
        return total / 1e6

    def remove(self) -> None:
        """Remove the groups (their processes gone; waits a little for them to exit)."""
        for group in self.groups:
            for _ in range(50):
                try:
                    group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
        self.groups.clear()
