"""A cluster of three ``lingkar serve`` nodes on loopback, one real Redis (Debian's
redis-server) and one real PostgreSQL.

- A session is placed on one node; people who reach other nodes are routed to it (their joins,
  offers and the counselor's controls work through any node).
- The hosting node is killed with SIGKILL (its supervisor and its worker): within 15 s the
  session is restored on another node from its snapshot in Redis, and the counselor and the
  members (real aiortc peers, doing what the web client does) are back with the stage, the
  counselor's mute, the raised hand and the lobby intact, video flowing again.
- Redis stopped: a new session is refused with a clear error, the running one goes on; Redis
  started again: new sessions open, and the stored data is intact.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
import sqlalchemy as sa

from server.accounts.counselors import create_counselor
from server.db import schema
from server.db.database import open_database
from server.platform.addresses import lan_ipv4_addresses
from server.platform.settings import Settings
from server.platform.tls import ensure_self_signed
from server.sessions.store import create_session
from tests.deploy.comeback import enter_again, state_kept, until_ok
from tests.deploy.coturn import free_listening_port
from tests.live.client import LiveClient
from tests.live.conftest import PASSWORD
from tests.pgserver import postgres_cluster
from tests.redisserver import RedisServer
from tests.serverproc import ServerProcess, start_server

BACK_WITHIN_S = 15.0
# While the cluster recovers: the session not open yet, or the dead node's claim not expired.
RETRY_ON = frozenset({"session_not_open", "unauthorized"})
SECRET_KEY = "ab" * 32
NOTES_KEY = base64.b64encode(b"n" * 32).decode()


class Http:
    """One person's HTTP side against one node; ``to(node)`` moves it (cookies kept), as a
    browser behind a shared name would reach another node."""

    def __init__(self, base_url: str, jar: aiohttp.CookieJar | None = None) -> None:
        self.jar = jar or aiohttp.CookieJar(unsafe=True)
        self.session = aiohttp.ClientSession(
            base_url=base_url, connector=aiohttp.TCPConnector(ssl=False), cookie_jar=self.jar
        )

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.session.post(path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.session.get(path, **kwargs)


def _node_config(folder: Path, index: int, port: int, redis: str, database: str, ca: Path) -> Path:
    low = 42000 + index * 200
    config = folder / f"node{index}.toml"
    config.write_text(
        "\n".join(
            [
                f'redis_url = "{redis}"',
                f'node_url = "https://localhost:{port}"',
                f'database_url = "{database}"',
                f'secret_key = "{SECRET_KEY}"',
                f'notes_key = "{NOTES_KEY}"',
                f'cluster_ca = "{ca}"',
                f'media_ports = "{low}-{low + 199}"',
                "workers = 1",
            ]
        )
        + "\n"
    )
    return config


def start_nodes(
    tmp_path: Path, ports: list[int], redis: str, database: str, nodes: list[ServerProcess]
) -> list[Path]:
    """Start a node on each port (appended to ``nodes`` as it starts, so that the caller stops
    the started ones whatever happens); each node's self-signed certificate is made first and
    trusted by the others (cluster_ca). Returns the nodes' data directories."""
    dirs = [tmp_path / f"node{i}" for i in range(len(ports))]
    certs = [ensure_self_signed(d / "tls", lan_ipv4_addresses()).cert for d in dirs]
    ca = tmp_path / "nodes.pem"
    ca.write_text("".join(c.read_text() for c in certs))
    for i, port in enumerate(ports):
        config = _node_config(tmp_path, i, port, redis, database, ca)
        nodes.append(start_server(dirs[i], "--port", str(port), "--config", str(config)))
    return dirs


async def _prepare(database: str) -> tuple[str, str]:
    db = await open_database(Settings(database_url=database))
    try:
        counselor = await create_counselor(db, "sari", PASSWORD, "Bu Sari")
        first = await create_session(db, counselor.id, title="Kelompok A", template="online")
        second = await create_session(db, counselor.id, title="Kelompok B", template="online")
        return first.code, second.code
    finally:
        await db.dispose()


