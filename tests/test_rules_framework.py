"""Every check cmrg_excel.core.framework makes on a definition, on plain data: the exact error, naming the key.

(tests/test_framework.py proves the shipped definitions and the TOML files end to end.)
"""

from __future__ import annotations

import copy

import pytest

from cmrg_excel.core import framework as F
from cmrg_excel.core.framework import FrameworkError, parse


def definition(**top) -> dict:
    """A small valid definition as parsed TOML; keyword arguments replace top-level keys."""
    data = {
        "id": "tiny", "version": "1.0", "title": "Tiny",
        "scale": {"levels": [{"score": 0, "label": "0 No", "descriptor": "none"},
                             {"score": 1, "label": "1 Yes", "descriptor": "some"}],
                  "not_applicable": "Not applicable"},
        "areas": [{"number": 1, "name": "One", "activities": [{"ref": "1.1", "text": "Something is done."}]},
                  {"number": 2, "name": "Two", "activities": [{"ref": "2.1", "text": "Another thing."},
                                                               {"ref": "2.2", "text": "A third."}]}],
    }
    data.update(top)
    return data


def error(data: dict) -> str:
    with pytest.raises(FrameworkError) as err:
        parse(data, "tiny.toml")
    return str(err.value)


def changed(path: str, value) -> dict:
    """The definition with one value replaced (``path`` like "scale.levels.0.label"; value None deletes it)."""
    data = copy.deepcopy(definition())
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is None:
        del node[int(last) if isinstance(node, list) else last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def test_a_valid_definition_is_read_with_its_defaults():
    fw = parse(definition(), "tiny.toml")
    assert (fw.id, fw.version, fw.title, fw.description, fw.based_on, fw.path) == ("tiny", "1.0", "Tiny", "", "",
                                                                                   "tiny.toml")
    assert fw.scale.labels == ["0 No", "1 Yes", "Not applicable"] and fw.scale.max_score == 1
    assert fw.scale.not_applicable_descriptor == "The activity does not apply to this contract; give the reason."
    act = fw.activity("2.2")
    assert (act.ref, act.text, act.area, act.guidance, act.source) == ("2.2", "A third.", 2, "", "nao")
    area = fw.area(2)
    assert (area.number, area.name, area.block, area.purpose) == (2, "Two", "", "")
    assert [a.ref for a in fw.activities] == ["1.1", "2.1", "2.2"] and fw.upgrades == {}
    assert fw.label == "tiny v1.0" and len(fw.content_hash) == 64


def test_text_is_tidied_and_optional_parts_are_kept():
    data = definition(version=" 2.0 ", title="  A   tiny\nframework ", description="About it.", based_on="NAO")
    data["areas"][0].update(block="Block A", purpose="Why")
    data["areas"][0]["activities"][0].update(guidance="Look here.", source="inferred")
    data["scale"]["not_applicable_descriptor"] = "Does not apply."
    fw = parse(data)
    assert (fw.version, fw.title, fw.description, fw.based_on) == ("2.0", "A tiny framework", "About it.", "NAO")
    assert (fw.areas[0].block, fw.areas[0].purpose) == ("Block A", "Why")
    assert (fw.activities[0].guidance, fw.activities[0].source) == ("Look here.", "inferred")
    assert fw.scale.not_applicable_descriptor == "Does not apply." and fw.path == "<framework>"


def test_looking_up_what_is_not_there():
    fw = parse(definition())
    with pytest.raises(KeyError):
        fw.activity("9.9")
    with pytest.raises(KeyError):
        fw.area(9)
    with pytest.raises(KeyError):
        fw.scale.score_of("Maybe")
    with pytest.raises(KeyError):
        fw.scale.label_of(7)
    assert fw.scale.score_of("1 Yes") == 1 and fw.scale.score_of("Not applicable") is None
    assert fw.scale.label_of(0) == "0 No" and fw.scale.label_of(1) == "1 Yes"
    assert fw.scale.normalise(" 1  YES ") == "1 Yes" and fw.scale.normalise("1 Ye") is None
    assert fw.scale.normalise(None) is None and fw.scale.normalise("not applicable") == "Not applicable"


@pytest.mark.parametrize("data, message", [
    ([], "tiny.toml: key '': must be a table"),
    (definition(colour="red"), "tiny.toml: key 'colour': unknown key (check the spelling)"),
    ({k: v for k, v in definition().items() if k != "areas"}, "tiny.toml: key 'areas': is required but missing"),
    (changed("id", "Tiny"), "tiny.toml: key 'id': 'Tiny' must be lower-case letters, digits and hyphens"),
    (changed("id", "t"), "tiny.toml: key 'id': 't' must be lower-case letters, digits and hyphens"),
    (changed("id", "-tiny"), "tiny.toml: key 'id': '-tiny' must be lower-case letters, digits and hyphens"),
    (changed("id", "a" * 64), "tiny.toml: key 'id': is 64 characters long; keep it to 63"),
    (changed("id", 7), "tiny.toml: key 'id': must be text, found int"),
    (changed("id", "   "), "tiny.toml: key 'id': must not be empty"),
    (changed("version", 1.0), "tiny.toml: key 'version': must be text such as \"1.0\" (in quotes)"),
    (changed("version", " "), "tiny.toml: key 'version': must be text such as \"1.0\" (in quotes)"),
    (changed("title", "x" * 201), "tiny.toml: key 'title': is 201 characters long; keep it to 200"),
    (changed("scale", "none"), "tiny.toml: key 'scale': must be a table: write [scale] on a line of its own, with its "
                               "keys on the lines below it (found 'none')"),
    (changed("scale.colour", 1), "tiny.toml: key 'scale.colour': unknown key (check the spelling)"),
    (changed("scale.not_applicable", None), "tiny.toml: key 'scale.not_applicable': is required but missing"),
    (changed("scale.levels", [{"score": 0, "label": "0 No", "descriptor": "none"}]),
     "tiny.toml: key 'scale.levels': needs at least two [[scale.levels]] entries"),
    (changed("scale.levels", "0 No"), "tiny.toml: key 'scale.levels': needs at least two [[scale.levels]] entries"),
    (changed("scale.levels.1.descriptor", None), "tiny.toml: key 'scale.levels[1].descriptor': is required but missing"),
    (changed("scale.levels.1.score", "1"), "tiny.toml: key 'scale.levels[1].score': must be a whole number, found '1'"),
    (changed("scale.levels.1.score", True), "tiny.toml: key 'scale.levels[1].score': must be a whole number, found True"),
    (changed("scale.levels.1.score", 0), "tiny.toml: key 'scale.levels': scores must be distinct and ascending, found [0, 0]"),
    (changed("scale.levels.0.score", 2), "tiny.toml: key 'scale.levels': scores must be distinct and ascending, found [2, 1]"),
    (changed("scale.levels.1.label", "x" * 41), "tiny.toml: key 'scale.levels[1].label': is 41 characters long; keep it to 40"),
    (changed("scale.levels.1.descriptor", "x" * 201),
     "tiny.toml: key 'scale.levels[1].descriptor': is 201 characters long; keep it to 200"),
    (changed("scale.not_applicable", "0 NO"), "tiny.toml: key 'scale': labels must differ from each other (ignoring case)"),
    (changed("scale.levels.1.label", "1, Yes"),
     "tiny.toml: key 'scale': labels may not contain commas or double quotes (they feed a dropdown list)"),
    (changed("scale.not_applicable", 'N"A'),
     "tiny.toml: key 'scale': labels may not contain commas or double quotes (they feed a dropdown list)"),
    (changed("scale.not_applicable_descriptor", "x" * 201),
     "tiny.toml: key 'scale.not_applicable_descriptor': is 201 characters long; keep it to 200"),
    (changed("areas", []), "tiny.toml: key 'areas': needs at least one [[areas]] entry"),
    (changed("areas", {"number": 1}), "tiny.toml: key 'areas': needs at least one [[areas]] entry"),
    (changed("areas.1.number", 1), "tiny.toml: key 'areas[1].number': areas must be numbered in ascending order"),
    (changed("areas.1.number", 0), "tiny.toml: key 'areas[1].number': areas must be numbered in ascending order"),
    (changed("areas.0.activities", []), "tiny.toml: key 'areas[0].activities': needs at least one [[areas.activities]] entry"),
    (changed("areas.0.activities", "1.1"),
     "tiny.toml: key 'areas[0].activities': needs at least one [[areas.activities]] entry"),
    (changed("areas.0.name", None), "tiny.toml: key 'areas[0].name': is required but missing"),
    (changed("areas.0.name", "x" * 81), "tiny.toml: key 'areas[0].name': is 81 characters long; keep it to 80"),
    (changed("areas.0.block", "x" * 81), "tiny.toml: key 'areas[0].block': is 81 characters long; keep it to 80"),
    (changed("areas.0.purpose", "x" * 301), "tiny.toml: key 'areas[0].purpose': is 301 characters long; keep it to 300"),
    (changed("areas.0.activities.0.text", None), "tiny.toml: key 'areas[0].activities[0].text': is required but missing"),
    (changed("areas.0.activities.0.text", "x" * 401),
     "tiny.toml: key 'areas[0].activities[0].text': is 401 characters long; keep it to 400"),
    (changed("areas.0.activities.0.guidance", "x" * 301),
     "tiny.toml: key 'areas[0].activities[0].guidance': is 301 characters long; keep it to 300"),
    (changed("areas.0.activities.0.ref", "1.1.1"),
     "tiny.toml: key 'areas[0].activities[0].ref': '1.1.1' must look like 1.N (area number, dot, activity number)"),
    (changed("areas.0.activities.0.ref", "11.1"),
     "tiny.toml: key 'areas[0].activities[0].ref': '11.1' must look like 1.N (area number, dot, activity number)"),
    (changed("areas.0.activities.0.ref", "x" * 11),
     "tiny.toml: key 'areas[0].activities[0].ref': is 11 characters long; keep it to 10"),
    (changed("areas.1.activities.1.ref", "2.1"), "tiny.toml: key 'areas[1].activities[1].ref': '2.1' is used twice"),
    (changed("areas.0.activities.0.source", "web"),
     "tiny.toml: key 'areas[0].activities[0].source': must be one of ['inferred', 'local', 'nao'], found 'web'"),
    (changed("description", "x" * 1001), "tiny.toml: key 'description': is 1001 characters long; keep it to 1000"),
    (changed("based_on", "x" * 301), "tiny.toml: key 'based_on': is 301 characters long; keep it to 300"),
    (definition(upgrades=[{"from_version": "0.9"}]), "tiny.toml: key 'upgrades[0].map': is required but missing"),
    (definition(upgrades=[{"from_version": "0.9", "map": "1.1"}]),
     "tiny.toml: key 'upgrades[0].map': must be a table of old reference = new reference"),
    (definition(upgrades=[{"from_version": "0.9", "map": {"1.5": "3.1"}}]),
     "tiny.toml: key 'upgrades[0].map.1.5': '3.1' is not an activity of this version"),
    (definition(upgrades=[{"from_version": "0.9", "map": {"1.5": 2}}]),
     "tiny.toml: key 'upgrades[0].map.1.5': 2 is not an activity of this version"),
])
def test_a_malformed_definition_is_named_precisely(data, message):
    assert error(data) == message


def test_limits_are_inclusive():
    data = definition(id="a" * 63, title="x" * 200, description="x" * 1000, based_on="x" * 300)
    data["scale"]["levels"][1].update(label="x" * 40, descriptor="x" * 200)
    data["areas"][0].update(name="x" * 80, block="x" * 80, purpose="x" * 300)
    data["areas"][0]["activities"][0].update(text="x" * 400, guidance="x" * 300)
    assert parse(data).scale.levels[1].label == "x" * 40
    ok = definition(id="ab")  # two characters is the shortest id
    assert parse(ok).id == "ab"


def test_all_labels_must_fit_a_dropdown_list():
    def with_labels(n: int, length: int) -> dict:
        levels = [{"score": i, "label": f"{i}" + "x" * (length - len(str(i))), "descriptor": "d"} for i in range(n)]
        return changed("scale.levels", levels)

    # 6 labels of 40 + "Not applicable" (14) + 6 commas = 260 > 255; 6 of 39 = 254 fits
    assert error(with_labels(6, 40)) == (
        "tiny.toml: key 'scale': all labels together must fit Excel's 255-character dropdown limit")
    assert len(parse(with_labels(6, 39)).scale.labels) == 7


def test_upgrades_are_kept_by_version():
    data = definition(upgrades=[{"from_version": " 0.9 ", "map": {"1.5": "2.2", "1.6": ""}}])
    assert parse(data).upgrades == {"0.9": {"1.5": "2.2", "1.6": ""}}
    # A version written as a number would lose its trailing zeros (1.10 is 1.1): it must be text, like version.
    data = definition(upgrades=[{"from_version": 1.10, "map": {}}])
    assert error(data) == ("tiny.toml: key 'upgrades[0].from_version': must be the earlier version as text in quotes, "
                           'e.g. "1.0" (found 1.1)')


def test_the_content_hash_covers_what_a_rating_depends_on_only():
    base = parse(definition())
    same = {"description": "Other words.", "based_on": "Something"}
    assert parse(definition(**same)).content_hash == base.content_hash
    extra = definition()
    extra["areas"][0]["activities"][0]["guidance"] = "New guidance"
    extra["areas"][0]["purpose"] = "New purpose"
    extra["scale"]["not_applicable_descriptor"] = "Other"
    extra["upgrades"] = [{"from_version": "0.9", "map": {}}]
    assert parse(extra).content_hash == base.content_hash
    for path, value in [("title", "Other"), ("version", "1.1"), ("id", "other"), ("scale.levels.1.descriptor", "x"),
                        ("scale.not_applicable", "N/A"), ("areas.0.name", "Uno"),
                        ("areas.0.activities.0.text", "Something else.")]:
        assert parse(changed(path, value)).content_hash != base.content_hash, path
    assert F.content_hash(base) == base.content_hash


def test_to_dict_and_back_is_the_same_framework():
    data = definition(upgrades=[{"from_version": "0.9", "map": {"1.5": "2.2"}}])
    fw = parse(data)
    d = fw.to_dict()
    assert d == {
        "id": "tiny", "version": "1.0", "title": "Tiny",
        "scale": {"levels": [[0, "0 No", "none"], [1, "1 Yes", "some"]], "not_applicable": "Not applicable"},
        "areas": [{"number": 1, "name": "One", "activities": [["1.1", "Something is done."]]},
                  {"number": 2, "name": "Two", "activities": [["2.1", "Another thing."], ["2.2", "A third."]]}],
        "upgrades": {"0.9": {"1.5": "2.2"}},
    }
    back = F.from_dict(d)
    assert back.content_hash == fw.content_hash and back.upgrades == fw.upgrades
    assert back.path == "stored definition tiny v1.0"
    assert F.from_dict({k: v for k, v in d.items() if k != "upgrades"}).upgrades == {}


def test_the_stored_definition_keeps_the_words_owners_read():
    """What the register stores with an issue rebuilds the framework the workbook showed: the
    examples of evidence, Not applicable's descriptor, area blocks and purposes, questions."""
    from dataclasses import replace

    for fw in (F.load(p) for p in F.builtin_paths()):
        back = F.from_dict(fw.to_dict())
        assert replace(back, path=fw.path) == fw
        assert all(a.guidance for a in back.activities)
    data = definition(description="Small", scale={**definition()["scale"], "not_applicable_descriptor": "Skip it."})
    data["areas"][0].update(block="Plan", purpose="Why one")
    data["areas"][0]["activities"][0].update(guidance="A plan", source="local", questions=["Who?"])
    fw = parse(data)
    back = F.from_dict(fw.to_dict())
    assert replace(back, path=fw.path) == fw
    assert back.activity("1.1").questions == ("Who?",) and back.scale.not_applicable_descriptor == "Skip it."


def test_find_prefers_a_toml_path_then_workspace_folders_then_the_builtin(tmp_path):
    local = tmp_path / "frameworks"
    local.mkdir()
    text = (F.builtin_paths()[0]).read_text(encoding="utf-8")
    (local / "nao-cm-11-areas.toml").write_text(text.replace('title = "', 'title = "Local ', 1), encoding="utf-8")
    assert F.find("nao-cm-11-areas", [local]).title.startswith("Local ")
    assert not F.find("nao-cm-11-areas").title.startswith("Local ")
    assert F.find("nao-cm-11-areas", [tmp_path / "missing"]).id == "nao-cm-11-areas"
    direct = F.find(str(local / "nao-cm-11-areas.toml"))
    assert direct.title.startswith("Local ") and direct.path == str(local / "nao-cm-11-areas.toml")
    with pytest.raises(FrameworkError) as err:
        F.find("nope", [local])
    assert str(err.value) == "framework 'nope' not found; available: nao-cm-11-areas, nao-cm-areas-1-8"
    with pytest.raises(FrameworkError) as err:
        F.load(tmp_path / "gone.toml")
    assert str(err.value) == f"{tmp_path / 'gone.toml'}: framework file not found"


# --- badly edited files (issue 17.8): one line naming the file, the key and the fix --------------


@pytest.mark.parametrize("from_version, words", [
    ({"a": 1}, ["upgrades[0].from_version", "text", '"1.0"']),
    ([1, 2], ["upgrades[0].from_version"]),
    ("", ["upgrades[0].from_version"]),
])
def test_an_upgrade_from_version_must_be_a_version_in_quotes(from_version, words):
    message = error(definition(version="2.0", upgrades=[{"from_version": from_version, "map": {"1.1": "1.1"}}]))
    assert "\n" not in message and message.startswith("tiny.toml: ")
    for w in words:
        assert w in message, (w, message)


def test_a_table_written_as_a_list_of_tables_says_so():
    data = definition()
    data["scale"] = [data["scale"]]  # [[scale]] where [scale] belongs
    message = error(data)
    assert "key 'scale'" in message and "[[scale]]" in message and "[scale]" in message


def test_a_table_written_as_a_value_says_so():
    message = error(definition(scale="0 to 4"))
    assert "key 'scale'" in message and "a table" in message and "[scale]" in message


def test_a_framework_file_saved_by_notepad_loads_or_names_the_fix(tmp_path):
    text = next(p for p in F.builtin_paths() if p.stem == F.DEFAULT_FRAMEWORK).read_text(encoding="utf-8")
    for data in (b"\xef\xbb\xbf" + text.encode("utf-8"), text.encode("utf-16")):
        path = tmp_path / "mine.toml"
        path.write_bytes(data)
        assert F.load(path).content_hash == F.find(F.DEFAULT_FRAMEWORK).content_hash
    path.write_bytes(text.encode("utf-16-le"))
    with pytest.raises(FrameworkError, match=r"mine.toml: .*UTF-16.*save it as UTF-8") as err:
        F.load(path)
    assert "\n" not in str(err.value)
