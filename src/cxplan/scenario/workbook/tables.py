"""Scenario data as the workbook's tables, and back.

`to_tables(data)` gives each sheet's rows (header -> value) for scenario data in the
scenario format (`cxplan.scenario.canonical`); `from_tables(tables, report)` builds the
scenario data from rows read out of a workbook, remembering the cell each value came from
so that every problem found later names its cell. Values here are already typed (numbers,
text, TRUE/FALSE, lists of ids, distributions as the format's mappings): the cells' own
checks are `cxplan.scenario.workbook.read`'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cxplan.scenario.source import Path_
from cxplan.scenario.uncertainty import COMPLETED
from cxplan.scenario.workbook import layout as L
from cxplan.text import did_you_mean, shorten

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Cell:
    """A value read from a workbook and where it was: `Touchpoints!D7`."""

    value: Any
    ref: str
    bad: bool = False  # its problem is reported; `value` is a stand-in


ReadRow = dict[str, Cell]  # header -> cell; `ROW` holds the row's own reference
ROW = ""  # the key of a read row's first cell (where problems about the whole row point)
Report = Callable[[str, str, str | None], None]  # (cell reference, message, hint)


# -- data -> tables -------------------------------------------------------------------------


def to_tables(data: dict[str, Any]) -> dict[str, Rows]:
    """Each sheet's rows for scenario `data` (sheets with no rows are left out, except those
    every workbook shows: Settings, Teams, Touchpoints, Entry, Edges, Improvements, Effects,
    Criteria)."""
    tables: dict[str, Rows] = {}
    horizon = data.get("horizon")
    economics = data.get("economics")
    settings: Rows = []

    def setting(name: str, value: Any) -> None:
        if value is not None:
            settings.append({"setting": name, "value": value})

    setting("name", data.get("name"))
    setting("currency", data.get("currency"))
    budget = data.get("budget")
    setting("budget", budget if not isinstance(budget, list) else None)
    if horizon:
        setting("horizon periods", horizon["periods"])
        setting("horizon label", horizon.get("label"))
        setting("horizon discount_rate", horizon.get("discount_rate"))
        setting("horizon carry_over", horizon.get("carry_over"))
    if economics:
        setting("economics value_horizon", economics["value_horizon"])
        setting("economics discount_rate", economics.get("discount_rate"))
    for key in ("objective", "extensions"):
        if data.get(key):
            setting(key, json.dumps(data[key], ensure_ascii=False))
    tables["Settings"] = settings
    tables["Stages"] = [{"stage": s} for s in data.get("stages") or []]
    teams = data.get("teams") or {}
    tables["Teams"] = [{"team": t, "capacity": None if isinstance(c, list) else c}
                       for t, c in teams.items()]
    personas = data.get("personas") or []
    if horizon:
        tables["Periods"] = _periods(horizon, budget, teams, personas)
    tables["Personas"] = [
        {"id": p["id"], "name": p.get("name"),
         "customers": None if isinstance(p.get("customers"), list) else p.get("customers")}
        for p in personas]
    tables["Touchpoints"] = [{c.header: tp.get(c.header) for c in L.TOUCHPOINTS.columns}
                             for tp in data["touchpoints"]]
    journey = data["journey"]
    owners = [(L.EVERYONE, journey)] + [(p["id"], p) for p in personas]
    tables["Entry"] = [{"persona": who, "touchpoint": tp, "probability": share}
                       for who, owner in owners for tp, share in (owner.get("entry") or {}).items()]
    tables["Edges"] = [row for who, owner in owners for row in _edges(who, owner)]
    tables["Overrides"] = [
        {"persona": p["id"], "touchpoint": tp, **override}
        for p in personas for tp, override in (p.get("touchpoints") or {}).items()]
    improvements = data.get("improvements") or []
    tables["Improvements"] = [
        {c.header: imp.get(c.header) for c in L.IMPROVEMENTS.columns} for imp in improvements]
    tables["Staff"] = [{"improvement": imp["id"], "team": team, "people": people}
                       for imp in improvements for team, people in imp.get("staff", {}).items()]
    tables["Effects"] = [{"improvement": imp["id"], **effect}
                         for imp in improvements for effect in imp["effects"]]
    tables["Criteria"] = [{"criterion": c, "weight": w}
                          for c, w in (data.get("criteria") or {}).items()]
    return tables


def _periods(horizon: dict[str, Any], budget: Any, teams: dict[str, Any],
             personas: list[dict[str, Any]]) -> Rows:
    names = horizon.get("names") or []
    rows: Rows = []
    for k in range(horizon["periods"]):
        row: dict[str, Any] = {"period": k + 1, "name": names[k] if names else None,
                               "budget": budget[k] if isinstance(budget, list) else None}
        for team, capacity in teams.items():
            if isinstance(capacity, list):
                row[L.TEAM_PREFIX + team] = capacity[k]
        for persona in personas:
            customers = persona.get("customers")
            if isinstance(customers, list):
                row[L.CUSTOMERS_PREFIX + persona["id"]] = customers[k]
        rows.append(row)
    return rows


def _edges(who: str, owner: dict[str, Any]) -> Rows:
    rows: Rows = [{"persona": who, "from": e["from"], "to": e["to"],
                   "probability": e["probability"]} for e in owner.get("edges") or []]
    rows += [{"persona": who, "from": source, "to": None, "probability": rest}
             for source, rest in (owner.get(COMPLETED) or {}).items()]
    return rows


# -- tables -> data -------------------------------------------------------------------------


@dataclass
class Built:
    """Scenario data built from a workbook, and the cell of every value in it."""

    data: dict[str, Any] = field(default_factory=dict)
    cells: dict[Path_, str] = field(default_factory=dict)
    unreadable: set[Path_] = field(default_factory=set)  # cells already reported


def from_tables(tables: dict[str, list[ReadRow]], report: Report) -> Built:
    """The scenario data of the rows read from a workbook's sheets. Problems that only the
    rows show (a duplicate row, a persona or improvement no sheet defines, an unknown
    setting) are reported at their cell; the rest is left to the scenario's validation."""
    out = Built()
    out.data["cxplan"] = 1
    _settings(tables.get("Settings", []), out, report)
    stages = tables.get("Stages", [])
    if stages:
        out.data["stages"] = [_put(out, ("stages", i), row["stage"])
                              for i, row in enumerate(stages)]
    out.data["teams"] = {}
    for row in tables.get("Teams", []):
        name = str(row["team"].value)
        if _first(out.data["teams"], row["team"], "team", "", report) and "capacity" in row:
            out.data["teams"][name] = _put(out, ("teams", name), row["capacity"])
    personas: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(tables.get("Personas", [])):
        persona = _record(out, ("personas", i), row, ("id", "name", "customers"))
        out.data.setdefault("personas", []).append(persona)
        personas.setdefault(str(persona["id"]), persona)
    _per_period(tables.get("Periods", []), out, personas, report)
    out.data["touchpoints"] = [
        _record(out, ("touchpoints", i), row, [c.header for c in L.TOUCHPOINTS.columns])
        for i, row in enumerate(tables.get("Touchpoints", []))]
    journey: dict[str, Any] = {"entry": {}}
    out.data["journey"] = journey
    out.cells.setdefault(("journey",), _first_ref(tables, "Entry"))
    _entries(tables.get("Entry", []), out, personas, report)
    _edge_rows(tables.get("Edges", []), out, personas, report)
    _overrides(tables.get("Overrides", []), out, personas, report)
    _improvements(tables, out, report)
    criteria = tables.get("Criteria", [])
    if criteria:
        out.data["criteria"] = {}
        for row in criteria:
            name = str(row["criterion"].value)
            if _first(out.data["criteria"], row["criterion"], "criterion", "", report) \
                    and "weight" in row:
                out.data["criteria"][name] = _put(out, ("criteria", name), row["weight"])
    return out


