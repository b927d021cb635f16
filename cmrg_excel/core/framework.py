"""The assessment framework as data: areas, key activities and the maturity scale.

Definitions are TOML files (see ``workbook_templates/``). This module loads and checks
them and knows nothing about Excel.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from . import tomlfile
from .errors import CmrgError

BUILTIN_PACKAGE = "cmrg_excel.workbook_templates"
DEFAULT_FRAMEWORK = "nao-cm-areas-1-8"


class FrameworkError(CmrgError):
    """A framework definition is missing or malformed; the message names file and key."""


@dataclass(frozen=True)
class Level:
    score: int
    label: str
    descriptor: str


@dataclass(frozen=True)
class Scale:
    levels: tuple[Level, ...]
    not_applicable: str
    not_applicable_descriptor: str

    @property
    def labels(self) -> list[str]:
        """Every label a rating cell may hold, in dropdown order."""
        return [lv.label for lv in self.levels] + [self.not_applicable]

    @property
    def max_score(self) -> int:
        return max(lv.score for lv in self.levels)

    @property
    def min_score(self) -> int:
        return min(lv.score for lv in self.levels)

    @property
    def step(self) -> float:
        """The mean gap between neighbouring levels' scores (1 on a 0-4 scale, 25 on 0-100):
        thresholds set "in levels" are multiplied by it to be measured in points."""
        return (self.max_score - self.min_score) / (len(self.levels) - 1)

    def score_of(self, label: str) -> int | None:
        """The score of a canonical label; None for Not applicable."""
        for lv in self.levels:
            if lv.label == label:
                return lv.score
        if label == self.not_applicable:
            return None
        raise KeyError(label)

    @property
    def good_score(self) -> int:
        """The benchmark level's score: the level called Good (its label's words include "good"),
        else the middle level (the upper one of two middles)."""
        for lv in self.levels:
            if re.search(r"\bgood\b", lv.label, re.I) and not re.search(r"\bnot\b", lv.label, re.I):
                return lv.score
        return self.levels[len(self.levels) // 2].score

    def name_of(self, score: int) -> str:
        """A level's name without the score its label may start with ("2 Good" is "Good")."""
        label = self.label_of(score)
        return re.sub(r"^[+-]?\d+\s+", "", label) or label

    def above_good(self) -> str:
        """The levels above Good in words: "Better or Best", else "Ratings above Good"."""
        names = [self.name_of(lv.score) for lv in self.levels if lv.score > self.good_score]
        return " or ".join(names) if 0 < len(names) <= 2 else f"Ratings above {self.name_of(self.good_score)}"

    def rank_of(self, label: str) -> int:
        """The position of a level's label on the scale, lowest 0 (scores may have gaps or
        any range: "two levels up" is counted in levels, not points)."""
        for i, lv in enumerate(self.levels):
            if lv.label == label:
                return i
        raise KeyError(label)

    def label_of(self, score: int) -> str:
        for lv in self.levels:
            if lv.score == score:
                return lv.label
        raise KeyError(score)

    def normalise(self, value: object) -> str | None:
        """Match a typed or pasted rating to its canonical label, as Excel would.

        Case and surrounding or repeated spaces are ignored; anything else is not a label.
        """
        if not isinstance(value, str):
            return None
        key = " ".join(value.split()).casefold()
        for label in self.labels:
            if label.casefold() == key:
                return label
        return None


@dataclass(frozen=True)
class Activity:
    ref: str
    text: str
    area: int
    guidance: str = ""
    source: str = "nao"
    # Questions a member of the review group could ask the owner about this activity, for the
    # meeting pack. Not part of the content hash: they guide members, they do not change what
    # an owner rates, so adding or rewording them issues no new template version.
    questions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Area:
    number: int
    name: str
    block: str
    purpose: str
    activities: tuple[Activity, ...]


