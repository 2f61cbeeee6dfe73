"""The load of the hot-product benchmark: N clients reserve 1-4 tickets of one product until it
is sold out, each on its own keep-alive connection, every request with its own Idempotency-Key.

Why not wrk: the run is bounded by the stock, not by a duration, and what it reports (successful
reservations per second up to the last one, the latency of the successful ones only, and exactly
which answers were 201) needs the status and timing of every request, which wrk's Lua API does
not give. The client is a minimal HTTP/1.1 writer and reader on asyncio streams (under uvloop),
the same for ours and the baseline; its CPU time per request is measured with every run, to show
it is a small part of either server's.

A client whose reservation is refused as sold out asks again for one ticket fewer; a refusal
of a single ticket means nothing is left (stock only ever goes down here), and the client stops.
So every run ends with the product exactly sold out.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

import uvloop

PATH = "/partner/v1/reservations"


@dataclass(frozen=True)
class Target:
    """What the clients reserve, and where: client i uses `ports[i % len(ports)]` and
    `tokens[i % len(tokens)]`."""

    ports: tuple[int, ...]
    tokens: tuple[str, ...]
    event_id: str
    product_id: str
    # Prefix of every Idempotency-Key of the run, so the run's records can be counted.
    key_prefix: str


@dataclass
class Outcome:
    """Every answer of one run."""

    started: float = 0.0
    # When the last 201 arrived: the reservations per second are counted up to it.
    last_success: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, 201 answers only
    reserved_tickets: int = 0
    sold_out: int = 0
    unexpected: list[tuple[int, str]] = field(default_factory=list)
    # The load's own CPU time: it shares the machine with both servers and PostgreSQL.
    client_cpu_seconds: float = 0.0

    @property
    def reservations(self) -> int:
        return len(self.latencies)

    @property
    def requests(self) -> int:
        return self.reservations + self.sold_out + len(self.unexpected)

    @property
    def per_second(self) -> float:
        elapsed = self.last_success - self.started
        return self.reservations / elapsed if elapsed > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole answer, in turn."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, path: str, headers: bytes, body: bytes) -> tuple[int, bytes]:
        self._writer.write(
            b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (path.encode(), headers, len(body), body)
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length)

    def close(self) -> None:
        self._writer.close()


async def _client(
    index: int, connection: Connection, target: Target, outcome: Outcome, start: asyncio.Event
) -> None:
    chooser = random.Random(index)  # noqa: S311 - reproducible quantities, not a secret
    token = target.tokens[index % len(target.tokens)]
    customer = {"name": f"Customer {index}", "email": f"customer{index}@example.com"}
    quantity = chooser.randint(1, 4)
    number = 0
    await start.wait()
    while True:
        number += 1
        body = json.dumps(
            {
                "event_id": target.event_id,
                "lines": [{"product_id": target.product_id, "quantity": quantity}],
                "customer": customer,
            }
        ).encode()
        headers = (
            f"Authorization: Bearer {token}\r\n"
            f"Idempotency-Key: {target.key_prefix}-{index}-{number}\r\n"
        ).encode()
        sent = time.perf_counter()
        status, answer = await connection.post(PATH, headers, body)
        if status == 201:
            now = time.perf_counter()
            outcome.latencies.append(now - sent)
            outcome.last_success = now
            outcome.reserved_tickets += quantity
            quantity = chooser.randint(1, 4)
        elif status == 409 and json.loads(answer).get("error") == "sold_out":
            outcome.sold_out += 1
            if quantity == 1:
                return
            quantity -= 1
        else:
            outcome.unexpected.append((status, answer[:200].decode(errors="replace")))
            return


async def _reserve_until_sold_out(target: Target, clients: int) -> Outcome:
    outcome = Outcome()
    connections = [
        await Connection.open(target.ports[index % len(target.ports)]) for index in range(clients)
    ]
    start = asyncio.Event()
    try:
        tasks = [
            asyncio.create_task(_client(index, connection, target, outcome, start))
            for index, connection in enumerate(connections)
        ]
        await asyncio.sleep(0)  # every client waits at the start line
        outcome.started = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
    finally:
        for connection in connections:
            connection.close()
    return outcome


def reserve_until_sold_out(target: Target, clients: int) -> Outcome:
    """Run `clients` clients against `target` until the product is sold out."""
    started = time.process_time()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        outcome = runner.run(_reserve_until_sold_out(target, clients))
    outcome.client_cpu_seconds = time.process_time() - started
    return outcome