def _first(seen: Container[str], cell: Cell, what: str, where: str, report: Report) -> bool:
    """Whether the name in `cell` is not in `seen` yet; a second row is reported."""
    name = str(cell.value)
    if name in seen:
        report(cell.ref, f"{what} {shorten(name, 40)} is listed twice{where}",
               "keep one row for each")
        return False
    return True


def _first_ref(tables: dict[str, list[ReadRow]], sheet: str) -> str:
    rows = tables.get(sheet, [])
    return rows[0][ROW].ref if rows else f"{sheet}!A{L.FIRST_ROW}"


def _put(out: Built, path: Path_, cell: Cell) -> Any:
    out.cells[path] = cell.ref
    if cell.bad:
        out.unreadable.add(path)
    return cell.value


def _record(out: Built, where: Path_, row: ReadRow, headers: Iterable[str]) -> dict[str, Any]:
    out.cells[where] = row[ROW].ref
    return {h: _put(out, (*where, h), row[h]) for h in headers if h in row}


def _settings(rows: list[ReadRow], out: Built, report: Report) -> None:
    seen: set[str] = set()
    for row in rows:
        name = str(row["setting"].value)
        if name not in L.SETTING_ROWS:
            report(row["setting"].ref, f"unknown setting {shorten(name, 40)}"
                   f"{did_you_mean(name, L.SETTING_ROWS)}",
                   "settings: " + ", ".join(L.SETTING_ROWS))
            continue
        if not _first(seen, row["setting"], "setting", "", report):
            continue
        seen.add(name)
        if "value" not in row:
            continue
        section, _, key = name.partition(" ")
        if key:
            out.data.setdefault(section, {})[key] = _put(out, (section, key), row["value"])
            out.cells.setdefault((section,), row["setting"].ref)
        else:
            out.data[name] = _put(out, (name,), row["value"])


