"""``lingkar serve --workers N``: the supervisor, on the public port, and its N session workers.

The supervisor does what is done once: it checks the settings, makes the keys and the TLS
certificate, migrates the database, then starts the workers (the same command, with
``LINGKAR_WORKER`` set: server/workers/worker.py) and, once each answers on its socket, listens
on the public port and passes every request on to a worker (server/workers/proxy.py) as the
session directory says (server/workers/routing.py). A worker that exits is started again: its
sessions' people come back to it through the rejoin path, and each session is restored from
its snapshot (server/live/snapshot.py). ``/metrics`` gathers every worker's figures, labelled
by worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import ssl
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.process_collector import ProcessCollector

from server.accounts.auth import load_or_create_secret
from server.accounts.counselors import count_counselors
from server.db.database import migrate_in_child, open_database
from server.platform.addresses import lan_ipv4_addresses
from server.platform.errors import CannotStart, ErrorId
from server.platform.limits import MAX_HTTP_BODY_BYTES
from server.platform.metrics_access import check_metrics_reader
from server.platform.notes_key import load_or_create_notes_key
from server.platform.proxies import trusted_proxies_middleware
from server.platform.security import security_headers
from server.platform.settings import Settings, SettingsError
from server.platform.shared_limits import open_redis
from server.platform.startup import banner, bound_port, tls_context
from server.workers.cluster import Cluster, ClusterUnavailable, node_token
from server.workers.place import (
    STATUS_PATH,
    TOKEN_HEADER,
    WORKER_VARIABLE,
    WorkerPlace,
    as_passed_on,
    carries_token,
    port_share,
)
from server.workers.proxy import (
    NODE_TOKEN_HEADER,
    Upstream,
    pass_on,
    refuses_internal,
    unavailable,
)
from server.workers.routing import Directory, places_session, session_code, spread

log = logging.getLogger("lingkar.workers")

# How often each worker says which sessions it hosts (and shows it is alive).
REPORT_INTERVAL_S = 2.0
# A worker must answer on its socket within this long of starting (its self-test included).
READY_DEADLINE_S = 60.0
# A worker that exits within this long of starting waits longer before the next try (doubling
# up to RESTART_DELAY_MAX_S), so a worker that cannot start does not spin.
QUICK_EXIT_S = 10.0
RESTART_DELAY_S = 0.5
RESTART_DELAY_MAX_S = 30.0
STOP_DEADLINE_S = 10.0
NO_DIRECTORY = (
    "the cluster's session directory (Redis) cannot be reached: new sessions cannot open now; "
    "sessions already open go on"
)


class WorkerStartError(CannotStart):
    """A worker exited before it could serve at start-up."""


class Worker:
    """One worker process, started again whenever it exits while the supervisor runs."""

    def __init__(self, place: WorkerPlace) -> None:
        self.place = place
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.ready = asyncio.Event()
        self.session = aiohttp.ClientSession(
            connector=aiohttp.UnixConnector(path=str(place.socket)), auto_decompress=False
        )
        self.upstream = Upstream(f"session worker {place.index}", self.session, place.token)

    async def start(self) -> None:
        self.ready.clear()
        env = dict(os.environ)
        env[WORKER_VARIABLE] = self.place.encode()
        # The command as it was typed (the lingkar script, or python -m server.cli), so the
        # worker reads the same settings file, variables and flags.
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *sys.orig_argv[1:], env=env
        )

    async def wait_ready(self) -> None:
        """Until the worker answers on its socket; WorkerStartError if it exits first."""
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            process = self.process
            if process is None or process.returncode is not None:
                code = None if process is None else process.returncode
                raise WorkerStartError(f"session worker {self.place.index} exited ({code})")
            if await self.report({}) is not None:
                self.ready.set()
                return
            await asyncio.sleep(0.1)
        raise WorkerStartError(f"session worker {self.place.index} did not answer in time")

    async def report(self, body: dict[str, object]) -> dict[str, object] | None:
        """The worker's status call (``None`` when it does not answer)."""
        try:
            async with self.session.post(
                f"http://worker{STATUS_PATH}",
                json=body,
                headers={TOKEN_HEADER: self.place.token},
                timeout=aiohttp.ClientTimeout(total=5),
            ) as answer:
                if answer.status != 200:
                    return None
                found = await answer.json()
                return found if isinstance(found, dict) else None
        except (aiohttp.ClientError, TimeoutError, OSError, json.JSONDecodeError):
            return None

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_DEADLINE_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@dataclass
class Route:
    """Where one request goes: a worker of this node, another node, or nowhere (refused)."""

    worker: Worker | None = None
    node: str | None = None
    placed: str | None = None  # a code this request placed on the worker (undone if it fails)
    claimed: tuple[str, str] | None = None  # (code, node) this request claimed in the cluster
    refused: web.Response | None = None


