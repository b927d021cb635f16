"""Framework definitions: the shipped ones are sound, malformed ones are named precisely."""

from __future__ import annotations

import pytest

from cmrg_excel.core.framework import FrameworkError, builtin_paths, find, from_dict, load

VALID = '''
id = "tiny"
version = "1.0"
title = "Tiny"
[scale]
not_applicable = "Not applicable"
[[scale.levels]]
score = 0
label = "0 No"
descriptor = "none"
[[scale.levels]]
score = 1
label = "1 Yes"
descriptor = "some"
[[areas]]
number = 1
name = "One"
[[areas.activities]]
ref = "1.1"
text = "Something is done."
'''


def write(tmp_path, text):
    path = tmp_path / "tiny.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_frameworks_cover_the_nao_areas():
    eight = find("nao-cm-areas-1-8")
    eleven = find("nao-cm-11-areas")
    assert [a.number for a in eight.areas] == list(range(1, 9))
    assert [a.number for a in eleven.areas] == list(range(1, 12))
    assert [a.name for a in eight.areas][:3] == ["Planning and governance", "People", "Administration"]
    assert len(eight.activities) == 70 and len(eleven.activities) == 89
    assert eight.scale.labels == ["0 Not in place", "1 Developing", "2 Good", "3 Better", "4 Best", "Not applicable"]
    inferred = {a.ref for a in eight.activities if a.source == "inferred"}
    assert {"4.3", "4.5", "6.8", "7.9", "7.10"} <= inferred
    # areas 1-8 are word for word the same in both definitions
    assert [(a.ref, a.text) for a in eight.activities] == [(a.ref, a.text) for a in eleven.activities[:70]]
    assert len(builtin_paths()) == 2


def test_content_hash_is_stable_and_changes_with_a_statement(tmp_path):
    a = load(write(tmp_path, VALID))
    b = load(write(tmp_path, VALID))
    c = load(write(tmp_path, VALID.replace("Something is done.", "Something else is done.")))
    assert a.content_hash == b.content_hash != c.content_hash
    assert from_dict(a.to_dict()).content_hash == a.content_hash


def test_scale_normalises_typed_ratings_like_excel():
    scale = find("nao-cm-areas-1-8").scale
    assert scale.normalise("  2   good ") == "2 Good"
    assert scale.normalise("NOT APPLICABLE") == "Not applicable"
    assert scale.normalise("Good") is None and scale.normalise(2) is None


@pytest.mark.parametrize(
    "change, message",
    [
        (('id = "tiny"', 'id = "Tiny Framework"'), "key 'id': 'Tiny Framework' must be lower-case"),
        (('title = "Tiny"\n', ""), "key 'title': is required but missing"),
        (('ref = "1.1"', 'ref = "2.1"'), "key 'areas[0].activities[0].ref': '2.1' must look like 1.N"),
        (('text = "Something is done."', "text = 3"), "key 'areas[0].activities[0].text': must be text"),
        (('name = "One"', 'name = "One"\ncolour = "red"'), "key 'areas[0].colour': unknown key"),
        (('score = 1', 'score = 0'), "key 'scale.levels': scores must be distinct and ascending"),
        (('label = "1 Yes"', 'label = "1, Yes"'), "key 'scale': labels may not contain commas"),
        (('version = "1.0"', "version = 1.0"), 'key \'version\': must be text such as "1.0"'),
    ],
)
def test_malformed_definition_names_file_and_key(tmp_path, change, message):
    path = write(tmp_path, VALID.replace(*change))
    with pytest.raises(FrameworkError) as err:
        load(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)


def test_broken_toml_and_missing_framework(tmp_path):
    with pytest.raises(FrameworkError, match="not valid TOML"):
        load(write(tmp_path, "id = "))
    with pytest.raises(FrameworkError, match="framework 'nope' not found; available: .*nao-cm-areas-1-8"):
        find("nope")
