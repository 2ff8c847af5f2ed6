"""GraphiQL works on a closed network: the page and every asset it loads come from the app itself."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from html.parser import HTMLParser

import httpx
import pytest

from tests.conftest import ServerThread


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.assets: list[tuple[str, str, str | None]] = []  # (kind, url, integrity)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.assets.append(("script", values["src"] or "", values.get("integrity")))
        if tag == "link" and values.get("href"):
            self.assets.append((values.get("rel") or "link", values["href"] or "", values.get("integrity")))


async def _page(api: httpx.AsyncClient) -> str:
    response = await api.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    return response.text


async def test_graphiql_page_loads_every_script_and_stylesheet_from_the_app(api: httpx.AsyncClient) -> None:
    page = await _page(api)
    parser = _Assets()
    parser.feed(page)
    kinds = sorted(kind for kind, _, _ in parser.assets)
    assert kinds == ["script"] * 5 + ["stylesheet"] * 2, parser.assets
    for kind, url, integrity in parser.assets:
        assert url.startswith("/") and not url.startswith("//"), url
        response = await api.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith("text/css" if kind == "stylesheet" else ("text/javascript", "application/javascript"))
        digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert integrity == f"sha384-{digest}", url  # the browser would refuse other bytes


async def test_graphiql_page_names_no_other_host_and_keeps_the_headers_editor(api: httpx.AsyncClient) -> None:
    page = await _page(api)
    assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, re.I) == []
    assert "isHeadersEditorEnabled: true" in page and "Authorization" in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no headless chromium installed")
async def test_graphiql_renders_in_headless_chromium_without_network(api: httpx.AsyncClient, api_server: ServerThread) -> None:
    assert CHROMIUM is not None
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=15000",
         # Any host but the app's own resolves nowhere: a CDN request would leave the page blank.
         f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--dump-dom", f"{api_server.url}/graphql"],
        capture_output=True, text=True, timeout=120,
    ).stdout
    assert "graphiql-editor" in dom and "Loading..." not in dom, dom[:2000]
