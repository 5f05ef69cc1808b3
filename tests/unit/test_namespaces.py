"""Tests for bot.namespaces and its generated data (bot/data/namespaces.json)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.namespaces import (
    UserLinkNames,
    all_names,
    interwiki_target,
    language_of,
    name_key,
    names_for,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bot" / "data" / "namespaces.json"
GENERATOR = ROOT / "scripts" / "gen-namespaces"
MEDIAWIKI = Path(os.environ.get("MEDIAWIKI_DIR", "/usr/share/mediawiki"))
MESSAGES = MEDIAWIKI / "languages" / "messages"

needs_php = pytest.mark.skipif(
    shutil.which("php") is None or not (MESSAGES / "MessagesEn.php").is_file(),
    reason="needs php and a MediaWiki installation (set MEDIAWIKI_DIR)",
)


def keys(*names: str) -> set[str]:
    return {name_key(n) for n in names}


# --- name_key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("User_talk", "user talk"),
        ("  USER   talk ", "user talk"),
        ("user__talk", "user talk"),
        ("User\u00a0talk", "user talk"),
        ("వాడుకరి_చర్చ", "వాడుకరి చర్చ"),
        ("Участница", "участница"),
        ("\u200fUser\u200e", "user"),
        ("Special", "special"),
    ],
)
def test_name_key_folds_underscores_case_and_spaces(raw: str, expected: str) -> None:
    assert name_key(raw) == expected


def test_name_key_is_nfc() -> None:
    assert name_key("Bru\u0308ker") == name_key("Brüker")


# --- names per language --------------------------------------------------------------------


def test_telugu() -> None:
    names = names_for("tewiki")
    assert name_key("వాడుకరి") in names.user
    assert name_key("సభ్యుడు") in names.user  # old alias, T13615
    assert name_key("వాడుకరి_చర్చ") in names.user_talk
    assert name_key("ప్రత్యేక") in names.special
    assert name_key("చేర్పులు") in names.contributions


def test_bengali() -> None:
    names = names_for("bnwiki")
    assert name_key("ব্যবহারকারী") in names.user
    assert name_key("ব্যবহারকারী আলাপ") in names.user_talk
    assert name_key("বিশেষ") in names.special
    assert keys("অবদান", "অবদানসমূহ") <= names.contributions


def test_odia() -> None:
    names = names_for("orwiki")
    assert name_key("ବ୍ୟବହାରକାରୀ") in names.user
    assert name_key("ବ୍ୟବହାରକାରୀଙ୍କ ଆଲୋଚନା") in names.user_talk
    assert name_key("ବିଶେଷ") in names.special
    assert name_key("ଅବଦାନ") in names.contributions


def test_tajik_inherits_from_tg_cyrl() -> None:
    # MessagesTg.php only says $fallback = 'tg-cyrl'; the names come from the fallback.
    names = names_for("tgwiki")
    assert name_key("Корбар") in names.user
    assert name_key("Баҳси корбар") in names.user_talk
    assert name_key("Вижа") in names.special


def test_russian_gender_variants() -> None:
    names = names_for("ruwiki")
    assert keys("Участник", "Участница") <= names.user
    assert keys("Обсуждение участника", "Обсуждение участницы") <= names.user_talk
    assert name_key("Служебная") in names.special
    assert name_key("Вклад") in names.contributions


def test_gender_aliases_follow_fallback() -> None:
    # A language that does not set $namespaceGenderAliases inherits the first fallback's
    # (koi -> ru); one that sets it, even to [], does not (ab -> ru).
    assert name_key("Участница") in names_for("koiwiki").user
    assert name_key("Участница") not in names_for("abwiki").user


def test_hindi_contributions_alias() -> None:
    names = names_for("hiwiki")
    assert name_key("सदस्य") in names.user
    assert name_key("विशेष") in names.special
    assert name_key("योगदान") in names.contributions


def test_serbian_has_both_scripts() -> None:
    # LanguageConverter variants: sr-ec (Cyrillic) and sr-el (Latin) names are both valid.
    names = names_for("srwiki")
    assert keys("Корисник", "Korisnik") <= names.user


@pytest.mark.parametrize(
    "dbname",
    ["enwiki", "tewiki", "bnwiki", "orwiki", "tgwiki", "ruwiki", "hiwiki", "zhwiki",
     "metawiki", "commonswiki", "tewiktionary", "no_such_wiki", ""],
)
def test_english_canonical_names_everywhere(dbname: str) -> None:
    names = names_for(dbname)
    assert name_key("User") in names.user
    assert name_key("User talk") in names.user_talk
    assert name_key("Special") in names.special
    assert keys("Contributions", "Contribs") <= names.contributions


def test_unknown_wiki_is_english() -> None:
    assert language_of("no_such_wiki") == "en"
    assert names_for("no_such_wiki") == names_for("enwiki")
    assert names_for("no_such_wiki").user == keys("User")


def test_local_names_do_not_leak_into_other_languages() -> None:
    assert name_key("వాడుకరి") not in names_for("bnwiki").user
    assert name_key("Участница") not in names_for("tewiki").user


def test_all_names_is_the_union() -> None:
    everything = all_names()
    assert isinstance(everything, UserLinkNames)
    for dbname in ("tewiki", "bnwiki", "orwiki", "tgwiki", "ruwiki", "hiwiki", "srwiki"):
        names = names_for(dbname)
        assert names.user <= everything.user
        assert names.user_talk <= everything.user_talk
        assert names.special <= everything.special
        assert names.contributions <= everything.contributions
    assert not everything.user & keys("Template", "Talk")


def test_names_are_keys() -> None:
    for group in (all_names().user, all_names().special, all_names().contributions):
        assert all(name == name_key(name) for name in group)


# --- language_of ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dbname", "code"),
    [
        ("tewiki", "te"),
        ("bnwiki", "bn"),
        ("tgwiki", "tg"),
        ("orwiki", "or"),
        ("metawiki", "en"),
        ("commonswiki", "en"),
        ("mediawikiwiki", "en"),
        ("wikidatawiki", "en"),
        ("specieswiki", "en"),
        ("enwiki", "en"),
        ("simplewiki", "en"),
        ("be_x_oldwiki", "be-tarask"),
        ("zh_min_nanwiki", "nan"),
        ("zh_yuewiki", "yue"),
        ("zh_classicalwiki", "lzh"),
        ("alswiki", "gsw"),
        ("nowiki", "nb"),
        ("tewiktionary", "te"),
        ("bnwikisource", "bn"),
        ("hiwikibooks", "hi"),
        ("ruwikinews", "ru"),
        ("tewikiquote", "te"),
        ("hiwikiversity", "hi"),
        ("bnwikivoyage", "bn"),
        ("TEWIKI", "te"),
        ("", "en"),
        ("wiki", "en"),
        ("nonsense", "en"),
    ],
)
def test_language_of(dbname: str, code: str) -> None:
    assert language_of(dbname) == code


# --- interwiki_target ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefixes", "target"),
    [
        (["te"], "tewiki"),
        (["w", "bn"], "bnwiki"),
        (["wikipedia", "tg"], "tgwiki"),
        (["m"], "metawiki"),
        (["meta"], "metawiki"),
        (["c"], "commonswiki"),
        (["commons"], "commonswiki"),
        (["en"], "enwiki"),
        (["d"], "wikidatawiki"),
        (["wikidata"], "wikidatawiki"),
        (["mw"], "mediawikiwiki"),
        (["wikt", "te"], "tewiktionary"),
        (["s", "bn"], "bnwikisource"),
        (["w"], "enwiki"),
        (["W", "BN"], "bnwiki"),
        ([" w ", "bn"], "bnwiki"),
        (["", "te"], "tewiki"),
        (["simple"], "simplewiki"),
        (["be-x-old"], "be_x_oldwiki"),
        (["be-tarask"], "be_x_oldwiki"),
        (["zh-min-nan"], "zh_min_nanwiki"),
        (["nan"], "zh_min_nanwiki"),
        (["zh-yue"], "zh_yuewiki"),
        (["nb"], "nowiki"),
        (["wikt"], "enwiktionary"),
        (["species"], "specieswiki"),
    ],
)
def test_interwiki_target_from_meta(prefixes: list[str], target: str) -> None:
    assert interwiki_target(prefixes, "metawiki") == target


@pytest.mark.parametrize(
    ("prefixes", "target"),
    [
        (["en"], "enwiki"),
        (["bn"], "bnwiki"),
        (["te"], "tewiki"),
        (["wikt"], "tewiktionary"),
        (["s"], "tewikisource"),
        (["wikt", "en"], "enwiktionary"),
        # Wikimedia's interwiki map: w: on a Wikipedia is the English Wikipedia.
        (["w"], "enwiki"),
        (["w", "te"], "tewiki"),
        (["m"], "metawiki"),
        (["c"], "commonswiki"),
    ],
)
def test_interwiki_target_from_tewiki(prefixes: list[str], target: str) -> None:
    assert interwiki_target(prefixes, "tewiki") == target


def test_interwiki_target_from_other_projects() -> None:
    assert interwiki_target(["w"], "tewiktionary") == "tewiki"
    assert interwiki_target(["wikt"], "tewiktionary") == "enwiktionary"
    assert interwiki_target(["bn"], "tewiktionary") == "bnwiktionary"
    assert interwiki_target(["en"], "commonswiki") == "enwiki"
    assert interwiki_target(["wikt"], "zh_min_nanwiki") == "zh_min_nanwiktionary"


def test_interwiki_target_swedish_saint() -> None:
    # svwiki writes "S:t" for saint, so Wikisource is "src:" there.
    assert interwiki_target(["s"], "svwiki") is None
    assert interwiki_target(["src"], "svwiki") == "svwikisource"


@pytest.mark.parametrize(
    "prefixes",
    [[], [""], ["User"], ["Template"], ["Special"], ["వాడుకరి"], ["w", "User"],
     ["zh-hans"], ["de-formal"], ["wikipedia"]],
)
def test_not_interwiki(prefixes: list[str]) -> None:
    # "wikipedia" on a Wikipedia is the project namespace, not the interwiki prefix.
    assert interwiki_target(prefixes, "tewiki") is None


# --- generated data ------------------------------------------------------------------------


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def test_json_shape_and_size() -> None:
    raw = DATA.read_bytes()
    assert len(raw) < 300_000
    assert "\\u" not in raw.decode("utf-8")  # UTF-8, not escaped
    data = load()
    assert data["_meta"]["generated_by"].startswith("scripts/gen-namespaces")
    assert data["_meta"]["mediawiki_version"]
    assert data["canonical"] == {
        "user": ["User"], "user_talk": ["User talk"], "special": ["Special"],
        "contributions": ["Contributions"],
    }
    languages = data["languages"]
    assert len(languages) > 300
    assert list(languages) == sorted(languages)
    for code, entry in languages.items():
        assert set(entry) <= {"fallback", "variants", "user", "user_talk", "special",
                              "contributions"}, code
        assert entry["user"] and entry["user_talk"] and entry["special"], code
        assert code == "en" or entry["fallback"][-1] == "en", code
        for field in ("user", "user_talk", "special", "contributions"):
            assert all("_" not in name for name in entry[field]), (code, field)


def test_generator_file_names() -> None:
    assert os.access(GENERATOR, os.X_OK)
    assert GENERATOR.read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n")
    languages = load()["languages"]
    assert {"zh-hans", "be-tarask", "tg-cyrl", "sr-ec"} <= set(languages)


PHP_DUMP = r"""<?php
foreach ( [ 'NS_MEDIA' => -2, 'NS_SPECIAL' => -1, 'NS_MAIN' => 0, 'NS_TALK' => 1,
	'NS_USER' => 2, 'NS_USER_TALK' => 3, 'NS_PROJECT' => 4, 'NS_PROJECT_TALK' => 5,
	'NS_FILE' => 6, 'NS_FILE_TALK' => 7, 'NS_IMAGE' => 6, 'NS_IMAGE_TALK' => 7,
	'NS_MEDIAWIKI' => 8, 'NS_MEDIAWIKI_TALK' => 9, 'NS_TEMPLATE' => 10,
	'NS_TEMPLATE_TALK' => 11, 'NS_HELP' => 12, 'NS_HELP_TALK' => 13,
	'NS_CATEGORY' => 14, 'NS_CATEGORY_TALK' => 15 ] as $k => $v ) { define( $k, $v ); }
