"""Returns made on an older version of the framework, mapped onto the current one.

A framework file may carry ``[[upgrades]]`` tables, one per earlier version it can take
returns from::

    [[upgrades]]
    from_version = "1.0"
    map = { "1.3" = "1.4", "2.5" = "" }

The rule (pure, no files):

* A return is *on an older version* when the framework it was issued with has the same id
  as the workspace's current framework but a different version. (A different id is a
  different programme and is checked against its own definition, as before; the same
  version with a different hash is treated the same way.)
* With an ``[[upgrades]]`` entry for that version, each old activity goes to the reference
  the map gives, ``""`` drops it (no successor), and an activity the map does not list keeps
  its reference when the current version still has it, else it is dropped. The author of
  the entry vouches for the references it does not list.
* The return can be mapped when every activity of the current version receives exactly one
  old answer. Otherwise (no entry for that version, a new activity with no predecessor, or
  two old activities merged into one) it is rejected with "please use the current
  template", and its corrections workbook is made on the current version with the answers
  copied across where activities correspond (:mod:`cmrg_excel.intake.corrections`).
* Without an entry, "correspond" means the same reference with the same statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.framework import Framework


@dataclass(frozen=True)
class Upgrade:
    old: Framework
    new: Framework
    has_map: bool                       # an [[upgrades]] entry exists for old.version
    targets: dict[str, str]             # old ref -> new ref ("" = dropped), for every old activity
    missing: tuple[str, ...] = ()       # new refs with no old answer
    merged: dict[str, tuple[str, ...]] = field(default_factory=dict)  # new ref -> the old refs merged into it

    @property
    def complete(self) -> bool:
        return self.has_map and not self.missing and not self.merged

    @property
    def changes(self) -> dict[str, str]:
        """Only the old references that moved or were dropped."""
        return {o: n for o, n in self.targets.items() if o != n}

    def describe(self, limit: int = 12) -> str:
        """The mapping in a few words, e.g. '1.3 -> 1.4; 2.5 dropped (no successor)'."""
        parts = [f"{o} -> {n}" if n else f"{o} dropped (no successor)" for o, n in self.changes.items()]
        if not parts:
            return "every activity kept its reference"
        more = f"; and {len(parts) - limit} more" if len(parts) > limit else ""
        return "; ".join(parts[:limit]) + more


def plan(old: Framework | None, new: Framework | None) -> Upgrade | None:
    """How a return on ``old`` maps onto ``new``; None when no upgrade applies."""
    if old is None or new is None or old.content_hash == new.content_hash:
        return None
    if old.id != new.id or old.version == new.version:
        return None
    new_refs = {a.ref: a for a in new.activities}
    mapping = new.upgrades.get(old.version)
    targets: dict[str, str] = {}
    for act in old.activities:
        if mapping is not None:
            target = mapping.get(act.ref, act.ref if act.ref in new_refs else "")
        else:  # no entry: only the same reference with the same statement corresponds
            same = act.ref in new_refs and new_refs[act.ref].text == act.text
            target = act.ref if same else ""
        targets[act.ref] = target
    sources: dict[str, list[str]] = {}
    for o, n in targets.items():
        if n:
            sources.setdefault(n, []).append(o)
    missing = tuple(r for r in new_refs if r not in sources)
    merged = {n: tuple(olds) for n, olds in sources.items() if len(olds) > 1}
    return Upgrade(old, new, mapping is not None, targets, missing, merged)


def old_template_message(up: Upgrade) -> str:
    """Why a return on an older version cannot be mapped, for the owner."""
    head = (f"This workbook was made with version {up.old.version} of the framework ({up.old.title}); the current "
            f"version is {up.new.version}")
    if not up.has_map:
        why = f", and there is no mapping from version {up.old.version} to it"
    else:
        bits = []
        if up.missing:
            shown = ", ".join(up.missing[:8]) + (" ..." if len(up.missing) > 8 else "")
            bits.append(f"it has activities your workbook does not ({shown})")
        for n, olds in list(up.merged.items())[:3]:
            bits.append(f"activities {' and '.join(olds)} became one activity, {n}")
        why = ", and " + "; ".join(bits)
    return (head + why + ". Please use the current template: the review group will send you one with your answers "
            "already copied across where the activities correspond.")
