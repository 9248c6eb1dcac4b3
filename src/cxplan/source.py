"""Read a scenario file into plain data, remembering the line of every value.

YAML is read with the safe loader (no Python objects), duplicate keys are an
error rather than last-one-wins, and the line where each value was written is
kept so that validation errors can point at it. JSON is read by the same
parser, so both formats get the same checks; two differences between PyYAML
(YAML 1.1) and JSON are bridged: numbers in exponent notation (`1e-3`) are
numbers, and tab indentation in a JSON file is accepted.

Problems that stop reading (not YAML, alias bombs, ...) raise `ScenarioError` at
once. Problems in single values (duplicate keys, unsupported tags) are collected
on `Document.problems`, so that validation can report them together with
everything else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxplan.errors import Problem, ScenarioError

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 5_000_000
# Values reached a second time through an alias (`*name`) or a merge (`<<: *name`).
# Sharing a few blocks across even thousands of improvements stays far below this; an
# alias bomb ("billion laughs") reaches it within a fraction of a second.
MAX_ALIAS_VALUES = 200_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass
class Document:
    """Parsed data plus the line (1-based) where each path was written."""

    name: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    # Problems found while reading single values (duplicate keys, unsupported tags).
    problems: list[Problem] = field(default_factory=list)
    # Paths whose value could not be read; the data holds a stand-in, so validation
    # should not report them a second time.
    unreadable: set[Path_] = field(default_factory=set)

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


def read_document(
    path: str | Path, *, name: str | None = None, max_bytes: int = MAX_FILE_BYTES
) -> Document:
    """Read and parse `path`; every failure is a ScenarioError naming the file.

    `name` is how problems name the file (default: `path` as given).
    """
    name = name or str(path)
    p = Path(path)
    if p.is_dir():
        raise ScenarioError([_problem(name, "is a directory, not a scenario file",
                                      hint="give the path of a .yaml or .json file")])
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
        raise ScenarioError([_problem(name, f"cannot read: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [_problem(name, f"not UTF-8 text (bad byte at offset {exc.start})",
                      hint="save the file as UTF-8")]
        ) from None
    return parse_text(text, name)


class _Loader(yaml.SafeLoader):
    """Safe loader; construction goes through `_Builder` to keep lines and catch duplicates."""


# YAML 1.1 (PyYAML) reads `1e-3` and `1.5e6` as text; JSON and YAML 1.2 read numbers.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+"
               r"|[-+]?\.[0-9][0-9_]*[eE][-+]?[0-9]+)$"),
    list("-+0123456789."),
)


def _short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _looks_like_json_with_tabs(text: str) -> bool:
    """Valid JSON indented with tabs: safe to turn the tabs into spaces (JSON strings
    cannot hold a raw tab, so every tab is whitespace between tokens)."""
    if "\t" not in text or text.lstrip()[:1] not in ("{", "["):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def parse_text(text: str, name: str = "<string>") -> Document:
    """Parse YAML/JSON text into a Document."""
    empty_hint = "start from one of the files in scenarios/"
    if not text.strip():
        raise ScenarioError([_problem(name, "file is empty", hint=empty_hint)])
    if _looks_like_json_with_tabs(text):
        text = text.replace("\t", " ")
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        what = ", ".join(part for part in (exc.context, exc.problem) if part) or "syntax error"
        raise ScenarioError([_problem(name, f"not valid YAML: {what}", line=line)]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ScenarioError([_problem(
            name, f"not valid YAML: character #x{exc.character:04x} is not allowed "
            f"({exc.reason})", hint="remove control characters from the file", line=line,
        )]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([_problem(name, f"not valid YAML: {exc}")]) from None
    except RecursionError:
        raise ScenarioError([_problem(name, f"nested deeper than {MAX_DEPTH} levels")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise ScenarioError([_problem(name, "file is empty (it holds only comments)",
                                      hint=empty_hint)])
    doc = Document(name=name, data=None)
    doc.data = _Builder(doc, loader).build(node, ())
    if doc.data is None and not doc.problems:  # `---` alone, or `~`
        raise ScenarioError([_problem(name, "file is empty (it holds no values)",
                                      hint=empty_hint)])
    return doc


class _Builder:
    """Turns the composed node graph into plain data, recording lines and problems."""

    def __init__(self, doc: Document, loader: _Loader) -> None:
        self.doc = doc
        self.loader = loader
        self.count = 0
        self.alias_values = 0
        self.seen: set[int] = set()
        self.active: set[int] = set()

    def fatal(self, message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError([_problem(self.doc.name, message, line=line)])

    def report(self, path: Path_, message: str, node: yaml.Node, hint: str | None = None) -> None:
        self.doc.problems.append(Problem(self.doc.name, format_path(path), message, hint=hint,
                                         line=node.start_mark.line + 1))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        # Aliases make the node graph a DAG: counting the values reached again through an
        # alias bounds "billion laughs" expansion, and `active` catches recursive aliases.
        self.count += 1
        if id(node) in self.seen:
            self.alias_values += 1
        else:
            self.seen.add(id(node))
        line = node.start_mark.line + 1
        if self.alias_values > MAX_ALIAS_VALUES or self.count > MAX_NODES:
            raise self.fatal("aliases expand to too many values (an alias/anchor bomb?)",
                             line=line)
        if len(path) > MAX_DEPTH:
            raise self.fatal(f"{format_path(path)}: nested deeper than {MAX_DEPTH} levels",
                             line=line)
        if id(node) in self.active:
            raise self.fatal(f"{format_path(path)}: recursive alias (a value that contains "
                             "itself)", line=line)
        self.doc.lines.setdefault(path, line)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            self.unreadable(node, path, f"unsupported YAML tag {_short_tag(node.tag)}")
            return None
        if isinstance(node, yaml.MappingNode):
            self.active.add(id(node))
            try:
                return self.mapping(node, path)
            finally:
                self.active.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self.active.add(id(node))
            try:
                return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            finally:
                self.active.discard(id(node))
        return self.scalar(node, path)

    def unreadable(self, node: yaml.Node, path: Path_, problem: str) -> None:
        self.doc.unreadable.add(path)
        self.report(path, f"cannot read this value: {problem}", node,
                    "scenario files hold plain values: numbers, text, true/false, lists and "
                    "mappings (no YAML tags such as !!python/object or !!binary)")

    def scalar(self, node: yaml.Node, path: Path_) -> Any:
        if node.tag == _TIMESTAMP_TAG:
            # A date is only ever a name or a note in a scenario: keep the text as written.
            return node.value
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.unreadable(node, path, _short_tag(getattr(exc, "problem", None) or str(exc)))
            return node.value
        if isinstance(value, str | int | float | bool) or value is None:
            return value
        self.unreadable(node, path, f"unsupported value of type {_short_tag(node.tag)}")
        return node.value

    def key(self, node: yaml.Node, path: Path_) -> str | None:
        """A mapping key as text. Keys name things (ids, teams, fields), so a key written as
        a number or a YAML boolean (`2024:`, `on:`) is taken as the text written."""
        if isinstance(node, yaml.ScalarNode):
            try:
                value = self.loader.construct_object(node, deep=True)
            except yaml.YAMLError:
                value = node.value
            if isinstance(value, str):
                return value
            if value is not None and node.value.strip():
                return str(node.value)
        self.report(path, "keys must be plain text", node,
                    "an empty key or a list/mapping used as a key is not allowed")
        return None

    def mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            key = self.key(key_node, path)
            if key is None:
                continue
            if key in result:
                self.report((*path, key), "duplicate key (each key may appear once)", key_node,
                            f"'{key}' is already given at line "
                            f"{self.doc.lines.get((*path, key), '?')}; keep one of them")
                continue
            # A problem with a value points at the line of its key.
            self.doc.lines.setdefault((*path, key), key_node.start_mark.line + 1)
            result[key] = self.build(value_node, (*path, key))
        # `<<: *base` / `<<: [*a, *b]`: keys written here win over merged ones, and earlier
        # merged mappings win over later ones (the YAML merge-key rules).
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self.report((*path, "<<"), "a merge (<<) takes a mapping or a list of "
                                "mappings", source)
                    continue
                merged = self.build(source, path)
                for key, value in merged.items():
                    result.setdefault(key, value)
        return result