async def _attendance(database: str, code: str) -> set[tuple[Any, ...]]:
    db = await open_database(Settings(database_url=database), migrated=True)
    try:
        async with db.connect() as conn:
            session = (
                await conn.execute(sa.select(schema.sessions).where(schema.sessions.c.code == code))
            ).one()
            rows = await conn.execute(
                sa.select(
                    schema.attendance.c.participant,
                    schema.attendance.c.name,
                    schema.attendance.c.admitted_at,
                ).where(schema.attendance.c.session_id == session.id)
            )
            return {tuple(row) for row in rows}
    finally:
        await db.dispose()


async def _log_in(http: Http) -> None:
    form = await (await http.get("/login")).text()
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    assert match
    response = await http.post(
        "/login",
        data={"username": "sari", "password": PASSWORD, "csrf": match.group(1)},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()


def _kill_node(node: ServerProcess) -> None:
    """SIGKILL the node's worker(s) and supervisor at once: a machine that dies."""
    supervisor = psutil.Process(node.process.pid)
    for child in supervisor.children(recursive=True):
        os.kill(child.pid, signal.SIGKILL)
    os.kill(supervisor.pid, signal.SIGKILL)
    node.process.wait()


@pytest.mark.timeout(300)
async def test_a_cluster_routes_restores_and_survives_redis(
    tmp_path: Path, redis: RedisServer
) -> None:
    with postgres_cluster() as database:
        await _run(tmp_path, redis, database)


async def _run(tmp_path: Path, redis: RedisServer, database: str) -> None:
    code, second_code = await _prepare(database)
    ports = [free_listening_port() for _ in range(3)]
    nodes: list[ServerProcess] = []
    https: list[Http] = []
    clients: list[LiveClient] = []

    def http(node: int, like: Http | None = None) -> Http:
        made = Http(nodes[node].base_url, None if like is None else like.jar)
        https.append(made)
        return made

    def client(on: Http, name: str, video: bool = False, session: str = code) -> LiveClient:
        made = LiveClient(on, session, name, video=video)  # type: ignore[arg-type]
        clients.append(made)
        return made

    try:
        start_nodes(tmp_path, ports, redis.url, database, nodes)
        # A forged rejoin places nothing: the claim its request made is undone when it fails.
        stranger = http(1)
        answer = await stranger.post(
            f"/api/sessions/{second_code}/rejoin", json={"rejoin_token": "forged.token"}
        )
        assert answer.status == 401
        assert await _claim(redis, second_code) is None
        # The counselor enters through node 0: the session is placed on the least loaded node.
        leader_http = http(0)
        await _log_in(leader_http)
        leader = client(leader_http, "Bu Sari")
        await leader.lead()
        await leader.connect()
        host = await _host(redis, code)
        assert host in {f"https://localhost:{p}" for p in ports}
        hosting = next(i for i in range(3) if host.endswith(f":{ports[i]}"))
        others = [i for i in range(3) if i != hosting]
        # Ani reaches another node than the host; Budi the third: both are routed to it.
        ani = client(http(others[0]), "Ani Wijaya", video=True)
        assert (await ani.join())[0] == 200
        await ani.connect()
        budi = client(http(others[1]), "Budi Santoso")
        assert (await budi.join())[0] == 200
        await budi.connect()
        leader.send({"type": "admit", "participant": ani.id})
        await ani.wait_message("status", lambda m: m["status"] == "admitted")
        ani.send({"type": "camera", "on": True})
        await leader.wait_for(lambda: leader.frames_from(ani.id, "video") >= 3, "Ani's video")
        ani.send({"type": "microphone", "on": True})
        leader.send({"type": "stage", "direction": "next"})
        await leader.wait_message("roster", lambda m: m["stage"]["index"] == 1)
        leader.send({"type": "mute_member", "participant": ani.id})
        await ani.wait_message("you", lambda m: m["muted_by_leader"])
        ani.send({"type": "hand", "raised": True})
        await leader.wait_message("roster", lambda m: ani.id in m["hands"])
        await asyncio.sleep(0.5)  # the snapshot of the last change is written (one turn later)
        ani_token = ani.last("rejoin_token")["token"]
        budi_token = budi.last("rejoin_token")["token"]
        before = await _attendance(database, code)

        # The hosting node dies.
        _kill_node(nodes[hosting])
        killed = time.monotonic()
        deadline = killed + BACK_WITHIN_S
        survivor = others[0]
        # Everyone comes back through a live node (the counselor with her login cookie).
        leader2 = client(http(survivor, like=leader_http), "Bu Sari")
        await enter_again(leader2, "lead", {}, deadline, RETRY_ON)
        ani2 = client(http(survivor), "Ani Wijaya", video=True)
        entry = await enter_again(ani2, "rejoin", {"rejoin_token": ani_token}, deadline, RETRY_ON)
        assert (entry["participant"], entry["status"]) == (ani.id, "admitted")
        budi2 = client(http(others[1]), "Budi Santoso")
        entry = await enter_again(budi2, "rejoin", {"rejoin_token": budi_token}, deadline, RETRY_ON)
        assert entry["status"] == "waiting"
        await state_kept(leader2, ani2, ani.id, budi.id)
        await leader2.wait_for(
            lambda: leader2.frames_from(ani.id, "video") >= 3,
            "Ani's video after the node's death",
            deadline=max(1.0, deadline - time.monotonic()),
        )
        back = time.monotonic() - killed
        print(f"hosting node killed: the session back on another node {back:.1f} s after")
        assert back <= BACK_WITHIN_S
        new_host = await _host(redis, code)
        assert new_host != host
        assert new_host in {f"https://localhost:{ports[i]}" for i in others}
        assert ani2.last("welcome")["restored"] is True

        # Redis stops: a new session cannot open, with a message that says why; this one goes on.
        redis.stop()
        other_leader = client(http(survivor, like=leader_http), "Bu Sari", session=second_code)
        status, reply = await other_leader.post(f"/api/sessions/{second_code}/lead", {})
        assert status == 503, reply
        assert "Redis" in reply["message"]
        frames = leader2.frames_from(ani.id, "video")
        await leader2.wait_for(
            lambda: leader2.frames_from(ani.id, "video") >= frames + 10, "video without Redis"
        )
        # Redis is back (empty: no persistence): the nodes register again, new sessions open.
        redis.start()
        status, reply = await until_ok(
            lambda: other_leader.post(f"/api/sessions/{second_code}/lead", {}),
            time.monotonic() + 15,
            RETRY_ON,
        )
        assert status == 200, reply
        assert await _host(redis, code) == new_host  # the running session's claim is back
        after = await _attendance(database, code)
        assert before <= after, "a stored attendance row changed"
        for node in nodes:
            if node.process.poll() is None:
                assert node.stop() == 0
    except BaseException:
        for i, node in enumerate(nodes):
            print(f"--- node {i}:\n" + "".join(node.output[-25:]))
        raise
    finally:
        for person in clients:
            await person.close()
        for made in https:
            await made.session.close()
        for node in nodes:
            node.stop()


async def _claim(redis: RedisServer, code: str) -> str | None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis.url)
    try:
        found = await client.get(f"lingkar:claim:{code}")
    finally:
        await client.aclose()
    return None if found is None else str(found.decode())


