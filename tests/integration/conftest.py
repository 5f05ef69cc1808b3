"""Integration tests run against the real sandbox wiki farm on 127.0.0.1 (never a real wiki).

The farm is started (or reused, < 1 s) once per session. pywikibot is imported only after
PYWIKIBOT_DIR points at the farm's generated configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SANDBOX = REPO / "scripts" / "sandbox-wiki"
PYWIKIBOT_DIR = Path(os.environ.get("EVENTBOT_SANDBOX", REPO / ".sandbox")) / "pywikibot"


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


@pytest.fixture(scope="session")
def human(sandbox: Path) -> Any:
    """The farm as seen by an ordinary human account, to edit pages 'by hand'."""
    from bot.wiki import Farm

    return Farm(user="Human Editor")


@pytest.fixture()
def prefix() -> Iterator[str]:
    """A fresh page prefix per test, so tests never see each other's pages."""
    yield f"Eventbot test/{uuid.uuid4().hex[:10]}"