def _per_period(rows: list[ReadRow], out: Built, personas: dict[str, dict[str, Any]],
                report: Report) -> None:
    """The Periods sheet: period names and per-period budget, team and customer amounts."""
    if not rows:
        return
    horizon = out.data.setdefault("horizon", {})
    for k, row in enumerate(rows):
        period = row.get("period")
        if period is not None and period.value != k + 1:
            report(period.ref, f"period {shorten(period.value)} should be {k + 1}",
                   "list the periods in order, 1, 2, 3, ... one row each")
    columns: dict[str, list[Cell]] = {}
    for row in rows:
        for header, cell in row.items():
            if header not in (ROW, "period"):
                columns.setdefault(header, []).append(cell)
    for header, cells in columns.items():
        if len(cells) != len(rows):
            report(cells[0].ref, f"column {shorten(header, 40)} is filled in on "
                   f"{len(cells)} of the {len(rows)} periods", "give a value for every "
                   "period, or none (then the single amount elsewhere counts)")
            continue
        values = [c.value for c in cells]
        if header == "name":
            horizon["names"] = values
            out.cells[("horizon", "names")] = cells[0].ref
        elif header == "budget":
            _one_or_list(out, ("budget",), values, cells[0], report)
        elif header.startswith(L.TEAM_PREFIX):
            team = header[len(L.TEAM_PREFIX):]
            _one_or_list(out, ("teams", team), values, cells[0], report)
        elif header.startswith(L.CUSTOMERS_PREFIX):
            who = header[len(L.CUSTOMERS_PREFIX):]
            if who not in personas:
                report(cells[0].ref, f"no persona {shorten(who, 40)} in the Personas "
                       f"sheet{did_you_mean(who, personas)}", None)
                continue
            index = list(personas).index(who)
            if "customers" in personas[who]:
                report(cells[0].ref, f"persona '{who}' has customers in the Personas sheet "
                       "too", "give one number there, or one per period here, not both")
                continue
            personas[who]["customers"] = values
            out.cells[("personas", index, "customers")] = cells[0].ref
        else:
            report(cells[0].ref, f"unknown column {shorten(header, 40)}", "columns: "
                   "period, name, budget, 'team NAME' and 'customers PERSONA'")


def _one_or_list(out: Built, path: Path_, values: list[Any], first: Cell,
                 report: Report) -> None:
    owner: dict[Any, Any] = out.data
    for key in path[:-1]:
        owner = owner.setdefault(key, {})
    if owner.get(path[-1]) is not None:
        report(first.ref, f"{path[-1]} is given as one amount elsewhere too",
               "give one amount (Settings or Teams), or one per period here, not both")
        return
    owner[path[-1]] = values
    out.cells[path] = first.ref


def _owner(who: Cell | None, personas: dict[str, dict[str, Any]], out: Built,
           report: Report) -> tuple[dict[str, Any], Path_] | None:
    """The journey (empty persona cell) or the persona a row is about, with its path."""
    name = "" if who is None else str(who.value)
    if name == L.EVERYONE:
        return out.data["journey"], ("journey",)
    if name not in personas:
        assert who is not None
        report(who.ref, f"no persona {shorten(name, 40)} in the Personas sheet"
               f"{did_you_mean(name, personas)}", "leave the cell empty for every persona")
        return None
    index = list(personas).index(name)
    return personas[name], ("personas", index)


