"""Scenario variants: `extends: base.yaml` and the merge of a variant onto its base.

A variant is an ordinary scenario file with one extra top-level key, `extends`, naming
the base file (relative to the variant's folder). The merged scenario is validated as
a whole, so a base may leave things out (an abstract base) and a variant needs only what
it changes. Merge rules, applied recursively:

- a mapping merges key by key: a key the variant gives replaces or merges into the
  base's; a key set to null (`~`) removes it (`budget: ~` drops the budget limit,
  `teams: {it: ~}` drops a team);
- lists of things with an identity merge item by item: `touchpoints`, `improvements` and
  `personas` by `id`, `journey.edges` and a persona's `edges` by (`from`, `to`), an
  improvement's `effects` by `touchpoint`. An item with a known identity merges into
  the base's item (so `{id: chatbot, cost: 50000}` changes only the cost), a new one is
  appended, and `{id: chatbot, remove: true}` removes it;
- every other value (numbers, text, other lists such as `stages` or `requires`, and a
  distribution such as `{pert: [1, 2, 4]}`) replaces the base's.

A chain (a extends b extends base) merges from the base outwards; a cycle is an error.
Every merged value remembers the file and place where it was written, so validation
problems point at the variant or at the base, whichever holds the bad value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cxplan.errors import Problem, ScenarioError
from cxplan.files import file_kind
from cxplan.scenario.distributions import looks_like_distribution
from cxplan.scenario.reader import read_scenario_file
from cxplan.scenario.source import Document, Path_, format_path
from cxplan.text import shorten

EXTENDS = "extends"
REMOVE = "remove"
MAX_CHAIN = 32  # deeper chains are a mistake (or a cycle through different spellings)

Key = tuple[Any, ...]
KeyOf = Callable[[dict[str, Any]], Key | None]


def _by(*fields: str) -> KeyOf:
    def key(item: dict[str, Any]) -> Key | None:
        values = tuple(item.get(f) for f in fields)
        # Only text identities merge; anything else is left to validation to report.
        return values if all(isinstance(v, str) for v in values) else None

    return key


# Where lists of identified items live (list indices written as "#").
KEYED_LISTS: dict[tuple[str, ...], tuple[KeyOf, str]] = {
    ("touchpoints",): (_by("id"), "touchpoint"),
    ("improvements",): (_by("id"), "improvement"),
    ("personas",): (_by("id"), "persona"),
    ("journey", "edges"): (_by("from", "to"), "edge"),
    ("personas", "#", "edges"): (_by("from", "to"), "edge"),
    ("improvements", "#", "effects"): (_by("touchpoint"), "effect"),
}


def _shape(path: Path_) -> tuple[str, ...]:
    return tuple("#" if isinstance(p, int) else p for p in path)


def _describe(key: Key) -> str:
    return " -> ".join(str(k) for k in key) if len(key) > 1 else str(key[0])


def resolve_extends(doc: Document, path: str | Path | None = None, *,
                    allowed: Sequence[str | Path] = (),
                    _chain: tuple[Path, ...] = (),
                    _roots: tuple[Path, ...] | None = None,
                    _shown_as: str | None = None) -> Document:
    """`doc` merged onto the scenario it extends (recursively); `doc` itself if it extends
    nothing. `path` is the file `doc` was read from: a relative `extends` is read from the
    folder that file really is in (from the working directory for a scenario given as a
    dict or as text).

    Confinement: a base must be a regular file inside the folder tree of the first file
    (for a dict or text: the working directory), or inside one of the `allowed` folders,
    once symbolic links are followed. Anything else is refused before it is read.
    """
    data = doc.data
    if not isinstance(data, dict) or EXTENDS not in data:
        return doc
    target = data[EXTENDS]
    if not isinstance(target, str) or not target.strip():
        raise ScenarioError([_problem(doc, (EXTENDS,),
                                      "extends takes the path of the base scenario file",
                                      "for example `extends: base.yaml` (relative to this file)")])
    shown = shorten(target, 80)
    try:
        here = Path(os.path.realpath(path)).parent if path is not None else Path.cwd()
        roots = _roots if _roots is not None else (
            here, *(Path(os.path.realpath(folder)) for folder in allowed))
        chain = _chain or ((Path(os.path.realpath(path)),) if path is not None else ())
        real = Path(os.path.realpath(here / target))
        inside = any(os.path.commonpath([real, root]) == str(root) for root in roots)
        kind = file_kind(real.stat().st_mode) if inside and real.exists() else None
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte ...
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError([_problem(doc, (EXTENDS,), f"cannot extend {shown}: {reason}",
                                      "give the path of the base scenario file")]) from None
    # Problems name the base the way the user would reach it from where they are.
    written = _shown_as or (str(path) if path is not None else "")
    spelled = os.path.normpath(os.path.join(os.path.dirname(written), target))
    if not inside:
        raise ScenarioError([_problem(
            doc, (EXTENDS,), f"cannot extend {shown}: it is outside the folder of the "
            f"scenario ({roots[0]})" + (", and of every --allow-path folder"
                                                 if len(roots) > 1 else ""),
            "a scenario may only extend files in its own folder or below; for a shared "
            "base elsewhere, allow its folder with --allow-path FOLDER")])
    if kind is None:
        raise ScenarioError([_problem(
            doc, (EXTENDS,), f"cannot extend {shown}: no such file ({spelled})",
            "the path is relative to the folder of the file that says `extends`")])
    if kind != "a regular file":
        raise ScenarioError([_problem(doc, (EXTENDS,), f"cannot extend {shown}: it is {kind}",
                                      "give the path of a scenario file")])
    if real in chain:
        names = [*(_short(p) for p in chain), _short(real)]
        raise ScenarioError([_problem(doc, (EXTENDS,),
                                      "extends cycle: " + " -> ".join(names),
                                      "a scenario cannot extend itself, directly or through "
                                      "other files; remove one `extends`")])
    if len(chain) >= MAX_CHAIN:
        raise ScenarioError([_problem(doc, (EXTENDS,),
                                      f"extends chain longer than {MAX_CHAIN} files")])
    base = read_scenario_file(real, name=spelled)
    base = resolve_extends(base, real, _chain=(*chain, real), _roots=roots, _shown_as=spelled)
    if not isinstance(base.data, dict):
        raise ScenarioError([_problem(base, (), "the base scenario is not a mapping of keys "
                                      "(cxplan: 1, touchpoints, ...)")])
    return merge_documents(base, doc)


def _short(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


def _problem(doc: Document, path: Path_, message: str, hint: str | None = None) -> Problem:
    file, place = doc.origin_of(path)
    return Problem(file, format_path(place), message, hint, doc.line_of(path))


def merge_documents(base: Document, variant: Document) -> Document:
    """The variant's data merged onto the base's, remembering where each value came from."""
    merged = Document(name=variant.name, data=None,
                      problems=[*base.problems, *variant.problems])
    # every base's problems are already in `base.problems`; its lines and origins are
    # reached through `merged.origins`
    merger = _Merger(base, variant, merged)
    over = {k: v for k, v in variant.data.items() if k != EXTENDS}
    merged.data = merger.merge(base.data, (), over, (), ())
    merger.record(variant, (), ())
    return merged


class _Merger:
    def __init__(self, base: Document, variant: Document, out: Document) -> None:
        self.base = base
        self.variant = variant
        self.out = out

    def record(self, doc: Document, src: Path_, dst: Path_, *, whole: bool = False) -> None:
        """The value at `dst` was written at `src` in `doc` (with all below it: `whole`)."""
        self.out.origins[dst] = (doc, src)
        for bad in doc.unreadable:  # few: mapped to the merged document's places
            if bad == src or (whole and bad[:len(src)] == src):
                self.out.unreadable.add((*dst, *bad[len(src):]))

    def copy(self, doc: Document, value: Any, src: Path_, dst: Path_) -> Any:
        """`value` (from `doc` at `src`) placed whole at `dst`, with its provenance. It is
        shared, not copied, and its provenance recorded once: a chain of variants over a
        large base then costs what the variants hold, not the base once per variant."""
        self.record(doc, src, dst, whole=True)
        return value

    def merge(self, base: Any, bsrc: Path_ | None, over: Any, osrc: Path_, dst: Path_) -> Any:
        """Merge `over` (the variant's value at `osrc`) onto `base` (at `bsrc`; None: the
        base has nothing there)."""
        keyed = KEYED_LISTS.get(_shape(dst))
        if keyed is not None and isinstance(over, list):
            if not isinstance(base, list):
                base, bsrc = [], None
            return self.merge_list(base, bsrc, over, osrc, dst, *keyed)
        if looks_like_distribution(over) and (bsrc is None or not isinstance(base, dict)
                                              or looks_like_distribution(base)):
            return self.copy(self.variant, over, osrc, dst)  # a distribution is replaced whole
        if isinstance(over, dict) and (bsrc is None or isinstance(base, dict)):
            base_map = base if bsrc is not None else {}
            if bsrc is not None:
                self.record(self.base, bsrc, dst)
            else:
                self.record(self.variant, osrc, dst)
            result: dict[str, Any] = {}
            for key, value in base_map.items():
                assert bsrc is not None
                if key not in over:
                    result[key] = self.copy(self.base, value, (*bsrc, key), (*dst, key))
                elif over[key] is not None:
                    result[key] = self.merge(value, (*bsrc, key), over[key], (*osrc, key),
                                             (*dst, key))
            for key, value in over.items():
                if key not in base_map and value is not None:
                    result[key] = self.merge(None, None, value, (*osrc, key), (*dst, key))
            return result
        return self.copy(self.variant, over, osrc, dst)

    def merge_list(self, base: list[Any], bsrc: Path_ | None, over: list[Any], osrc: Path_,
                   dst: Path_, key_of: KeyOf, kind: str) -> list[Any]:
        if bsrc is not None:
            self.record(self.base, bsrc, dst)
        else:
            self.record(self.variant, osrc, dst)
        positions: dict[Key, int] = {}
        for i, item in enumerate(base):
            key = key_of(item) if isinstance(item, dict) else None
            if key is not None:
                positions.setdefault(key, i)
        replaced: dict[int, tuple[Any, int]] = {}  # base position -> (variant item, index)
        removed: set[int] = set()
        added: list[tuple[Any, int]] = []
        for k, item in enumerate(over):
            key = key_of(item) if isinstance(item, dict) else None
            if isinstance(item, dict) and REMOVE in item:
                item = self.removal(item, key, (*osrc, k), positions, kind)
                if item is None:
                    if key is not None and key in positions:
                        removed.add(positions[key])
                    continue
            if key is not None and key in positions and positions[key] not in removed:
                replaced[positions[key]] = (item, k)
            else:
                added.append((item, k))
        result: list[Any] = []
        for i, item in enumerate(base):
            if i in removed:
                continue
            assert bsrc is not None
            if i in replaced:
                change, k = replaced[i]
                result.append(self.merge(item, (*bsrc, i), change, (*osrc, k),
                                         (*dst, len(result))))
            else:
                result.append(self.copy(self.base, item, (*bsrc, i), (*dst, len(result))))
        for item, k in added:
            result.append(self.merge(None, None, item, (*osrc, k), (*dst, len(result))))
        return result

    def removal(self, item: dict[str, Any], key: Key | None, where: Path_,
                positions: dict[Key, int], kind: str) -> dict[str, Any] | None:
        """None if `item` removes a base item; else the item without `remove: false`."""
        flag = item[REMOVE]
        rest = {k: v for k, v in item.items() if k != REMOVE}
        if flag is False:
            return rest
        if flag is not True:
            self.out.problems.append(_problem(
                self.variant, (*where, REMOVE), f"remove takes true or false (got {flag!r})"))
            return None
        if key is None:
            self.out.problems.append(_problem(
                self.variant, where, f"remove: true needs the {kind}'s identity",
                "write the id (for an edge: from and to; for an effect: touchpoint) of the "
                "item to remove"))
        elif key not in positions:
            self.out.problems.append(_problem(
                self.variant, where,
                f"cannot remove {kind} '{_describe(key)}': the base scenario has no such "
                f"{kind}", "check the spelling, or drop this item"))
        elif len(rest) > len(key):
            self.out.problems.append(_problem(
                self.variant, (*where, REMOVE),
                f"an item with remove: true gives only its identity (this {kind} also sets "
                f"{', '.join(k for k in rest if k not in ('id', 'from', 'to', 'touchpoint'))})",
                "to change the item instead, drop `remove: true`"))
        return None
