"""Read a scenario file into plain data, remembering the line of every value.

YAML is read with the safe loader (no Python objects), duplicate keys are an
error rather than last-one-wins, and the line where each value was written is
kept so that validation errors can point at it. JSON is read by the same
parser (JSON is YAML 1.2), so both formats get the same checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxplan.errors import Problem, ScenarioError

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 5_000_000


@dataclass
class Document:
    """Parsed data plus the line (1-based) where each path was written."""

    name: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of `path`, or of its nearest written ancestor."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]


def format_path(path: Path_) -> str:
    """('improvements', 3, 'effects', 0) -> 'improvements[3].effects[0]'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _problem(name: str, message: str, hint: str | None = None, line: int | None = None) -> Problem:
    return Problem(file=name, location="", message=message, hint=hint, line=line)


def read_document(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Read and parse `path`; every failure is a ScenarioError naming the file."""
    name = str(path)
    p = Path(path)
    if p.is_dir():
        raise ScenarioError([_problem(name, "is a directory, not a scenario file")])
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise ScenarioError(
                [_problem(name, f"file is {size} bytes, over the limit of {max_bytes}")]
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([_problem(name, "no such file")]) from None
    except OSError as exc:
        raise ScenarioError([_problem(name, f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [_problem(name, f"not UTF-8 text (bad byte at offset {exc.start})",
                      hint="save the file as UTF-8")]
        ) from None
    return parse_text(text, name)


class _Loader(yaml.SafeLoader):
    """Safe loader; construction goes through `_construct` to keep lines and catch duplicates."""


def parse_text(text: str, name: str = "<string>") -> Document:
    """Parse YAML/JSON text into a Document."""
    if not text.strip():
        raise ScenarioError([_problem(name, "file is empty",
                                      hint="start from one of the files in scenarios/")])
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ScenarioError([_problem(name, f"not valid YAML: {exc.problem}", line=line)]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([_problem(name, f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    if node is None:
        raise ScenarioError([_problem(name, "file is empty")])
    doc = Document(name=name, data=None)
    problems: list[Problem] = []
    counter = [0]
    doc.data = _construct(node, (), doc, problems, loader, counter, set())
    if problems:
        raise ScenarioError(problems)
    return doc


def _construct(
    node: yaml.Node,
    path: Path_,
    doc: Document,
    problems: list[Problem],
    loader: _Loader,
    counter: list[int],
    active: set[int],
) -> Any:
    # Aliases make the node graph a DAG; counting every visit bounds "billion laughs"
    # expansion, and `active` catches recursive aliases.
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise ScenarioError([_problem(doc.name, f"document expands to more than {MAX_NODES} "
                                      "values (alias/anchor bomb?)")])
    if len(path) > MAX_DEPTH:
        raise ScenarioError([_problem(doc.name, f"{format_path(path)}: nested deeper than "
                                      f"{MAX_DEPTH} levels")])
    if id(node) in active:
        raise ScenarioError([_problem(doc.name, f"{format_path(path)}: recursive alias")])
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        active.add(id(node))
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                problems.append(Problem(doc.name, format_path(path), "keys must be plain text",
                                        line=key_node.start_mark.line + 1))
                continue
            if key in result:
                problems.append(Problem(doc.name, format_path((*path, str(key))),
                                        "duplicate key (each key may appear once)",
                                        line=key_node.start_mark.line + 1))
                continue
            result[key] = _construct(value_node, (*path, str(key)), doc, problems, loader,
                                     counter, active)
        active.discard(id(node))
        return result
    if isinstance(node, yaml.SequenceNode):
        active.add(id(node))
        items = [_construct(child, (*path, i), doc, problems, loader, counter, active)
                 for i, child in enumerate(node.value)]
        active.discard(id(node))
        return items
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    # Dates, binary and other YAML types have no place in a scenario; keep them as text so
    # that validation reports them with their location.
    return str(value)