$out = [];
foreach ( glob( $argv[1] . '/Messages*.php' ) as $file ) {
	$namespaceNames = $namespaceAliases = $namespaceGenderAliases = $specialPageAliases = [];
	include $file;
	$names = [ 'user' => [], 'user_talk' => [], 'special' => [] ];
	$field = [ 2 => 'user', 3 => 'user_talk', -1 => 'special' ];
	foreach ( $field as $ns => $f ) {
		if ( isset( $namespaceNames[$ns] ) ) { $names[$f][] = $namespaceNames[$ns]; }
		foreach ( $namespaceGenderAliases[$ns] ?? [] as $form ) { $names[$f][] = $form; }
	}
	foreach ( $namespaceAliases as $alias => $ns ) {
		if ( isset( $field[$ns] ) ) { $names[$field[$ns]][] = (string)$alias; }
	}
	$names['contributions'] = $specialPageAliases['Contributions'] ?? [];
	$code = strtolower( str_replace( '_', '-', substr( basename( $file, '.php' ), 8 ) ) );
	$out[$code] = $names;
}
echo json_encode( $out, JSON_UNESCAPED_UNICODE );
"""


@needs_php
def test_every_language_file_name_is_in_the_json(tmp_path: Path) -> None:
    """Independent check: each file's own names appear in that language's entry."""
    script = tmp_path / "dump.php"
    script.write_text(PHP_DUMP, encoding="utf-8")
    proc = subprocess.run(
        ["php", str(script), str(MESSAGES)], capture_output=True, text=True, check=True
    )
    own: dict[str, dict[str, list[str]]] = json.loads(proc.stdout)
    languages = load()["languages"]
    assert set(own) == set(languages)
    everything = all_names()
    for code, fields in own.items():
        theirs = {f: {name_key(n) for n in languages[code][f]} for f in fields}
        for field, names in fields.items():
            assert {name_key(n) for n in names} <= theirs[field], (code, field)
            assert {name_key(n) for n in names} <= getattr(everything, field), (code, field)
    assert own["te"]["user"] == ["వాడుకరి", "సభ్యులు", "సభ్యుడు"]
    assert "Участница" in own["ru"]["user"]


@needs_php
def test_generated_json_is_up_to_date() -> None:
    """Re-running the generator on the same MediaWiki reproduces the committed file."""
    data = load()
    defines = (MEDIAWIKI / "includes" / "Defines.php").read_text(encoding="utf-8")
    if f"'{data['_meta']['mediawiki_version']}'" not in defines:
        pytest.skip("installed MediaWiki is not the version the JSON was generated from")
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--mediawiki", str(MEDIAWIKI), "--output", "-"],
        capture_output=True, text=True, check=True,
    )
    fresh = json.loads(proc.stdout)
    fresh["_meta"]["generated_by"] = data["_meta"]["generated_by"]
    assert fresh == data
