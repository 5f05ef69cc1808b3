"""Wikis found through global accounts (CentralAuth): the sandbox cannot host CentralAuth, so
its two API answers are simulated in their real shape; everything else goes to the sandbox."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import responses
import yaml

from bot.config import load_event

REPO = Path(__file__).resolve().parents[2]
API = ["http://127.0.0.1:8101/api.php", "http://127.0.0.1:8102/api.php"]

# meta=globaluserinfo&guiprop=merged, formatversion=2, as CentralAuth answers it.
MERGED = {
    "Ravi Teja K": [
        {"wiki": "metawiki", "url": "https://meta.example", "timestamp": "2020-01-01T00:00:00Z",
         "method": "login", "editcount": 4, "registration": "2020-01-01T00:00:00Z"},
        {"wiki": "tewiki", "url": "https://te.example", "timestamp": "2019-05-01T00:00:00Z",
         "method": "primary", "editcount": 120, "registration": "2019-05-01T00:00:00Z"},
        {"wiki": "bnwiki", "url": "https://bn.example", "timestamp": "2021-01-01T00:00:00Z",
         "method": "login", "editcount": 0, "registration": "2021-01-01T00:00:00Z"},
    ],
    "Farhana Akter": [
        {"wiki": "metawiki", "url": "https://meta.example", "timestamp": "2020-01-01T00:00:00Z",
         "method": "login", "editcount": 3, "registration": "2020-01-01T00:00:00Z"},
        {"wiki": "enwiki", "url": "https://en.example", "timestamp": "2018-01-01T00:00:00Z",
         "method": "primary", "editcount": 900, "registration": "2018-01-01T00:00:00Z"},
    ],
}


def _params(request: requests.PreparedRequest) -> dict[str, str]:
    body = request.body or ""
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {**dict(parse_qsl(urlsplit(request.url or "").query)), **dict(parse_qsl(text))}


def _meta(params: dict[str, str]) -> list[str]:
    # pywikibot adds `userinfo` to every query's meta (to check it is still logged in).
    return params.get("meta", "").split("|")


def _simulated(params: dict[str, str]) -> bool:
    return "globaluserinfo" in _meta(params) or params.get("siprop") == "extensions"


def _answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    params = _params(request)
    userinfo = {"id": 3, "name": "EventBot"}
    if "globaluserinfo" in _meta(params):
        name = params["guiuser"]
        info: dict[str, Any] = ({"home": "metawiki", "id": 1000 + len(name), "name": name,
                                 "registration": "2018-01-01T00:00:00Z", "merged": MERGED[name]}
                                if name in MERGED else {"missing": True})
        body: dict[str, Any] = {"batchcomplete": True,
                                "query": {"globaluserinfo": info, "userinfo": userinfo}}
    else:
        body = {"batchcomplete": True, "query": {"extensions": [
            {"type": "specialpage", "name": "CentralAuth", "descriptionmsg": "centralauth-desc"},
            {"type": "parserhook", "name": "ParserFunctions"}], "userinfo": userinfo}}
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


def test_global_accounts_add_the_wikis_participants_edit(tmp_path: Path, farm: Any) -> None:
    from bot import collect, pipeline
    from bot.store import Store

    data = yaml.safe_load((REPO / "config/events/ttt-2026.yaml").read_text(encoding="utf-8"))

    data.pop("programme")  # relative to config/events; this copy lives elsewhere
    data["wikis"] = []  # only metawiki is named: tewiki must come from the global accounts
    data["campaigns"] = []
    path = tmp_path / "event.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    event = load_event(path)
    event = type(event)(**{**event.__dict__, "registration": event.registration[:1]})
    compiled, _ = pipeline.compile_event(event, farm)
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    now = datetime.fromisoformat("2027-02-15T00:00+05:30")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for url in API:
            rsps.add_passthru(url)
        for method in (responses.GET, responses.POST):
            for url in API:
                rsps.add_callback(method, url, callback=_answer,
                                  match=[lambda r: (_simulated(_params(r)), "not simulated")])
        accounts = collect.global_wikis(farm, store, event, compiled.participants, now)
        asked = [c for c in rsps.calls if "globaluserinfo" in _meta(_params(c.request))]
        again = collect.global_wikis(farm, store, event, compiled.participants, now)
        asked_again = [c for c in rsps.calls if "globaluserinfo" in _meta(_params(c.request))]

    # Wikis with edits only (not bnwiki: no edits there); enwiki is not in the sandbox farm, so
    # it is dropped rather than ever reaching a real Wikimedia wiki.
    assert accounts["Ravi Teja K"] == ["metawiki", "tewiki"]
    assert accounts["Farhana Akter"] == ["metawiki"]
    assert accounts["Sailaja Vemuri"] == []
    assert len(asked) == len([p for p in compiled.participants if p.active])  # one per person
    assert len(asked_again) == len(asked) and again == accounts  # then a week from the store
    plan = collect.plan_wikis(event, compiled.participants, accounts)
    assert "Ravi Teja K" in plan["tewiki"] and "Farhana Akter" not in plan.get("tewiki", [])


def test_a_farm_without_global_accounts_asks_nothing(tmp_path: Path, farm: Any) -> None:
    from bot import collect
    from bot.config import load_event as load
    from bot.store import Store

    event = load(REPO / "config/events/ttt-2026.yaml")
    before = farm.calls.copy()
    assert collect.global_wikis(farm, Store(f"sqlite:///{tmp_path / 's.sqlite'}"), event, [],
                                datetime.fromisoformat("2027-02-15T00:00+05:30")) == {}
    assert farm.calls["metawiki", "globaluserinfo"] == before["metawiki", "globaluserinfo"]
