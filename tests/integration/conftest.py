"""Integration tests run against the real sandbox wiki farm on 127.0.0.1 (never a real wiki).

The farm is started (or reused, < 1 s) once per session. pywikibot is imported only after
PYWIKIBOT_DIR points at the farm's generated configuration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
SANDBOX = REPO / "scripts" / "sandbox-wiki"
PYWIKIBOT_DIR = Path(os.environ.get("EVENTBOT_SANDBOX", REPO / ".sandbox")) / "pywikibot"
_BASE = int(os.environ.get("EVENTBOT_SANDBOX_PORT", "8101"))
PORTS = {"metawiki": _BASE, "tewiki": _BASE + 1}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.sandbox)


@pytest.fixture(scope="session")
def sandbox() -> Path:
    """Start the farm (idempotent) and point pywikibot at it."""
    subprocess.run([sys.executable, str(SANDBOX), "start"], check=True, stdout=subprocess.DEVNULL)
    os.environ["PYWIKIBOT_DIR"] = str(PYWIKIBOT_DIR)
    return PYWIKIBOT_DIR


@pytest.fixture(scope="session")
def farm(sandbox: Path) -> Any:
    from bot.wiki import Farm

    return Farm()


class HumanEditor:
    """An ordinary account editing 'by hand', with its own HTTP session.

    Not pywikibot: pywikibot shares one cookie jar per host, so a second account in the same
    process would silently take over the bot's session (or the reverse).
    """

    def __init__(self, user: str, botpassword: str) -> None:
        self.user = user
        self.botpassword = botpassword
        self.sessions: dict[str, requests.Session] = {}

    def _session(self, dbname: str) -> tuple[requests.Session, str]:
        url = f"http://127.0.0.1:{PORTS[dbname]}/api.php"
        if dbname not in self.sessions:
            session = requests.Session()
            token = session.get(url, params={"action": "query", "meta": "tokens", "type": "login",
                                             "format": "json"}).json()["query"]["tokens"]["logintoken"]
            result = session.post(url, data={"action": "login", "lgname": f"{self.user}@sandbox",
                                             "lgpassword": self.botpassword, "lgtoken": token,
                                             "format": "json"}).json()
            assert result["login"]["result"] == "Success", result
            self.sessions[dbname] = session
        return self.sessions[dbname], url

    def edit(self, dbname: str, title: str, text: str, summary: str, base: Any = None) -> Any:
        from bot.models import Failed, Posted

        session, url = self._session(dbname)
        token = session.get(url, params={"action": "query", "meta": "tokens",
                                         "format": "json"}).json()["query"]["tokens"]["csrftoken"]
        data = {"action": "edit", "title": title, "text": text, "summary": summary, "token": token,
                "assertuser": self.user, "format": "json", "formatversion": "2"}
        if base is not None and base.timestamp:
            data["basetimestamp"] = base.timestamp
        result = session.post(url, data=data).json()
        if "error" in result:
            return Failed(title=title, wiki=dbname, error=result["error"]["info"],
                          code=result["error"]["code"])
        return Posted(title=title, wiki=dbname, revid=int(result["edit"].get("newrevid", 0)))


@pytest.fixture(scope="session")
def human(sandbox: Path) -> HumanEditor:
    """An ordinary human account ('Human Editor') that edits pages by hand."""
    creds = json.loads((sandbox.parent / "credentials.json").read_text())
    return HumanEditor("Human Editor", creds["Human Editor"]["botpassword"])


@pytest.fixture()
def prefix() -> Iterator[str]:
    """A fresh page prefix per test, so tests never see each other's pages."""
    yield f"Eventbot test/{uuid.uuid4().hex[:10]}"
