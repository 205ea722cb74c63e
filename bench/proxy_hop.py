"""What the supervisor's hop costs a signalling call: the same requests against ``lingkar serve
--workers 1`` (the single process) and ``--workers 2`` (the supervisor passing each request on
to a worker over a Unix socket), one after the other on one kept-alive HTTPS connection.

    .venv/bin/python -m bench.proxy_hop [--requests 300]

Two kinds of request: ``GET /healthz`` (the smallest answer) and ``POST
/api/sessions/<code>/join`` for a session that is not open (a real signalling call: parsed,
looked up in the database, refused with 409). The last line is:
    healthz_ms_single=<p50> healthz_ms_workers=<p50> join_ms_single=<p50> join_ms_workers=<p50>
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.school import _sessions
from tests import serverproc


async def _timings(base: str, code: str, count: int) -> tuple[float, float]:
    health: list[float] = []
    join: list[float] = []
    async with aiohttp.ClientSession(
        base_url=base, connector=aiohttp.TCPConnector(ssl=False, limit=1)
    ) as http:
        for i in range(count + 20):  # the first 20 warm up
            start = time.perf_counter()
            async with http.get("/healthz") as answer:
                await answer.read()
            middle = time.perf_counter()
            async with http.post(
                f"/api/sessions/{code}/join", json={"name": f"Siswa {i}", "consent": True}
            ) as answer:
                await answer.read()
                assert answer.status == 409, answer.status
            end = time.perf_counter()
            if i >= 20:
                health.append(1000 * (middle - start))
                join.append(1000 * (end - middle))
    return statistics.median(health), statistics.median(join)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    results: dict[str, tuple[float, float]] = {}
    for workers in ("1", "2"):
        data_dir = Path(tempfile.mkdtemp(prefix="lingkar-hop-"))
        (code,) = await _sessions(data_dir, 1)
        server = serverproc.start_server(data_dir, "--workers", workers)
        try:
            results[workers] = await _timings(server.base_url, code, args.requests)
        finally:
            server.stop()
        print(
            f"workers={workers}: healthz {results[workers][0]:.2f} ms, "
            f"join {results[workers][1]:.2f} ms (medians)",
            flush=True,
        )
    print(
        f"healthz_ms_single={results['1'][0]:.2f} healthz_ms_workers={results['2'][0]:.2f} "
        f"join_ms_single={results['1'][1]:.2f} join_ms_workers={results['2'][1]:.2f}"
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
