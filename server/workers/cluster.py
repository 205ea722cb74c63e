"""A cluster of nodes on one Redis: which node hosts each live session, and which nodes are alive.

Each node is a supervisor with its workers (server/workers/supervisor.py) on its own address
(``node_url``), all sharing one PostgreSQL database, the same ``secret_key`` and ``notes_key``,
and one Redis. Redis holds, with expiry times, so that a dead node's entries disappear by
themselves:

- ``lingkar:node:<url>``: the node is alive, with its load (live sessions), for
  ``NODE_TTL_S``; each node writes its own every REPORT_INTERVAL_S.
- ``lingkar:claim:<code>``: the node that hosts the session, for ``CLAIM_TTL_S``; written when
  the session is placed (``SET NX``: one node wins), renewed by its node while it hosts it.
- the sessions' snapshots (server/live/snapshot_store.py), written by the workers after every
  change, so that another node can restore a session whose node died.

Any node answers any request: a request for a session hosted elsewhere is passed on to that node
(server/workers/proxy.py), so the browser keeps the address it opened and its media goes to the
hosting node's UDP ports (its ICE candidates, its TURN). When the hosting node is dead (its node
key expired), the next ``lead`` or ``rejoin`` places the session on the least loaded live node,
which restores it from its snapshot.

Redis unreachable: new sessions cannot be placed (``503 server_busy`` with a message that says
why); sessions already hosted go on, their node keeps routing to them, and the entries are
written again when Redis is back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

log = logging.getLogger("lingkar.cluster")

NODE_TTL_S = 6
CLAIM_TTL_S = 10
_NODE = "lingkar:node:"
_CLAIM = "lingkar:claim:"
_NODE_PURPOSE = b"lingkar node-to-node v1"
_DELETE_IF = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class ClusterUnavailable(RuntimeError):
    """Redis cannot be reached (or answered with an error)."""


def node_token(secret: bytes) -> str:
    """What a node's calls to another carry, so that the other believes the client's address
    and scheme it passes on: derived from the shared ``secret_key``."""
    return hmac.new(secret, _NODE_PURPOSE, hashlib.sha256).hexdigest()


class Cluster:
    def __init__(self, client: Any, node_url: str) -> None:  # client: a redis.asyncio.Redis
        self._client = client
        self.node_url = node_url.rstrip("/")
        self.reachable = True

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await getattr(self._client, method)(*args, **kwargs)
        except Exception as exc:  # redis' errors, OSError, timeouts: all mean "not now"
            if self.reachable:
                log.warning("Redis is not reachable (%s); new sessions wait for it", exc)
            self.reachable = False
            raise ClusterUnavailable(str(exc)) from None
        if not self.reachable:
            log.warning("Redis is reachable again")
        self.reachable = True
        return result

    async def heartbeat(self, hosted: set[str]) -> set[str]:
        """This node is alive, with its load; it still hosts ``hosted`` (claims renewed, or
        made again after Redis was away). Returns the sessions hosted here that another live
        node holds now: this node was taken for dead (paused, cut off) and the session was
        restored there; the copy here must go (``LiveSessions.release``)."""
        load = json.dumps({"sessions": len(hosted)})
        await self._call("set", _NODE + self.node_url, load, ex=NODE_TTL_S)
        lost = set()
        for code in hosted:
            owner = await self._call("get", _CLAIM + code)
            if owner is None or _text(owner) == self.node_url:
                await self._call("set", _CLAIM + code, self.node_url, ex=CLAIM_TTL_S)
            elif await self._call("exists", _NODE + _text(owner)):
                lost.add(code)
            else:  # claimed by a node that died since: this node still holds it
                await self._delete_if(_CLAIM + code, _text(owner))
                await self._call("set", _CLAIM + code, self.node_url, ex=CLAIM_TTL_S, nx=True)
        if lost:
            log.warning("%d session(s) hosted here are held by another node now", len(lost))
        return lost

    async def leave(self, hosted: set[str]) -> None:
        """This node stops (SIGTERM): its sessions are free at once for the other nodes, so
        that the people told "restarting" come back elsewhere without waiting for expiry."""
        await self._call("delete", _NODE + self.node_url)
        for code in hosted:
            await self._delete_if(_CLAIM + code, self.node_url)

    async def alive(self) -> dict[str, int]:
        """Live nodes (this one included) and their loads."""
        nodes: dict[str, int] = {}
        for key in await self._scan(_NODE + "*"):
            raw = await self._call("get", key)
            if raw is None:
                continue
            try:
                nodes[key[len(_NODE) :]] = int(json.loads(_text(raw))["sessions"])
            except (ValueError, KeyError, TypeError):
                continue
        nodes.setdefault(self.node_url, 0)
        return nodes

    async def owner(self, code: str) -> str | None:
        """The live node that hosts ``code``; None when none does (never placed, ended, or its
        node is dead)."""
        owner = await self._call("get", _CLAIM + code)
        if owner is None:
            return None
        url = _text(owner)
        if url != self.node_url and not await self._call("exists", _NODE + url):
            return None
        return url

    async def place(self, code: str) -> tuple[str, bool]:
        """The node that will host ``code``: the least loaded live one, unless another node
        claimed it meanwhile (or holds it alive); and whether this call claimed it (to be
        undone with ``unclaim`` if the request that placed it fails)."""
        current = await self.owner(code)
        if current is not None:
            return current, False
        nodes = await self.alive()
        chosen = min(sorted(nodes), key=lambda url: nodes[url])
        # A dead node's claim may still be there: remove it, and only it (another node may
        # have claimed the session since).
        stale = await self._call("get", _CLAIM + code)
        if stale is not None and not await self._call("exists", _NODE + _text(stale)):
            await self._delete_if(_CLAIM + code, _text(stale))
        won = await self._call("set", _CLAIM + code, chosen, ex=CLAIM_TTL_S, nx=True)
        if won:
            return chosen, True
        again = await self._call("get", _CLAIM + code)
        return (chosen, False) if again is None else (_text(again), False)

    async def unclaim(self, code: str, url: str) -> None:
        """Undo a claim whose placing request failed (a wrong token, a session not open): a
        flood of such requests must not fill Redis with claims for sessions nobody hosts."""
        await self._delete_if(_CLAIM + code, url)

    async def forget_dead(self, code: str, url: str) -> None:
        """The node ``url`` did not answer for ``code``: forget its claim if it is dead."""
        if not await self._call("exists", _NODE + url):
            await self._delete_if(_CLAIM + code, url)

    async def _delete_if(self, key: str, value: str) -> None:
        """Delete ``key`` if it still holds ``value`` (one step in Redis)."""
        await self._call("eval", _DELETE_IF, 1, key, value)

    async def claimed(self) -> set[str]:
        """Every session code some node claims (for the abandoned-session sweep)."""
        return {key[len(_CLAIM) :] for key in await self._scan(_CLAIM + "*")}

    async def _scan(self, pattern: str) -> list[str]:
        cursor, found = 0, []
        while True:
            cursor, keys = await self._call("scan", cursor, match=pattern, count=500)
            found += [_text(k) for k in keys]
            if int(cursor) == 0:
                return found


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
