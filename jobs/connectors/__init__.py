"""Connectors of scheduled ingest: drop folder, HTTP(S) feed, TAXII 2.1 collection, MISP feed."""

from __future__ import annotations

from pathlib import Path

from jobs.connectors.base import Connector
from jobs.connectors.drop_folder import DropFolder
from jobs.connectors.http_feed import HttpFeed
from jobs.connectors.misp import MispFeed
from jobs.connectors.taxii import TaxiiCollection
from jobs.model import JobKind


def connector_for(kind: JobKind, spool_dir: Path | None = None) -> Connector:
    """The connector of an ingest kind; `spool_dir` is where fetched bodies wait (not needed to validate)."""
    connectors: dict[JobKind, Connector] = {
        JobKind.DROP_FOLDER: DropFolder(), JobKind.HTTP_FEED: HttpFeed(spool_dir or Path("spool")),
        JobKind.TAXII: TaxiiCollection(), JobKind.MISP_FEED: MispFeed(),
    }
    return connectors[kind]