class Supervisor:
    def __init__(
        self, settings: Settings, count: int, folder: Path, cluster: Cluster | None = None
    ) -> None:
        self.settings = settings
        self.directory = Directory(count)
        # The cluster's directory in Redis (None: this machine alone), the token this node's
        # calls to the others carry, and the HTTPS session they go through.
        self.cluster = cluster
        self.node_token = node_token(load_or_create_secret(settings)) if cluster else ""
        self.nodes: aiohttp.ClientSession | None = None
        # Sessions each worker must let go (another node holds them: server/workers/cluster.py).
        self.releasing: dict[int, set[str]] = {}
        token = secrets.token_urlsafe(24)
        self.workers = [
            Worker(WorkerPlace(i, count, folder / f"worker-{i}.sock", token)) for i in range(count)
        ]
        self._tasks: list[asyncio.Task[None]] = []
        # The supervisor's process figures (CPU, memory, descriptors) for /metrics.
        self.own_metrics = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.own_metrics)

    # ---- the processes ---------------------------------------------------------------------

    async def start(self) -> None:
        if self.cluster is not None:
            self.nodes = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=node_tls(self.settings)),
                auto_decompress=False,
            )
        for worker in self.workers:
            await worker.start()
        await asyncio.gather(*(w.wait_ready() for w in self.workers))
        for worker in self.workers:
            self._tasks.append(asyncio.create_task(self._keep_running(worker)))
        self._tasks.append(asyncio.create_task(self._hear_reports()))

    async def _keep_running(self, worker: Worker) -> None:
        # Cancelled by stop() before the workers are stopped: an exit seen here is unasked for.
        delay = RESTART_DELAY_S
        while True:
            process = worker.process
            assert process is not None
            started = time.monotonic()
            code = await process.wait()
            worker.ready.clear()
            lived = time.monotonic() - started
            delay = RESTART_DELAY_S if lived > QUICK_EXIT_S else min(delay * 2, RESTART_DELAY_MAX_S)
            log.warning(
                "session worker %d stopped (exit status %s); starting it again in %.1f s",
                worker.place.index,
                code,
                delay,
            )
            await asyncio.sleep(delay)
            worker.restarts += 1
            try:
                await worker.start()
                await worker.wait_ready()
            except (WorkerStartError, OSError) as exc:
                log.warning("session worker %d: %s", worker.place.index, exc)

    async def _hear_reports(self) -> None:
        while True:
            try:
                await self._hear_once()
            except Exception:  # the next round tries again; a node must not go silent
                log.exception("hearing the workers' reports failed")
            await asyncio.sleep(REPORT_INTERVAL_S)

    async def _hear_once(self) -> None:
        # Codes hosted anywhere else in the cluster (the first worker's sweep leaves them).
        claimed: set[str] = set()
        sweep = True
        if self.cluster is not None:
            try:
                claimed = await self.cluster.claimed()
            except ClusterUnavailable:
                sweep = False  # nobody knows what the other nodes host now
        hosted: set[str] = set()
        for worker in self.workers:
            others = claimed | {
                code
                for code in self.directory.codes()
                if self.directory.worker_of(code) != worker.place.index
            }
            release = sorted(self.releasing.pop(worker.place.index, set()))
            found = await worker.report(
                {"directory": sorted(others), "sweep": sweep, "release": release}
            )
            if found is None:
                if release:  # asked again at the next report
                    self.releasing.setdefault(worker.place.index, set()).update(release)
                continue
            reported = found.get("sessions", [])
            if isinstance(reported, list):
                mine = {str(x) for x in reported}
                hosted |= mine
                self.directory.report(worker.place.index, mine)
        if self.cluster is not None:
            with contextlib.suppress(ClusterUnavailable):
                # A worker that did not answer keeps its sessions' claims (it restarts).
                dead = {c for c in self.directory.codes() if not self._ready_for(c)}
                for code in await self.cluster.heartbeat(hosted | dead):
                    # Held by another node now: its requests go there from this moment,
                    # and the worker ends its copy at the next report.
                    index = self.directory.worker_of(code)
                    if index is not None:
                        self.releasing.setdefault(index, set()).add(code)
                        self.directory.forget(code)

    def _ready_for(self, code: str) -> bool:
        index = self.directory.worker_of(code)
        return index is not None and self.workers[index].ready.is_set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Each worker tells its sessions' people the server is restarting (with their rejoin
        # tokens) and keeps the sessions' snapshots, as a single process does.
        await asyncio.gather(*(w.stop() for w in self.workers))
        if self.cluster is not None:
            # Then the sessions are free for the other nodes (their snapshots are written).
            with contextlib.suppress(ClusterUnavailable):
                await self.cluster.leave(self.directory.codes())
        for worker in self.workers:
            await worker.session.close()
        if self.nodes is not None:
            await self.nodes.close()

    # ---- requests --------------------------------------------------------------------------

    async def route(self, request: web.Request) -> Route:
        """Where ``request`` goes (see server/workers/routing.py and cluster.py)."""
        code = session_code(request.path)
        placing = code is not None and places_session(request.method, request.path)
        if code is not None:
            index = self.directory.worker_of(code)
            if index is not None:
                return Route(worker=self.workers[index])
            # A call passed on by another node is served here: never passed on again.
            claimed = None
            owner: str | None = None
            if self.cluster is not None and not from_node(request, self.node_token):
                try:
                    if placing:
                        owner, fresh = await self.cluster.place(code)
                        claimed = (code, owner) if fresh else None
                    else:
                        owner = await self.cluster.owner(code)
                except ClusterUnavailable:
                    if placing:
                        return Route(refused=unavailable(request, NO_DIRECTORY))
                    owner = None
                if owner is not None and owner != self.cluster.node_url:
                    return Route(node=owner, claimed=claimed)
            if placing:
                index, placed = self.directory.place(code)
                return Route(
                    worker=self.workers[index], placed=code if placed else None, claimed=claimed
                )
        if request.path == "/login" and request.method == "POST":
            # Every login attempt meets one worker's counters: the per-account limit holds
            # on this node whatever addresses the attempts come from.
            return Route(worker=self.workers[0])
        # No session hosted by that code (or none named): by the client's address, so that one
        # client's failed logins and unknown codes are counted by one worker's limits.
        client = request.remote or "unknown"
        return Route(worker=self.workers[spread(client, len(self.workers))])

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if refuses_internal(request.path):
            raise web.HTTPNotFound()
        if request.path == "/metrics" and request.method == "GET":
            return await self.metrics(request)
        route = await self.route(request)
        if route.refused is not None:
            return route.refused
        if route.node is not None:
            response, status = await self._to_node(request, route.node)
        else:
            worker = route.worker
            assert worker is not None
            if not worker.ready.is_set():
                # Restarting: a short wait, then the client is told to try again.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(worker.ready.wait(), 5.0)
            response, status = await pass_on(request, worker.upstream)
            if route.placed is not None and not 200 <= status < 300:
                self.directory.unplace(route.placed, worker.place.index)
        if route.claimed is not None and not 200 <= status < 300 and self.cluster is not None:
            with contextlib.suppress(ClusterUnavailable):
                await self.cluster.unclaim(*route.claimed)
        return response

    async def _to_node(self, request: web.Request, url: str) -> tuple[web.Response, int]:
        """Pass ``request`` on to the node that hosts its session; if that node does not
        answer and is dead, forget its claim: the client's next try places the session anew."""
        assert self.nodes is not None
        assert self.cluster is not None
        upstream = Upstream(
            f"node {url}", self.nodes, self.node_token, base=url, token_header=NODE_TOKEN_HEADER
        )
        response, status = await pass_on(request, upstream)
        code = session_code(request.path)
        if status == 0 and code is not None:
            with contextlib.suppress(ClusterUnavailable):
                await self.cluster.forget_dead(code, url)
        return response, status

    async def metrics(self, request: web.Request) -> web.Response:
        """Every worker's /metrics in one, each sample labelled with its worker; the workers
        check who may read them (metrics_allow)."""
        check_metrics_reader(self.settings, request.remote)
        families: dict[str, list[str]] = {}
        for worker in self.workers:
            response, status = await pass_on(request, worker.upstream)
            if status in (401, 403):
                return response
            if status != 200 or not isinstance(response.body, bytes):
                continue
            text = response.body.decode("utf-8", errors="replace")
            _merge(families, text, str(worker.place.index))
        # The supervisor's own CPU and memory, so that the node's whole cost is in one scrape.
        _merge(families, generate_latest(self.own_metrics).decode(), "supervisor")
        up = sum(1 for w in self.workers if w.ready.is_set())
        restarts = sum(w.restarts for w in self.workers)
        own = [
            "# HELP lingkar_workers_up Session workers answering now.",
            "# TYPE lingkar_workers_up gauge",
            f"lingkar_workers_up {up}",
            "# HELP lingkar_worker_restarts Session workers started again after they exited.",
            "# TYPE lingkar_worker_restarts counter",
            f"lingkar_worker_restarts_total {restarts}",
        ]
        body = "\n".join([*own, *(line for lines in families.values() for line in lines)]) + "\n"
        return web.Response(
            body=body.encode(),
            headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
        )


