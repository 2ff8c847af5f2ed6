"""medallion's memory backend with its object filter indexed — for bench/jobs.py only, and labelled so in its output.

The stock memory backend (medallion 3.0, `MemoryBackend.get_objects` → `BasicFilter.process_filter`) matches every
manifest entry against every object on the first request of a listing, parsing both timestamps with `strptime`
for each pair, and parses the whole manifest again for every following page: serving n objects costs O(n²)
(measured: 2,000 objects took 49 s to serve, 10,000 would take ~20 min). Medallion's memory backend is its test
backend, not a deployment's; a real TAXII server answers a page from an index. This backend answers the plain
requests a Fenghuo TAXII job makes (`added_after`, `limit`, `next`; the latest version of each object, ordered by
date added) from a dict built once, with the stock page/next semantics and headers; any other filter goes to the
stock code.

Use: medallion config `"backend": {"module": "bench.medallion_indexed", "module_class": "IndexedMemoryBackend", …}`
with the repository on PYTHONPATH.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from medallion.backends.memory_backend import MemoryBackend
from medallion.common import create_resource, datetime_to_float, get_timestamp, string_to_datetime

PLAIN_ARGS = {"added_after", "limit", "next"}


class IndexedMemoryBackend(MemoryBackend):
    def get_objects(self, api_root: str, collection_id: str, filter_args: dict[str, Any], allowed_filters: Any,
                    limit: int) -> Any:
        collection = self._collection(api_root, collection_id)
        if collection is None or set(filter_args) - PLAIN_ARGS:
            return super().get_objects(api_root, collection_id, filter_args, allowed_filters, limit)
        if "next" in filter_args:
            rows = self._pending(filter_args)
        else:
            rows = self._listing(collection, filter_args.get("added_after"))
        page, rest = rows[:limit], rows[limit:]
        token = None
        if rest:
            token = filter_args.get("next") or str(uuid.uuid4())
            self.next[token] = {"rows": rest, "request_time": datetime_to_float(get_timestamp())}
        else:
            self.next.pop(filter_args.get("next"), None)
        headers = {"X-TAXII-Date-Added-First": page[0][0], "X-TAXII-Date-Added-Last": page[-1][0]} if page else {}
        return create_resource("objects", [obj for _, obj in page], bool(rest), token), headers

    def _collection(self, api_root: str, collection_id: str) -> dict[str, Any] | None:
        if api_root not in self.data:
            return None
        return next((c for c in self._get(api_root).get("collections", []) if c["id"] == collection_id), None)

    def _pending(self, filter_args: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        saved = self.next.get(filter_args["next"])
        if saved is None or "rows" not in saved:
            from medallion.exceptions import ProcessingError

            raise ProcessingError("The server did not understand the request or filter parameters: 'next' not valid", 400)
        return saved["rows"]

    @staticmethod
    def _listing(collection: dict[str, Any], added_after: str | None) -> list[tuple[str, dict[str, Any]]]:
        """(date_added, object) of the latest version of each object added after `added_after`, oldest first."""
        added = {(m["id"], string_to_datetime(m["version"])): m["date_added"] for m in collection.get("manifest", [])}
        after = string_to_datetime(added_after) if added_after else None
        latest: dict[str, tuple[datetime, str, dict[str, Any]]] = {}
        for obj in collection.get("objects", []):
            version = string_to_datetime(obj.get("modified") or obj["created"])
            date_added = added.get((obj["id"], version))
            if date_added is None or (after is not None and string_to_datetime(date_added) <= after):
                continue
            if obj["id"] not in latest or latest[obj["id"]][0] < version:
                latest[obj["id"]] = (version, date_added, obj)
        return sorted(((date_added, obj) for _, date_added, obj in latest.values()), key=lambda row: string_to_datetime(row[0]))
