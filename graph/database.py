"""One async Neo4j driver per process, and where to find Neo4j (configured URI or the running embedded one)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

from neo4j import (READ_ACCESS, AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction, AsyncNeo4jDriver, Record,
                   RoutingControl)
from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable, SessionExpired, TransientError

from core.settings import Settings
from graph.embedded import read_state

T = TypeVar("T")

# Errors that mean "the database is not reachable right now" (→ HTTP 503), as opposed to a bad query.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (ServiceUnavailable, SessionExpired, ConnectionError, OSError)


# Reads are retried on these for up to RETRY_SECONDS, as the driver retries managed transactions (writes).
RETRYABLE_READ_ERRORS: tuple[type[BaseException], ...] = (ServiceUnavailable, SessionExpired, TransientError)
RETRY_SECONDS = 5.0


def _retryable(error: BaseException) -> bool:
    return not isinstance(error, Neo4jError) or error.is_retryable()


class GraphUnavailable(RuntimeError):
    """Neo4j cannot be reached; callers answer 503 and retry later."""


@dataclass(frozen=True)
class Target:
    uri: str
    auth: tuple[str, str] | None


def resolve_target(settings: Settings) -> Target | None:
    """The configured Neo4j, else the embedded one another fenghuo process runs in data_dir, else None."""
    if settings.neo4j_uri:
        password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else None
        return Target(settings.neo4j_uri, (settings.neo4j_user, password) if password else None)
    running = read_state(settings.data_dir)
    return Target(running.uri, None) if running else None


class Graph:
    """The process's driver plus the database name; every query in graph/ runs through it."""

    def __init__(self, driver: AsyncDriver, database: str) -> None:
        self.driver = driver
        self.database = database
        # Bookmarks only matter where a read may go to another server than the write before it: a cluster,
        # reached through a routing URI (neo4j://, the driver routes). On one server a committed write is visible
        # to every later read, and sending the last bookmark with each read cost a check lookup ~0.1 ms of the
        # API's CPU and ~0.1 ms of latency (paired rounds on the 100k bench graph, 4 Dec 2026).
        self.read_bookmarks = driver.execute_query_bookmark_manager if isinstance(driver, AsyncNeo4jDriver) else None

    @classmethod
    def connect(cls, target: Target, database: str = "neo4j") -> "Graph":
        driver = AsyncGraphDatabase.driver(
            target.uri,
            auth=target.auth,
            connection_timeout=3.0,
            connection_acquisition_timeout=10.0,
            max_transaction_retry_time=RETRY_SECONDS,
            max_connection_pool_size=100,
            liveness_check_timeout=30.0,
            notifications_min_severity="OFF",  # performance hints are for developers, not the service log
        )
        return cls(driver, database)

    async def close(self) -> None:
        await self.driver.close()

    async def read(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return await self._run(query, params, RoutingControl.READ)

    async def read_values(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """`read` for queries whose columns hold only maps, lists and scalars (no nodes, relationships or
        paths): rows are taken as they arrive, skipping the driver's per-value conversion (a third of the
        time of a 10,000-row answer)."""
        return await self._run(query, params, RoutingControl.READ, convert=False)

    async def read_pages(self, query: str, params: dict[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
        """`read_values` one record at a time, fetched as it is taken: for an answer too large to hold at once,
        sent as pages (a record each) that the caller folds as they come. Not retried: a retry part-way would
        hand the caller its first pages again."""
        try:
            async with self.driver.session(database=self.database, default_access_mode=READ_ACCESS,
                                           bookmark_manager=self.read_bookmarks, fetch_size=1) as session:
                async for record in await session.run(query, params or {}):
                    yield dict(record)
        except UNAVAILABLE_ERRORS as error:
            raise GraphUnavailable(str(error)) from error

    async def write(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return await self._run(query, params, RoutingControl.WRITE)

    async def _run(
        self, query: str, params: dict[str, Any] | None, routing: RoutingControl, convert: bool = True,
    ) -> list[dict[str, Any]]:
        try:
            if routing is RoutingControl.READ:
                records = await self._read(query, params or {})
            else:
                records = (await self.driver.execute_query(
                    query, parameters_=params or {}, database_=self.database, routing_=routing)).records
        except UNAVAILABLE_ERRORS as error:
            raise GraphUnavailable(str(error)) from error
        if convert:
            return [record.data() for record in records]
        return [dict(record) for record in records]

    async def _read(self, query: str, params: dict[str, Any]) -> list[Record]:
        """A read as one auto-commit query: RUN and PULL in one round trip, where a managed transaction
        (execute_query) adds BEGIN and COMMIT and a second round trip. The driver's CPU per check lookup went from
        3.3 to 1.8 ms (per `RETURN 1`: 2.2 to 1.4 ms). Read-your-writes holds as with execute_query: through a
        routing URI with its bookmark manager, on one server by itself. Transient failures are retried, as it
        retries them, for up to RETRY_SECONDS."""
        deadline = asyncio.get_running_loop().time() + RETRY_SECONDS
        delay = 0.05
        while True:
            try:
                async with self.driver.session(database=self.database, default_access_mode=READ_ACCESS,
                                               bookmark_manager=self.read_bookmarks) as session:
                    result = await session.run(query, params)
                    return [record async for record in result]
            except RETRYABLE_READ_ERRORS as error:
                if not _retryable(error) or asyncio.get_running_loop().time() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def transaction(self, work: Callable[[AsyncManagedTransaction], Awaitable[T]], *, write: bool = True) -> T:
        """Run several statements in one retried transaction (all or nothing)."""
        try:
            async with self.driver.session(database=self.database) as session:
                runner = session.execute_write if write else session.execute_read
                return await runner(work)
        except UNAVAILABLE_ERRORS as error:
            raise GraphUnavailable(str(error)) from error

    async def server_version(self, timeout: float = 2.0) -> str:
        """Neo4j's version; raises GraphUnavailable within `timeout` when it does not answer."""
        query = "CALL dbms.components() YIELD versions, edition RETURN versions[0] AS version, edition"
        try:
            rows = await asyncio.wait_for(self.read(query), timeout)
        except (asyncio.TimeoutError, DriverError, Neo4jError) as error:
            raise GraphUnavailable(f"Neo4j did not answer: {error.__class__.__name__}") from error
        return f"{rows[0]['version']} {rows[0]['edition']}"