def _merge(families: dict[str, list[str]], text: str, worker: str) -> None:
    """Add the samples of a Prometheus text to ``families``, each labelled with ``worker``."""
    for family in text_string_to_metric_families(text):
        lines = families.setdefault(family.name, _header(family))
        for sample in family.samples:
            labels = {**sample.labels, "worker": worker}
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{sample.name}{{{inner}}} {_number(sample.value)}")


def _header(family: Metric) -> list[str]:
    # The text format names a counter by its sample (x_total); the parser strips the suffix.
    name = f"{family.name}_total" if family.type == "counter" else family.name
    return [f"# HELP {name} {_escape(family.documentation)}", f"# TYPE {name} {family.type}"]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else f"{int(value)}.0"


def from_node(request: web.Request, token: str) -> bool:
    return carries_token(request, NODE_TOKEN_HEADER, token)


def nodes_middleware(supervisor: Supervisor) -> Any:
    """A call passed on by another node of the cluster: the client's address and scheme are
    the ones that node saw (believed only with the nodes' shared token)."""

    @web.middleware
    async def from_nodes(request: web.Request, handler: Handler) -> web.StreamResponse:
        if from_node(request, supervisor.node_token):
            request = as_passed_on(request)
        return await handler(request)

    return from_nodes


def node_tls(settings: Settings) -> ssl.SSLContext:
    """What the nodes' HTTPS calls to each other trust: the system's CAs and ``cluster_ca``."""
    context = ssl.create_default_context()
    # A node's own self-signed certificate in cluster_ca is trusted as it is (not only CAs):
    # what Python 3.13 does by default.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    if settings.cluster_ca is not None:
        try:
            context.load_verify_locations(cafile=str(settings.cluster_ca))
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(f"cluster_ca: cannot load {settings.cluster_ca}: {exc}") from None
    return context


