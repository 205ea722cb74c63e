"""Which worker a request reaches: session codes in paths, placement on the least loaded
worker, the directory following what the workers report, port shares, internal paths."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from server.platform.settings import SettingsError
from server.sessions.codes import generate_code
from server.workers.place import WorkerPlace, port_share
from server.workers.proxy import refuses_internal
from server.workers.routing import (
    UNHOSTED_GRACE_S,
    Directory,
    places_session,
    session_code,
    spread,
)


def test_the_code_in_a_path() -> None:
    code = generate_code()
    lower = code.lower()
    for path in (
        f"/api/sessions/{code}/join",
        f"/api/sessions/{lower}/participants/x/offer",
        f"/s/{code}",
        f"/s/{code}/lead",
    ):
        assert session_code(path) == code, path
    for path in ("/", "/dashboard", "/s/", "/s/not-a-code", "/api/sessions/", "/static/x.js"):
        assert session_code(path) is None, path
    assert places_session("POST", f"/api/sessions/{code}/lead")
    assert places_session("POST", f"/api/sessions/{code}/rejoin")
    assert not places_session("GET", f"/api/sessions/{code}/lead")
    assert not places_session("POST", f"/api/sessions/{code}/join")


def test_spread_is_stable_and_even() -> None:
    codes = [generate_code() for _ in range(4000)]
    assert [spread(c, 3) for c in codes] == [spread(c, 3) for c in codes]
    counts = Counter(spread(c, 4) for c in codes)
    assert set(counts) == {0, 1, 2, 3}
    assert min(counts.values()) > 850  # 1000 each expected


def test_new_sessions_go_to_the_least_loaded_worker() -> None:
    directory = Directory(2)
    a, b, c = "AAA-AAA", "CCC-CCC", "DDD-DDD"
    first, placed = directory.place(a, now=0)
    assert placed
    assert first == spread(a, 2)
    second, _ = directory.place(b, now=0)
    assert second == 1 - first  # the other one, whatever b's own spread
    assert directory.place(a, now=1) == (first, False)  # placed once
    third, _ = directory.place(c, now=2)
    assert third == spread(c, 2)  # a tie again: by the code's spread
    assert directory.load(0) + directory.load(1) == 3


def test_a_failed_placement_is_undone_unless_hosted() -> None:
    directory = Directory(2)
    worker, _ = directory.place("AAA-AAA", now=0)
    directory.unplace("AAA-AAA", worker)
    assert directory.worker_of("AAA-AAA") is None
    worker, _ = directory.place("AAA-AAA", now=0)
    directory.report(worker, {"AAA-AAA"}, now=1)
    directory.unplace("AAA-AAA", worker)
    assert directory.worker_of("AAA-AAA") == worker


def test_the_directory_follows_the_reports() -> None:
    directory = Directory(2)
    directory.report(1, {"EEE-EEE"}, now=0)  # restored on worker 1 (a rejoin, say)
    assert directory.worker_of("EEE-EEE") == 1
    worker, _ = directory.place("FFF-FFF", now=0)
    # Not hosted (the lead failed later, or the session ended): dropped after the grace.
    directory.report(worker, set(), now=UNHOSTED_GRACE_S - 1)
    assert directory.worker_of("FFF-FFF") == worker
    directory.report(worker, set(), now=UNHOSTED_GRACE_S + 1)
    assert directory.worker_of("FFF-FFF") is None
    # A worker that does not report (dead, restarting) keeps its entries.
    directory.report(0, set(), now=10 * UNHOSTED_GRACE_S)
    assert directory.worker_of("EEE-EEE") == 1


def test_port_shares() -> None:
    assert [port_share((40000, 40999), i, 2) for i in range(2)] == [
        (40000, 40499),
        (40500, 40999),
    ]
    shares = [port_share((40000, 40999), i, 3) for i in range(3)]
    assert shares == [(40000, 40332), (40333, 40665), (40666, 40999)]
    assert port_share((40000, 40999), 0, 1) == (40000, 40999)
    with pytest.raises(SettingsError, match="media_ports: 40000-40015 is too narrow for 2"):
        port_share((40000, 40015), 0, 2)


def test_worker_places_travel_in_one_variable() -> None:
    place = WorkerPlace(1, 4, Path("/tmp/x y/worker-1.sock"), "tok_en-")
    assert WorkerPlace.decode(place.encode()) == place


def test_internal_paths_are_not_reachable() -> None:
    for path in ("/_worker/status", "//_worker/status", "/_worker", "/_workers/x"):
        assert refuses_internal(path), path
    for path in ("/", "/api/sessions/AAA-AAA/join", "/static/_worker.js"):
        assert not refuses_internal(path), path