async def _host(redis: RedisServer, code: str) -> str:
    """The node that claims ``code`` (waiting up to 10 s for the claim)."""
    for _ in range(50):
        found = await _claim(redis, code)
        if found is not None:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"no node claims {code}")


@pytest.mark.timeout(240)
async def test_a_node_taken_for_dead_lets_its_copy_go(tmp_path: Path, redis: RedisServer) -> None:
    """A node frozen (SIGSTOP: a paused VM, a machine cut off) longer than its heartbeat: its
    session is restored on the other node; when it thaws, it sees the other node holds the
    session, tells its own people to come back (``restarting``), and ends its copy without
    writing over the other's snapshot."""
    with postgres_cluster() as database:
        code, _ = await _prepare(database)
        ports = [free_listening_port() for _ in range(2)]
        nodes: list[ServerProcess] = []
        https: list[Http] = []
        clients: list[LiveClient] = []
        try:
            start_nodes(tmp_path, ports, redis.url, database, nodes)
            login = Http(nodes[0].base_url)
            https.append(login)
            await _log_in(login)
            host = await _host_after(redis, login, code, clients)
            frozen = next(i for i in range(2) if host.endswith(f":{ports[i]}"))
            other = 1 - frozen
            old_leader = clients[0]
            group = [psutil.Process(nodes[frozen].process.pid)]
            group += group[0].children(recursive=True)
            for process in group:
                process.send_signal(signal.SIGSTOP)
            try:
                await asyncio.sleep(8)  # past the node's heartbeat (6 s)
                moved = Http(nodes[other].base_url, login.jar)
                https.append(moved)
                leader2 = LiveClient(moved, code, "Bu Sari")  # type: ignore[arg-type]
                clients.append(leader2)
                await enter_again(leader2, "lead", {}, time.monotonic() + 15, RETRY_ON)
                leader2.send({"type": "stage", "direction": "next"})
                leader2.send({"type": "stage", "direction": "next"})
                await leader2.wait_message("roster", lambda m: m["stage"]["index"] == 2)
            finally:
                for process in group:
                    process.send_signal(signal.SIGCONT)
            assert await _host(redis, code) == f"https://localhost:{ports[other]}"
            # The thawed node lets its copy go: its own people are told to come back.
            await old_leader.wait_message("status", lambda m: m["status"] == "restarting")
            metrics = Http(nodes[frozen].base_url)
            https.append(metrics)

            async def open_there() -> float:
                text = await (await metrics.get("/metrics")).text()
                found = re.findall(r"^lingkar_sessions_open\{[^}]*\} (\S+)$", text, re.M)
                return sum(float(x) for x in found)

            for _ in range(50):
                if await open_there() == 0:
                    break
                await asyncio.sleep(0.2)
            assert await open_there() == 0
            # The snapshot is the other copy's (stage 3 of the plan), not the frozen one's.
            await asyncio.sleep(16)  # the other copy's periodic snapshot came after the thaw
            assert (await _snapshot(redis, code, database))["stage"] == 2
            assert await _host(redis, code) == f"https://localhost:{ports[other]}"
            leader2.send({"type": "ping", "nonce": 1})
            assert leader2.rtc.pc.connectionState == "connected"
        except BaseException:
            for i, node in enumerate(nodes):
                print(f"--- node {i}:\n" + "".join(node.output[-25:]))
            raise
        finally:
            for person in clients:
                await person.close()
            for made in https:
                await made.session.close()
            for node in nodes:
                node.stop()


async def _host_after(redis: RedisServer, login: Http, code: str, clients: list[LiveClient]) -> str:
    """The counselor leads (through node 0); the node that hosts the session."""
    leader = LiveClient(login, code, "Bu Sari")  # type: ignore[arg-type]
    clients.append(leader)
    await leader.lead()
    await leader.connect()
    return await _host(redis, code)


async def _snapshot(redis: RedisServer, code: str, database: str) -> dict[str, Any]:
    from redis.asyncio import Redis

    from server.platform.sealing import unseal

    db = await open_database(Settings(database_url=database), migrated=True)
    try:
        async with db.connect() as conn:
            session_id = (
                await conn.execute(
                    sa.select(schema.sessions.c.id).where(schema.sessions.c.code == code)
                )
            ).scalar_one()
    finally:
        await db.dispose()
    client = Redis.from_url(redis.url)
    try:
        blob = await client.get(f"lingkar:snapshot:{session_id}")
    finally:
        await client.aclose()
    assert blob is not None
    data: dict[str, Any] = unseal(
        base64.b64decode(NOTES_KEY), "live_snapshot", session_id, None, blob
    )
    return data