def supervisor_app(settings: Settings, supervisor: Supervisor) -> web.Application:
    @web.middleware
    async def too_large(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            if request.path.startswith("/api/"):
                return web.json_response(
                    {"error": ErrorId.TOO_LARGE.value, "message": "the request body is too large"},
                    status=413,
                )
            raise

    app = web.Application(
        middlewares=[
            nodes_middleware(supervisor),
            trusted_proxies_middleware(settings),
            security_headers,
            too_large,
        ],
        client_max_size=MAX_HTTP_BODY_BYTES,
    )
    app.router.add_route("*", "/{tail:.*}", supervisor.handle)
    return app


async def run_supervisor(settings: Settings, count: int) -> None:
    for index in range(count):
        port_share(settings.media_ports, index, count)  # each worker's share must be usable
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Made here, once, so that the workers never race to make them.
    load_or_create_notes_key(settings)
    load_or_create_secret(settings)
    lan_ips = lan_ipv4_addresses()
    context, cert, created = tls_context(settings, lan_ips)
    await migrate_in_child(settings)
    db = await open_database(settings, migrated=True)
    try:
        has_counselors = await count_counselors(db) > 0
    finally:
        await db.dispose()
    cluster = None
    redis_client = None
    if settings.redis_url is not None and settings.node_url is not None:
        node_tls(settings)  # a cluster_ca that does not load stops the start here
        redis_client = open_redis(settings.redis_url)
        cluster = Cluster(redis_client, settings.node_url)
    folder = Path(tempfile.mkdtemp(prefix="lingkar-workers-"))
    supervisor = Supervisor(settings, count, folder, cluster)
    runner: web.AppRunner | None = None
    try:
        try:
            await supervisor.start()
        except WorkerStartError as exc:
            raise SettingsError(f"{exc}; its reason is printed above") from None
        runner = web.AppRunner(supervisor_app(settings, supervisor), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port, ssl_context=context)
        await site.start()
        port = bound_port(site, settings.port)
        shares = ", ".join(
            "{}-{}".format(*port_share(settings.media_ports, i, count)) for i in range(count)
        )
        notes = [f"Session workers: {count} (media ports {shares})."]
        if cluster is not None:
            notes.append(f"Cluster node {cluster.node_url} (Redis: the session directory).")
        text = banner(
            settings, port, lan_ips, cert, created, has_counselors=has_counselors, notes=notes
        )
        print(text, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await supervisor.stop()
        shutil.rmtree(folder, ignore_errors=True)
        if redis_client is not None:
            await redis_client.aclose()
