"""Rules: the built-in sets validate, a rules file is checked field by field, times are UTC."""

import json

import pytest
from engine.common import EXIT_BAD_ARGS, Failure, ns_iso, parse_utc
from engine.rules import RULE_SETS, load_rules, rule_evidence, validate_rules


def test_every_built_in_rule_set_validates():
    for name in RULE_SETS:
        rules = load_rules(None, name)
        assert rules, name
        for rule in rules:
            assert rule_evidence(rule)["id"] == rule["id"]


def test_default_rule_is_channel_file_291_in_its_bad_window():
    (rule,) = load_rules(None, None)
    assert rule["path"] == "Windows/System32/drivers/CrowdStrike/C-00000291*.sys"
    assert ns_iso(rule["from"]) == "2024-07-19T04:09:00Z"
    assert ns_iso(rule["before"]) == "2024-07-19T05:27:00Z"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"id": "x", "path": "../etc/passwd", "sha256": ["a" * 64]}, "relative glob"),
        ({"id": "x", "path": "/Windows/x.sys", "sha256": ["a" * 64]}, "relative glob"),
        ({"id": "x", "path": "Windows/x.sys"}, "give a time window"),
        ({"id": "X", "path": "Windows/x.sys", "sha256": ["a" * 64]}, ".id"),
        ({"id": "x", "path": "Windows/x.sys", "sha256": ["nothex"]}, ".sha256"),
        ({"id": "x", "path": "Windows/x.sys", "modifiedFrom": "2024-07-19T05:00:00Z", "modifiedBefore": "2024-07-19T04:00:00Z"}, "before"),
        ({"id": "x", "path": "Windows/x.sys", "modifiedFrom": "2024-07-19T05:00:00"}, "with a zone"),
        ({"id": "x", "action": "disable-service", "service": "bad name"}, ".service"),
        ({"id": "x", "action": "safe-boot", "mode": "dsrepair"}, ".mode"),
        ({"id": "x", "action": "format-disk"}, ".action"),
        ({"id": "x", "path": "Windows/x.sys", "sha256": ["a" * 64], "extra": 1}, "unknown field"),
    ],
)
def test_a_bad_rule_is_refused_with_exit_2_naming_the_field(rule, message):
    with pytest.raises(Failure) as caught:
        validate_rules([rule], "test")
    assert caught.value.code == EXIT_BAD_ARGS
    assert message in caught.value.message


def test_an_empty_or_non_list_rules_document_is_refused():
    for doc in ([], {}, "x", None):
        with pytest.raises(Failure):
            validate_rules(doc, "test")


def test_a_rules_file_is_read_as_json(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{"id": "one", "path": "a/*.sys", "sha256": ["AB" * 32]}]}))
    (rule,) = load_rules(str(path))
    assert rule["sha256"] == ["ab" * 32]  # lower-cased
    assert rule["parts"] == ["a", "*.sys"]


def test_utc_times_keep_their_fraction_and_need_a_zone():
    assert parse_utc("2024-07-19T04:09:00.5Z", "t") == parse_utc("2024-07-19T04:09:00Z", "t") + 500_000_000
    assert ns_iso(parse_utc("2024-07-19T06:09:00+02:00", "t")) == "2024-07-19T04:09:00Z"