def _owned(rows: list[ReadRow], personas: dict[str, dict[str, Any]], out: Built,
           report: Report) -> Iterator[tuple[ReadRow, dict[str, Any], Path_]]:
    """Each row with the journey or persona it is about (rows naming no known persona are
    reported and skipped)."""
    for row in rows:
        found = _owner(row.get("persona"), personas, out, report)
        if found is not None:
            yield row, *found


def _entries(rows: list[ReadRow], out: Built, personas: dict[str, dict[str, Any]],
             report: Report) -> None:
    for row, owner, where in _owned(rows, personas, out, report):
        if "probability" not in row:
            continue
        entry = owner.setdefault("entry", {})
        touchpoint = str(row["touchpoint"].value)
        if not _first(entry, row["touchpoint"], "entry of touchpoint",
                      " for this persona" if where[0] == "personas" else "", report):
            continue
        entry[touchpoint] = _put(out, (*where, "entry", touchpoint), row["probability"])
        out.cells.setdefault((*where, "entry"), row[ROW].ref)


def _edge_rows(rows: list[ReadRow], out: Built, personas: dict[str, dict[str, Any]],
               report: Report) -> None:
    for row, owner, where in _owned(rows, personas, out, report):
        if "to" not in row:  # the remainder of a Dirichlet: the journey completed
            completed = owner.setdefault(COMPLETED, {})
            source = str(row["from"].value)
            if "probability" in row:
                completed[source] = _put(out, (*where, COMPLETED, source), row["probability"])
            else:
                report(row["from"].ref, "an edge needs `to` and a probability",
                       "a row without `to` gives the Dirichlet concentration of completing "
                       "the journey after `from`: dirichlet(α)")
            continue
        edges = owner.setdefault("edges", [])
        path = (*where, "edges", len(edges))
        edge = _record(out, path, row, ("from", "to", "probability"))
        if "probability" not in edge:
            report(row["to"].ref, "this edge has no probability", "write the share of "
                   "customers who go on from `from` to `to` (0–1)")
            continue
        edges.append(edge)


def _overrides(rows: list[ReadRow], out: Built, personas: dict[str, dict[str, Any]],
               report: Report) -> None:
    for row, owner, where in _owned(rows, personas, out, report):
        overrides = owner.setdefault("touchpoints", {})
        touchpoint = str(row["touchpoint"].value)
        if not _first(overrides, row["touchpoint"], "override of touchpoint",
                      " for this persona", report):
            continue
        headers = [c.header for c in L.TOUCHPOINT_VALUES]
        overrides[touchpoint] = _record(out, (*where, "touchpoints", touchpoint), row, headers)


def _improvements(tables: dict[str, list[ReadRow]], out: Built, report: Report) -> None:
    by_id: dict[str, tuple[int, dict[str, Any]]] = {}
    improvements: list[dict[str, Any]] = []
    for i, row in enumerate(tables.get("Improvements", [])):
        item = _record(out, ("improvements", i), row,
                       [c.header for c in L.IMPROVEMENTS.columns])
        item["effects"] = []
        out.cells[("improvements", i, "effects")] = row[ROW].ref
        improvements.append(item)
        by_id.setdefault(str(item.get("id")), (i, item))
    out.data["improvements"] = improvements

    def owner(row: ReadRow) -> tuple[int, dict[str, Any]] | None:
        name = str(row["improvement"].value)
        if name not in by_id:
            report(row["improvement"].ref, f"no improvement {shorten(name, 40)} in the "
                   f"Improvements sheet{did_you_mean(name, by_id)}", None)
            return None
        return by_id[name]

    for row in tables.get("Staff", []):
        found = owner(row)
        if found is None:
            continue
        i, item = found
        staff = item.setdefault("staff", {})
        team = str(row["team"].value)
        if _first(staff, row["team"], "team", " for this improvement", report) \
                and "people" in row:
            staff[team] = _put(out, ("improvements", i, "staff", team), row["people"])
    for row in tables.get("Effects", []):
        found = owner(row)
        if found is None:
            continue
        i, item = found
        effect = _record(out, ("improvements", i, "effects", len(item["effects"])), row,
                         [c.header for c in L.EFFECTS.columns if c.header != "improvement"])
        item["effects"].append(effect)
