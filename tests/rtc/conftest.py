"""Fixtures: a Room, and a harness doing what the server does (carry SDP, renegotiate)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from rtc import Peer, Room
from tests.rtc.clients import Client, DecodeErrors


class Harness:
    """Plays the server's part: joins clients and drives renegotiation as the data channel
    would (offers from the server, answers from the client)."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.clients: dict[str, Client] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.renegotiations = 0

    async def join(self, client: Client) -> Peer:
        peer = self.room.add_peer(client.name)
        peer.on_negotiation_needed = lambda: self._spawn(self._renegotiate(peer))
        self.clients[client.name] = client
        answer = await peer.accept_offer(await client.make_offer())
        await client.accept_answer(answer)
        return peer

    async def client_reoffer(self, client: Client) -> None:
        """The browser re-offers (e.g. screen share started)."""
        peer = self.room.peer(client.name)
        answer = await peer.accept_offer(await client.make_offer())
        await client.accept_answer(answer)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _renegotiate(self, peer: Peer) -> None:
        client = self.clients[peer.id]
        offer = await peer.create_offer()
        answer = await client.answer(offer)
        await peer.accept_answer(answer)
        self.renegotiations += 1

    async def settle(self) -> None:
        """Wait until no renegotiation is running."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def close(self) -> None:
        await self.settle()
        for client in self.clients.values():
            await client.close()
        await self.room.close()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness(Room())
    yield h
    await h.close()


@pytest.fixture
def decode_errors() -> AsyncIterator[DecodeErrors] | DecodeErrors:
    handler = DecodeErrors()
    logger = logging.getLogger("aiortc.rtcrtpreceiver")
    logger.addHandler(handler)
    yield handler  # type: ignore[misc]
    logger.removeHandler(handler)