@dataclass(frozen=True)
class Framework:
    id: str
    version: str
    title: str
    description: str
    based_on: str
    scale: Scale
    areas: tuple[Area, ...]
    content_hash: str
    path: str = ""
    # old version -> {old ref: new ref, or "" where the old activity has no successor}
    upgrades: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def activities(self) -> list[Activity]:
        return [a for area in self.areas for a in area.activities]

    def activity(self, ref: str) -> Activity:
        for a in self.activities:
            if a.ref == ref:
                return a
        raise KeyError(ref)

    def area(self, number: int) -> Area:
        for area in self.areas:
            if area.number == number:
                return area
        raise KeyError(number)

    @property
    def label(self) -> str:
        return f"{self.id} v{self.version}"

    def to_dict(self) -> dict:
        """The definition as plain data, as the register stores it with each issue: what the
        content hash covers, the upgrades, and the words an owner reads beside it (description,
        Not applicable's descriptor, area blocks and purposes, each activity's examples of
        evidence, source and questions), so a workbook re-made from it (a corrections workbook)
        shows what the original showed. Optional words are left out when empty."""
        d = _canonical(self)
        for key in ("description", "based_on"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        if self.scale.not_applicable_descriptor != DEFAULT_NA_DESCRIPTOR:
            d["scale"]["not_applicable_descriptor"] = self.scale.not_applicable_descriptor
        for area, out in zip(self.areas, d["areas"]):
            for key in ("block", "purpose"):
                if getattr(area, key):
                    out[key] = getattr(area, key)
            details = {}
            for a in area.activities:
                extra = {k: v for k, v in (("guidance", a.guidance), ("questions", list(a.questions))) if v}
                if a.source != "nao":
                    extra["source"] = a.source
                if extra:
                    details[a.ref] = extra
            if details:
                out["details"] = details
        return d | {"upgrades": self.upgrades}


_TOP_KEYS = {"id", "version", "title", "description", "based_on", "scale", "areas", "upgrades"}
_SCALE_KEYS = {"levels", "not_applicable", "not_applicable_descriptor"}
_LEVEL_KEYS = {"score", "label", "descriptor"}
_AREA_KEYS = {"number", "name", "block", "purpose", "activities"}
_ACTIVITY_KEYS = {"ref", "text", "guidance", "source", "questions"}
MAX_QUESTIONS = 5
_UPGRADE_KEYS = {"from_version", "map"}
_SOURCES = {"nao", "inferred", "local"}
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
MAX_LABEL = 40
DEFAULT_NA_DESCRIPTOR = "The activity does not apply to this contract; give the reason."
MAX_TEXT = 400


MAX_SCORE = 1_000_000
_MONTHS = ("jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|"
           "september|october|november|december")
_NOT_TEXT = (
    (re.compile(r"[=+\-@].*", re.S), "as a formula"),
    (re.compile(r"[£$€]?\s*\(?[+-]?(\d[\d,]*(\.\d*)?|\.\d+)(e[+-]?\d+)?\)?\s*%?", re.I), "as a number"),
    (re.compile(r"\d+\s*[/.-]\s*\d+(\s*[/.-]\s*\d+)?|\d+\s+\d+/\d+", re.I), "as a date or fraction"),
    (re.compile(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s*[ap]m?)?", re.I), "as a time"),
    (re.compile(rf"(\d{{1,2}}[\s/-]*({_MONTHS})\.?([\s/-]*\d{{2,4}})?|({_MONTHS})\.?[\s/-]*\d{{1,4}})", re.I),
     "as a date"),
    (re.compile(r"true|false|#(n/a|value!|ref!|div/0!|num!|name\?|null!)", re.I), "as a logical or error value"),
)


def not_text_in_excel(label: str) -> str | None:
    """How Excel would take ``label`` if it is not plain text (a dropdown pick is entered as if
    typed: "1" becomes a number, "1-2" a date, "TRUE" a logical, "-2 Weak" a formula), else None."""
    t = label.strip()
    for pattern, how in _NOT_TEXT:
        if pattern.fullmatch(t):
            return how
    return None


def _canonical(fw: Framework) -> dict:
    return {
        "id": fw.id,
        "version": fw.version,
        "title": fw.title,
        "scale": {
            "levels": [[lv.score, lv.label, lv.descriptor] for lv in fw.scale.levels],
            "not_applicable": fw.scale.not_applicable,
        },
        "areas": [
            {
                "number": ar.number,
                "name": ar.name,
                "activities": [[a.ref, a.text] for a in ar.activities],
            }
            for ar in fw.areas
        ],
    }


def content_hash(fw: Framework) -> str:
    """SHA-256 of what a rating depends on: scale, areas, references and statements."""
    blob = json.dumps(_canonical(fw), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class _Checker:
    def __init__(self, where: str):
        self.where = where

    def fail(self, key: str, msg: str) -> FrameworkError:
        return FrameworkError(f"{self.where}: key '{key}': {msg}")

    def table(self, data: object, key: str, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(data, dict):
            header = key and "[" not in key  # a section of its own: [scale], not an entry of a list
            if header and isinstance(data, list):
                raise self.fail(key, f"is written [[{key}]] (double brackets, a list of tables); a table takes "
                                     f"single brackets: [{key}]")
            if header:
                raise self.fail(key, f"must be a table: write [{key}] on a line of its own, with its keys on the "
                                     f"lines below it (found {data!r:.60})")
            raise self.fail(key, "must be a table")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0], "unknown key (check the spelling)")
        for req in sorted(required):
            if req not in data:
                raise self.fail(f"{key}.{req}" if key else req, "is required but missing")
        return data

    def text(self, data: dict, key: str, path: str, limit: int = MAX_TEXT, required: bool = True) -> str:
        value = data.get(key, "")
        if not isinstance(value, str):
            raise self.fail(path, f"must be text, found {type(value).__name__}")
        value = " ".join(value.split())
        if required and not value:
            raise self.fail(path, "must not be empty")
        if len(value) > limit:
            raise self.fail(path, f"is {len(value)} characters long; keep it to {limit}")
        return value

    def integer(self, data: dict, key: str, path: str) -> int:
        value = data.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(path, f"must be a whole number, found {value!r}")
        return value


def parse(data: dict, where: str = "<framework>") -> Framework:
    """Build a checked Framework from parsed TOML; errors name ``where`` and the key."""
    c = _Checker(where)
    c.table(data, "", _TOP_KEYS, {"id", "version", "title", "scale", "areas"})
    fw_id = c.text(data, "id", "id", 63)
    if not _ID_RE.match(fw_id):
        raise c.fail("id", f"{fw_id!r} must be lower-case letters, digits and hyphens")
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise c.fail("version", 'must be text such as "1.0" (in quotes)')

    sd = c.table(data["scale"], "scale", _SCALE_KEYS, {"levels", "not_applicable"})
    raw_levels = sd["levels"]
    if not isinstance(raw_levels, list) or len(raw_levels) < 2:
        raise c.fail("scale.levels", "needs at least two [[scale.levels]] entries")
    levels = []
    for i, lv in enumerate(raw_levels):
        path = f"scale.levels[{i}]"
        c.table(lv, path, _LEVEL_KEYS, _LEVEL_KEYS)
        levels.append(
            Level(
                score=c.integer(lv, "score", f"{path}.score"),
                label=c.text(lv, "label", f"{path}.label", MAX_LABEL),
                descriptor=c.text(lv, "descriptor", f"{path}.descriptor", 200),
            )
        )
    scores = [lv.score for lv in levels]
    if scores != sorted(set(scores)):
        raise c.fail("scale.levels", f"scores must be distinct and ascending, found {scores}")
    for i, lv in enumerate(levels):
        if not -MAX_SCORE <= lv.score <= MAX_SCORE:
            raise c.fail(f"scale.levels[{i}].score", f"{lv.score} is too large: keep scores between -{MAX_SCORE:,} and "
                                                      f"{MAX_SCORE:,} (they are averaged, shown and charted)")
    na = c.text(sd, "not_applicable", "scale.not_applicable", MAX_LABEL)
    labels = [lv.label for lv in levels] + [na]
    folded = [lb.casefold() for lb in labels]
    if len(set(folded)) != len(folded):
        raise c.fail("scale", "labels must differ from each other (ignoring case)")
    if any("," in lb or '"' in lb for lb in labels):
        raise c.fail("scale", "labels may not contain commas or double quotes (they feed a dropdown list)")
    if len(",".join(labels)) > 255:
        raise c.fail("scale", "all labels together must fit Excel's 255-character dropdown limit")
    for i, lb in enumerate(labels):
        why = not_text_in_excel(lb)
        if why:
            key = f"scale.levels[{i}].label" if i < len(levels) else "scale.not_applicable"
            raise c.fail(key, f"{lb!r} would not stay text: picked from the dropdown, Excel enters it {why}, and "
                              "the return could not be read; use words, e.g. \"2 Good\" or \"Good (2)\"")
    scale = Scale(
        levels=tuple(levels),
        not_applicable=na,
        not_applicable_descriptor=c.text(
            sd, "not_applicable_descriptor", "scale.not_applicable_descriptor", 200, required=False
        )
        or DEFAULT_NA_DESCRIPTOR,
    )

    raw_areas = data["areas"]
    if not isinstance(raw_areas, list) or not raw_areas:
        raise c.fail("areas", "needs at least one [[areas]] entry")
    areas: list[Area] = []
    seen_refs: set[str] = set()
    for i, ad in enumerate(raw_areas):
        path = f"areas[{i}]"
        c.table(ad, path, _AREA_KEYS, {"number", "name", "activities"})
        number = c.integer(ad, "number", f"{path}.number")
        if areas and number <= areas[-1].number:
            raise c.fail(f"{path}.number", "areas must be numbered in ascending order")
        acts = ad["activities"]
        if not isinstance(acts, list) or not acts:
            raise c.fail(f"{path}.activities", "needs at least one [[areas.activities]] entry")
        activities = []
        for j, act in enumerate(acts):
            apath = f"{path}.activities[{j}]"
            c.table(act, apath, _ACTIVITY_KEYS, {"ref", "text"})
            ref = c.text(act, "ref", f"{apath}.ref", 10)
            if not re.fullmatch(rf"{number}\.\d+", ref):
                raise c.fail(f"{apath}.ref", f"{ref!r} must look like {number}.N (area number, dot, activity number)")
            if ref in seen_refs:
                raise c.fail(f"{apath}.ref", f"{ref!r} is used twice")
            seen_refs.add(ref)
            source = act.get("source", "nao")
            if source not in _SOURCES:
                raise c.fail(f"{apath}.source", f"must be one of {sorted(_SOURCES)}, found {source!r}")
            questions = act.get("questions", [])
            if not isinstance(questions, list) or len(questions) > MAX_QUESTIONS:
                raise c.fail(f"{apath}.questions", f"must be a list of up to {MAX_QUESTIONS} questions in \"quotes\", "
                                                   'e.g. questions = ["How do you know?", "Who checks it?"]')
            for k, q in enumerate(questions):
                if not isinstance(q, str) or not q.strip() or len(q) > 300 or "\n" in q:
                    raise c.fail(f"{apath}.questions[{k}]", "must be one line of text, at most 300 characters")
            activities.append(
                Activity(
                    ref=ref,
                    text=c.text(act, "text", f"{apath}.text"),
                    area=number,
                    guidance=c.text(act, "guidance", f"{apath}.guidance", 300, required=False),
                    source=source,
                    questions=tuple(" ".join(q.split()) for q in questions),
                )
            )
        areas.append(
            Area(
                number=number,
                name=c.text(ad, "name", f"{path}.name", 80),
                block=c.text(ad, "block", f"{path}.block", 80, required=False),
                purpose=c.text(ad, "purpose", f"{path}.purpose", 300, required=False),
                activities=tuple(activities),
            )
        )

    upgrades: dict[str, dict[str, str]] = {}
    raw_upgrades = data.get("upgrades", [])
    if not isinstance(raw_upgrades, list):
        raise c.fail("upgrades", "must be a list of [[upgrades]] entries (double brackets)")
    for i, up in enumerate(raw_upgrades):
        path = f"upgrades[{i}]"
        c.table(up, path, _UPGRADE_KEYS, _UPGRADE_KEYS)
        if not isinstance(up["from_version"], str) or not up["from_version"].strip():
            raise c.fail(f"{path}.from_version", 'must be the earlier version as text in quotes, e.g. "1.0" '
                                                 f"(found {up['from_version']!r:.60})")
        mapping = up["map"]
        if not isinstance(mapping, dict):
            raise c.fail(f"{path}.map", "must be a table of old reference = new reference")
        for old, new in mapping.items():
            if not isinstance(new, str) or (new and new not in seen_refs):
                raise c.fail(f"{path}.map.{old}", f"{new!r} is not an activity of this version")
        upgrades[up["from_version"].strip()] = dict(mapping)

    fw = Framework(
        id=fw_id,
        version=version.strip(),
        title=c.text(data, "title", "title", 200),
        description=c.text(data, "description", "description", 1000, required=False),
        based_on=c.text(data, "based_on", "based_on", 300, required=False),
        scale=scale,
        areas=tuple(areas),
        content_hash="",
        path=where,
        upgrades=upgrades,
    )
    return _with_hash(fw)


def _with_hash(fw: Framework) -> Framework:
    from dataclasses import replace

    return replace(fw, content_hash=content_hash(fw))


def from_dict(data: dict) -> Framework:
    """Rebuild a framework from :meth:`Framework.to_dict` (as stored with each issue).

    Definitions stored before the register kept the owner-facing words hold only what the
    content hash covers: they come back without examples of evidence (see
    :func:`cmrg_excel.intake.corrections.issue_corrections`, which then uses the workspace's
    framework of the same content)."""
    scale = data["scale"]

    def area(ar: dict) -> dict:
        details = ar.get("details") or {}
        out = {
            "number": ar["number"],
            "name": ar["name"],
            "activities": [{"ref": r, "text": t, **details.get(r, {})} for r, t in ar["activities"]],
        }
        out.update({k: ar[k] for k in ("block", "purpose") if k in ar})
        return out

    toml_like = {
        "id": data["id"],
        "version": data["version"],
        "title": data["title"],
        "scale": {
            "levels": [{"score": s, "label": lb, "descriptor": d} for s, lb, d in scale["levels"]],
            "not_applicable": scale["not_applicable"],
            **{k: scale[k] for k in ("not_applicable_descriptor",) if k in scale},
        },
        "areas": [area(ar) for ar in data["areas"]],
        "upgrades": [{"from_version": k, "map": v} for k, v in data.get("upgrades", {}).items()],
        **{k: data[k] for k in ("description", "based_on") if k in data},
    }
    return parse(toml_like, f"stored definition {data['id']} v{data['version']}")


def load(path: str | Path) -> Framework:
    """Load and check one framework definition file."""
    path = Path(path)
    return parse(tomlfile.load(path, FrameworkError, "framework file not found"), str(path))


def builtin_paths() -> list[Path]:
    """The framework files that ship with the tool."""
    root = resources.files(BUILTIN_PACKAGE)
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(".toml"))


def find(name: str, search: list[Path] | None = None) -> Framework:
    """Load a framework by id or file path; workspace folders in ``search`` come first."""
    candidate = Path(name)
    if candidate.suffix == ".toml" and candidate.exists():
        return load(candidate)
    paths: list[Path] = []
    for folder in search or []:
        if folder.is_dir():
            paths.extend(sorted(folder.glob("*.toml")))
    paths.extend(builtin_paths())
    for p in paths:
        if p.stem == name:
            return load(p)
    available = sorted({p.stem for p in paths})
    raise FrameworkError(f"framework {name!r} not found; available: {', '.join(available) or 'none'}")
