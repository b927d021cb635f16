"""The rule of cmrg_excel.intake.upgrade on plain frameworks: which old answers go where, and what the owner is told.

(tests/test_corrections.py proves the same end to end: a return on an older version ingested,
mapped or rejected with its corrections workbook on the current version.)
"""

from __future__ import annotations

import pytest

from cmrg_excel.intake import upgrade
from cmrg_excel.core.framework import from_dict

SCALE = {"levels": [[0, "0 No", "none"], [1, "1 Yes", "some"]], "not_applicable": "Not applicable"}


def fw(version: str, acts: dict[int, list[str]], upgrades: dict | None = None, *, fw_id: str = "local",
       texts: dict[str, str] | None = None):
    """A framework whose activities are the refs given (text "Activity <ref>." unless ``texts`` says)."""
    texts = texts or {}
    return from_dict({
        "id": fw_id, "version": version, "title": f"Local v{version}", "scale": SCALE,
        "areas": [{"number": n, "name": f"Area {n}", "activities": [[r, texts.get(r, f"Activity {r}.")] for r in refs]}
                  for n, refs in acts.items()],
        "upgrades": upgrades or {},
    })


V1 = fw("1", {1: ["1.1", "1.2", "1.3"], 2: ["2.1", "2.2"]})


def test_no_upgrade_between_the_same_or_unrelated_frameworks():
    assert upgrade.plan(None, V1) is None and upgrade.plan(V1, None) is None
    assert upgrade.plan(V1, V1) is None
    assert upgrade.plan(V1, fw("2", {1: ["1.1"]}, fw_id="other")) is None  # another programme
    same_version = fw("1", {1: ["1.1", "1.2", "1.3"], 2: ["2.1"]})
    assert same_version.content_hash != V1.content_hash and upgrade.plan(V1, same_version) is None


def test_with_a_mapping_listed_refs_move_or_drop_and_unlisted_ones_keep_their_place():
    v2 = fw("2", {1: ["1.1", "1.2", "1.4"], 2: ["2.1"]}, {"1": {"1.3": "1.4", "2.2": ""}})
    up = upgrade.plan(V1, v2)
    assert up.has_map and up.complete
    assert up.targets == {"1.1": "1.1", "1.2": "1.2", "1.3": "1.4", "2.1": "2.1", "2.2": ""}
    assert up.changes == {"1.3": "1.4", "2.2": ""}
    assert up.missing == () and up.merged == {}
    assert up.describe() == "1.3 -> 1.4; 2.2 dropped (no successor)"


def test_with_a_mapping_an_unlisted_ref_the_new_version_lacks_is_dropped():
    v2 = fw("2", {1: ["1.1", "1.2", "1.3"], 2: ["2.1"]}, {"1": {}})
    up = upgrade.plan(V1, v2)
    assert up.targets["2.2"] == "" and up.complete


def test_without_a_mapping_only_the_same_ref_with_the_same_statement_corresponds():
    v2 = fw("2", {1: ["1.1", "1.2", "1.3"], 2: ["2.1", "2.2"]}, texts={"1.2": "Reworded."})
    up = upgrade.plan(V1, v2)
    assert not up.has_map and not up.complete
    assert up.targets == {"1.1": "1.1", "1.2": "", "1.3": "1.3", "2.1": "2.1", "2.2": "2.2"}
    assert up.missing == ("1.2",)


def test_a_new_activity_without_a_predecessor_makes_it_incomplete():
    v2 = fw("2", {1: ["1.1", "1.2", "1.3", "1.4"], 2: ["2.1", "2.2"]}, {"1": {}})
    up = upgrade.plan(V1, v2)
    assert up.has_map and up.missing == ("1.4",) and not up.complete


def test_two_old_activities_merged_into_one_make_it_incomplete():
    v2 = fw("2", {1: ["1.1", "1.2"], 2: ["2.1", "2.2"]}, {"1": {"1.3": "1.2"}})
    up = upgrade.plan(V1, v2)
    assert up.merged == {"1.2": ("1.2", "1.3")} and up.missing == () and not up.complete


def test_describe_names_at_most_the_limit():
    v2 = fw("2", {1: ["1.1"], 2: ["2.1"]}, {"1": {"1.2": "", "1.3": "", "2.2": ""}})
    up = upgrade.plan(V1, v2)
    assert up.describe(limit=2) == "1.2 dropped (no successor); 1.3 dropped (no successor); and 1 more"
    assert up.describe(limit=3) == "1.2 dropped (no successor); 1.3 dropped (no successor); 2.2 dropped (no successor)"
    kept = upgrade.plan(V1, fw("2", {1: ["1.1", "1.2", "1.3"], 2: ["2.1", "2.2"]}, {"1": {}}))
    assert kept.describe() == "every activity kept its reference" and kept.changes == {}


HEAD = "This workbook was made with version 1 of the framework (Local v1); the current version is 2"
TAIL = (". Please use the current template: the review group will send you one with your answers already copied "
        "across where the activities correspond.")


def test_the_owner_is_told_there_is_no_mapping():
    up = upgrade.plan(V1, fw("2", {1: ["1.1"]}))
    assert upgrade.old_template_message(up) == HEAD + ", and there is no mapping from version 1 to it" + TAIL


@pytest.mark.parametrize("new, why", [
    ({1: ["1.1", "1.2", "1.3", "1.4"], 2: ["2.1", "2.2"]}, "it has activities your workbook does not (1.4)"),
    ({1: ["1.1", "1.2", "1.3"] + [f"1.{i}" for i in range(4, 13)], 2: ["2.1", "2.2"]},
     "it has activities your workbook does not (1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 1.10, 1.11 ...)"),
])
def test_the_owner_is_told_which_activities_are_new(new, why):
    up = upgrade.plan(V1, fw("2", new, {"1": {}}))
    assert upgrade.old_template_message(up) == HEAD + ", and " + why + TAIL


def test_the_owner_is_told_which_activities_were_merged_at_most_three():
    old = fw("1", {n: [f"{n}.1", f"{n}.2"] for n in range(1, 5)})
    new = fw("2", {**{n: [f"{n}.1"] for n in range(1, 5)}, 5: ["5.1"]}, {"1": {f"{n}.2": f"{n}.1" for n in range(1, 5)}})
    up = upgrade.plan(old, new)
    assert list(up.merged) == ["1.1", "2.1", "3.1", "4.1"] and up.missing == ("5.1",)
    assert upgrade.old_template_message(up) == HEAD + (
        ", and it has activities your workbook does not (5.1); activities 1.1 and 1.2 became one activity, 1.1; "
        "activities 2.1 and 2.2 became one activity, 2.1; activities 3.1 and 3.2 became one activity, 3.1") + TAIL
