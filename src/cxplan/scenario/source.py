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
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from cxplan.errors import Problem, ScenarioError, UsageError
from cxplan.files import NotRegularFile, open_regular

Path_ = tuple[str | int, ...]
T = TypeVar("T")

MAX_FILE_BYTES = 50 * 1024 * 1024  # the default; CXPLAN_MAX_FILE_BYTES overrides it
MAX_DEPTH = 64
MAX_NODES = 5_000_000
# Values reached a second time through an alias (`*name`) or a merge (`<<: *name`), beyond
# which a file is an alias bomb ("billion laughs", reached within a fraction of a second) -
# unless they are fewer than ALIAS_EXPANSION times the file's distinct values: a generated
# file that shares blocks (PyYAML writes an anchor for every shared object) expands to a
# few times its own size, a bomb to millions of times. MAX_NODES bounds both.
MAX_ALIAS_VALUES = 200_000
ALIAS_EXPANSION = 10

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
    # For a scenario merged from several files (`extends`, see cxplan.scenario.variants): the
    # document and the place in it where each value was written; a subtree taken whole from
    # a base is recorded once, at its root. Empty for one file.
    origins: dict[Path_, tuple[Document, Path_]] = field(default_factory=dict)
    # JSON read by the fast path (`_read_json`) has no lines yet: they are read from this
    # text the first time a problem needs one, so a valid large file never pays for them.
    pending_lines: str | None = field(default=None, repr=False)
    # For a workbook (`cxplan.scenario.workbook`): the cell each value was read from,
    # `Effects!C7`; problems name the cell in place of the path.
    cells: dict[Path_, str] = field(default_factory=dict)

    def _source_of(self, path: Path_) -> tuple[Document, Path_] | None:
        """The document (and place in it) that the value at `path` was taken from, when
        this document was merged from others."""
        probe = path
        while self.origins:
            if probe in self.origins:
                doc, place = self.origins[probe]
                return doc, (*place, *path[len(probe):])
            if not probe:
                break
            probe = probe[:-1]
        return None

    def origin_of(self, path: Path_) -> tuple[str, Path_]:
        """(file, place in that file) where the value at `path` was written."""
        source = self._source_of(path)
        if source is None:
            return self.name, path
        return source[0].origin_of(source[1])

    def cell_of(self, path: Path_) -> str | None:
        """The workbook cell of `path`, or of its nearest ancestor read from a cell; None
        for a YAML or JSON file."""
        source = self._source_of(path)
        if source is not None:
            return source[0].cell_of(source[1])
        return _nearest(self.cells, path)

    def line_of(self, path: Path_) -> int | None:
        """The line of `path`, or of its nearest written ancestor."""
        source = self._source_of(path)
        if source is not None:
            return source[0].line_of(source[1])
        if self.pending_lines is not None:
            self.lines.update(_lines_of(self.pending_lines))
            self.pending_lines = None
        return _nearest(self.lines, path)


def _nearest(found: Mapping[Path_, T], path: Path_) -> T | None:
    """The value recorded for `path`, or for its nearest ancestor that has one."""
    while True:
        if path in found:
            return found[path]
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


def max_file_bytes() -> int:
    """The largest scenario file read: CXPLAN_MAX_FILE_BYTES, else MAX_FILE_BYTES."""
    raw = os.environ.get("CXPLAN_MAX_FILE_BYTES", "").strip()
    if not raw:
        return MAX_FILE_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise UsageError(f"CXPLAN_MAX_FILE_BYTES must be a whole number of bytes, got {raw!r}")
    return value


def read_bytes(path: str | Path, *, name: str, max_bytes: int) -> bytes:
    """The bytes of the regular file `path` (at most `max_bytes` of them); every failure
    is a ScenarioError naming the file as `name`."""
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise ScenarioError(
                    [_problem(name, f"file is {size} bytes, over the limit of {max_bytes}")])
            # At most one byte over the limit: the file may grow while it is read.
            raw = handle.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise ScenarioError(
                [_problem(name, f"file is over the limit of {max_bytes} bytes")])
    except FileNotFoundError:
        raise ScenarioError([_problem(name, "no such file")]) from None
    except NotRegularFile as exc:
        hint = ("give the path of a .yaml, .json or .xlsx file" if exc.kind == "a folder"
                else "save the scenario to a file and give that file")
        raise ScenarioError([_problem(name, f"is {exc.kind}, not a scenario file",
                                      hint=hint)]) from None
    except OSError as exc:
        raise ScenarioError([_problem(name, f"cannot read: {exc.strerror or exc}")]) from None
    return raw


def read_document(
    path: str | Path, *, name: str | None = None, max_bytes: int | None = None
) -> Document:
    """Read and parse `path`; every failure is a ScenarioError naming the file.

    `name` is how problems name the file (default: `path` as given); `max_bytes` is the
    largest file read (default: `max_file_bytes()`).
    """
    name = name or str(path)
    max_bytes = max_file_bytes() if max_bytes is None else max_bytes
    raw = read_bytes(path, name=name, max_bytes=max_bytes)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [_problem(name, f"not UTF-8 text (bad byte at offset {exc.start})",
                      hint="save the file as UTF-8")]
        ) from None
    return parse_text(text, name)


class _ResolveOnce:
    """Resolves each distinct plain scalar once: a large scenario repeats the same keys and
    values (`touchpoint`, `failure_reduction`, ids) hundreds of thousands of times, and the
    regular-expression resolution was the loader's hot spot. No path resolvers are
    registered, so a scalar's tag depends on its text and style only."""

    _resolved: dict[tuple[str, tuple[bool, bool]], str]

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)  # type: ignore[misc, no-any-return]
        key = (value, tuple(implicit))
        cache = self.__dict__.setdefault("_resolved", {})
        tag = cache.get(key)
        if tag is None:
            tag = cache[key] = super().resolve(kind, value, implicit)  # type: ignore[misc]
        return str(tag)


class _Loader(_ResolveOnce, yaml.SafeLoader):
    """Safe loader; construction goes through `_Builder` to keep lines and catch duplicates."""


_FastLoader: type[yaml.SafeLoader] = _Loader
if getattr(yaml, "__with_libyaml__", False):

    class _CLoader(_ResolveOnce, yaml.CSafeLoader):
        """The same loader on libyaml (about 15x faster). Its composer recurses in C, with
        no depth check: 100 000 nested `[` crash the process, so it only reads text whose
        nesting is known to be shallow (`_c_loader_is_safe`)."""

    _FastLoader = _CLoader  # type: ignore[assignment]

# Well below the depth at which libyaml's C recursion overflows an 8 MiB stack (between
# 10 000 and 100 000 levels), with room for threads that run on smaller stacks.
C_NESTING_LIMIT = 1000

# YAML 1.1 (PyYAML) reads `1e-3` and `1.5e6` as text; JSON and YAML 1.2 read numbers.
for _cls in (_Loader, _FastLoader) if _FastLoader is not _Loader else (_Loader,):
    _cls.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+"
                   r"|[-+]?\.[0-9][0-9_]*[eE][-+]?[0-9]+)$"),
        list("-+0123456789."),
    )


def _c_loader_is_safe(text: str, name: str = "<string>") -> bool:
    """Whether libyaml may read `text`: its nesting is certainly below C_NESTING_LIMIT.

    A cheap bound first: flow nesting needs a `[` or `{` per level, and block nesting
    needs more indentation (or a `- `) per level, at most two levels per column (a
    mapping and a sequence written at its indentation). Text above that bound (large
    files written in flow style) is measured with libyaml's event parser, which keeps its
    own stack and does not recurse; nesting beyond MAX_DEPTH is reported at once, since
    PyYAML's own reader, the alternative, takes time quadratic in the depth (100 000
    nested `[` took 10 s).
    """
    if _FastLoader is _Loader:
        return False
    longest = max(map(len, text.splitlines()), default=0)
    if text.count("[") + text.count("{") + 2 * (longest + 2) <= C_NESTING_LIMIT:
        return True
    parser = _FastLoader(text)
    start = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    end = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()  # type: ignore[no-untyped-call]
            if isinstance(event, start):
                depth += 1
                # the top-level mapping is depth 1 and path (); values inside a collection
                # at depth MAX_DEPTH + 2 sit deeper than MAX_DEPTH keys
                if depth > MAX_DEPTH + 1:
                    line = event.start_mark.line + 1 if event.start_mark else None
                    raise ScenarioError([_problem(
                        name, f"nested deeper than {MAX_DEPTH} levels", line=line)])
            elif isinstance(event, end):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        # libyaml >= 0.2.6 (PyYAML 6.0.3+ wheels) stops at its own nesting limit, which
        # can come before MAX_DEPTH events were seen: the scanner reads ahead.
        if "nesting depth" in str(exc.problem):
            line = exc.problem_mark.line + 1 if exc.problem_mark else None
            raise ScenarioError([_problem(
                name, f"nested deeper than {MAX_DEPTH} levels", line=line)]) from None
        # otherwise the real parse reports it; everything up to the error was shallow
    except (yaml.YAMLError, UnicodeError):
        pass  # the real parse reports it; everything up to the error was shallow
    finally:
        parser.dispose()
    return True


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
# Number forms of YAML 1.1 (PyYAML) that YAML 1.2 and JSON read otherwise or not at all, and
# that silently change a value: `017` is 15 (octal), `1:30` is 90 (base 60), `0x10` is 16.
_YAML11_NUMBERS = (
    (re.compile(r"^[-+]?0[0-7_]+$"), "octal"),
    (re.compile(r"^[-+]?0x[0-9a-fA-F_]+$"), "hexadecimal"),
    (re.compile(r"^[-+]?0b[01_]+$"), "binary"),
    (re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$"), "base 60"),
)


def _yaml11_number(text: str) -> tuple[str, str] | None:
    """(problem, hint) for a number written in a form YAML 1.1 reads as another value."""
    for pattern, kind in _YAML11_NUMBERS:
        if pattern.match(text):
            read = yaml.safe_load(text)
            if kind == "octal":
                meant = text.lstrip("+-").lstrip("0").replace("_", "") or "0"
                sign = "-" if text.startswith("-") else ""
                hint = (f"write {sign}{meant} if that is what you mean (a leading zero makes "
                        f"an octal number in YAML 1.1), or '{text}' in quotes if it is text")
            else:
                hint = (f"write {read} if that is what you mean, or '{text}' in quotes if it "
                        "is text (a time, a code)")
            return f"`{text}` would be read as {read} (a YAML 1.1 {kind} number)", hint
    return None


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


# Characters a YAML reader refuses (C0/C1 controls other than tab and line breaks, U+FFFE,
# U+FFFF); JSON allows them inside strings, and both formats must accept the same files.
_NOT_YAML_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Raw NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR: text in JSON, line breaks in YAML 1.1
# (inside a quoted key they break it), so the two readers could disagree.
_YAML_LINE_BREAK = re.compile("[\x85\u2028\u2029]")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
# JSON escapes of characters that are not printable text: controls (`\u001b` is the start
# of terminal escape sequences), U+FFFE/U+FFFF and lone UTF-16 surrogates (a valid
# surrogate pair is a character like any other). False alarms only cost speed.
_JSON_BAD_ESCAPE = re.compile(
    r"\\(?:[bf]|u(?:00[01][0-9a-fA-F]|007[fF]|008[0-46-9a-fA-F]|009[0-9a-fA-F]"
    r"|[fF]{3}[eEfF]|[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<![dD][89abAB][0-9a-fA-F]{2}\\u)[dD][c-fC-F][0-9a-fA-F]{2}))")


class _NotPlainJson(Exception):
    """JSON that the YAML reader must judge: duplicate keys, NaN, too deep, ..."""


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _NotPlainJson  # the YAML reader reports the duplicate with both lines
    return result


def _constant(name: str) -> Any:
    raise _NotPlainJson  # NaN / Infinity are not JSON; YAML reads them as text


_STRUCTURE_ONLY = bytes(set(range(256)) - set(b'[]{}"\\'))


def _json_depth(text: str) -> int:
    """Nesting depth of valid JSON text: with strings removed, brackets are exact.

    Everything but brackets, quotes and backslashes is dropped first (bytes.translate, at
    C speed); without backslashes, every other quote then starts a string.
    """
    import numpy as np

    structure = text.encode("utf-8", "surrogatepass").translate(None, _STRUCTURE_ONLY)
    if b"\\" in structure:  # an escaped quote could end a string early: match strings
        structure = _JSON_STRING.sub("", structure.decode("ascii")).encode("ascii")
    else:
        structure = b"".join(structure.split(b'"')[::2])
    step = np.zeros(256, dtype=np.int8)
    step[[ord("["), ord("{")]] = 1
    step[[ord("]"), ord("}")]] = -1
    levels = np.cumsum(step[np.frombuffer(structure, dtype=np.uint8)], dtype=np.int64)
    return int(levels.max(initial=0))


_KEY_AFTER_NEWLINE = re.compile(r"\n[ \t\r]*:")
_LONG_STRING = re.compile(r'"[^"\n]{1000,}')
_JSON_STRING_THEN_COLON = re.compile(r'"(?:[^"\\]|\\.)*"(?:([ \t\r\n]*):)?')


def _keys_fit_yaml(text: str) -> bool:
    """Whether every key of JSON text is one YAML reads as a key too: YAML's keys in flow
    mappings end on the line they start on and are at most 1024 characters long."""
    if not (_KEY_AFTER_NEWLINE.search(text) or _LONG_STRING.search(text)):
        return True  # the usual case, decided by two scans in C
    # Every match is a whole string (so the scan stays aligned), with what follows it up to
    # a colon when it is a key.
    for match in _JSON_STRING_THEN_COLON.finditer(text):
        gap = match.group(1)
        if gap is not None and ("\n" in gap or match.end() - match.start() > 1000):
            return False
    return True


def _read_json(text: str, name: str) -> Document | None:
    """A JSON object read by the json module, at C speed (a 30 MB scenario in about a
    second, where YAML takes minutes), or None to leave the text to the YAML reader.

    The fast path returns exactly the data the YAML reader would: it steps aside for
    anything where the two could differ (duplicate keys, NaN/Infinity, characters YAML
    refuses, nesting beyond MAX_DEPTH, invalid JSON). Lines are read later, only if a
    problem needs one (`Document.pending_lines`).
    """
    if (text.lstrip()[:1] != "{" or _NOT_YAML_PRINTABLE.search(text)
            or _JSON_BAD_ESCAPE.search(text) or _YAML_LINE_BREAK.search(text)
            or not _keys_fit_yaml(text)):
        return None
    try:
        data = json.loads(text, object_pairs_hook=_unique_object, parse_constant=_constant)
    except (ValueError, RecursionError, _NotPlainJson):
        return None
    if _json_depth(text) > MAX_DEPTH:  # values then sit at most MAX_DEPTH keys deep
        return None
    return Document(name=name, data=data, pending_lines=text)


def _lines_of(text: str) -> dict[Path_, int]:
    """The line of every path of JSON text that the fast path accepted; best effort, since
    lines only make messages more helpful.

    Read from libyaml's events (no values are built, no scalars resolved): a 33 MB file
    takes seconds, where building it again took over a minute.
    """
    if "\n" not in text.rstrip():
        return {(): 1}  # one line (minified JSON): every value is on line 1
    lines: dict[Path_, int] = {}
    # JSON strings cannot hold a raw tab, so every tab is whitespace, which YAML refuses
    # for indentation; as spaces, lines stay where they are
    loader = _FastLoader(text.replace("\t", " "))
    # per open collection: [its path, is a mapping, next index / expecting a key, last key]
    stack: list[list[Any]] = []
    try:
        while loader.check_event():
            event = loader.get_event()  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue  # stream and document events
            line = event.start_mark.line + 1 if event.start_mark else 0
            path: Path_ = ()
            if stack:
                frame = stack[-1]
                if frame[1] and frame[2]:  # a key: problems with its value point here
                    frame[2], frame[3] = False, getattr(event, "value", None)
                    lines.setdefault((*frame[0], frame[3]), line)
                    continue
                if frame[1]:
                    path, frame[2] = (*frame[0], frame[3]), True
                else:
                    path, frame[2] = (*frame[0], frame[2]), frame[2] + 1
            lines.setdefault(path, line)
            if isinstance(event, yaml.MappingStartEvent):
                stack.append([path, True, True, None])
            elif isinstance(event, yaml.SequenceStartEvent):
                stack.append([path, False, 0, None])
    except (yaml.YAMLError, IndexError):
        pass  # keep the lines found so far
    finally:
        loader.dispose()
    return lines


def parse_text(text: str, name: str = "<string>") -> Document:
    """Parse YAML/JSON text into a Document."""
    empty_hint = "start from one of the files in scenarios/"
    if not text.strip():
        raise ScenarioError([_problem(name, "file is empty", hint=empty_hint)])
    if _looks_like_json_with_tabs(text):
        text = text.replace("\t", " ")
    fast = _read_json(text, name)
    if fast is not None:
        return fast
    loader: yaml.SafeLoader | None = None
    c_loader = _c_loader_is_safe(text, name)
    try:
        loader = _FastLoader(text) if c_loader else _Loader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        what = ", ".join(part for part in (exc.context, exc.problem) if part) or "syntax error"
        if _tab_at(text, exc.problem_mark):
            raise ScenarioError([_problem(
                name, "not valid YAML: a tab where YAML expects spaces (YAML indents with "
                "spaces only)", hint="replace the tabs at the start of the line (and "
                "between `-` and what follows) with spaces", line=line)]) from None
        raise ScenarioError([_problem(name, f"not valid YAML: {what}", line=line)]) from None
    except yaml.reader.ReaderError as exc:
        # libyaml counts the position in bytes of UTF-8, PyYAML in characters
        line = (text.encode("utf-8", "surrogatepass")[:exc.position].count(b"\n") + 1
                if c_loader else text.count("\n", 0, exc.position) + 1)
        raise ScenarioError([_problem(
            name, f"not valid YAML: character #x{exc.character:04x} is not allowed "
            f"({exc.reason})", hint="remove control characters from the file", line=line,
        )]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([_problem(name, f"not valid YAML: {exc}")]) from None
    except UnicodeEncodeError as exc:  # a lone surrogate in text given to the API (libyaml)
        bad = ord(exc.object[exc.start])
        raise ScenarioError([_problem(name, f"not valid text: character #x{bad:04x} is not "
                                      "allowed", hint="remove it")]) from None
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


def _tab_at(text: str, mark: yaml.Mark | None) -> bool:
    """Whether the YAML error at `mark` is a tab in the line's indentation (or right at the
    error), where YAML allows spaces only."""
    if mark is None:
        return False
    lines = text.splitlines()
    if not 0 <= mark.line < len(lines):
        return False
    line = lines[mark.line]
    indentation = re.match(r"[ \t-]*", line)
    return line[mark.column:mark.column + 1] == "\t" or (
        indentation is not None and "\t" in indentation.group())


class _Builder:
    """Turns the composed node graph into plain data, recording lines and problems."""

    def __init__(self, doc: Document, loader: yaml.SafeLoader) -> None:
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
        if ((self.alias_values > MAX_ALIAS_VALUES
             and self.alias_values > ALIAS_EXPANSION * len(self.seen))
                or self.count > MAX_NODES):
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

    def unreadable(self, node: yaml.Node, path: Path_, problem: str,
                   hint: str | None = None) -> None:
        self.doc.unreadable.add(path)
        self.report(path, f"cannot read this value: {problem}", node, hint or (
                    "scenario files hold plain values: numbers, text, true/false, lists and "
                    "mappings (no YAML tags such as !!python/object or !!binary)"))

    def scalar(self, node: yaml.Node, path: Path_) -> Any:
        if node.tag == _TIMESTAMP_TAG:
            # A date is only ever a name or a note in a scenario: keep the text as written.
            return node.value
        if node.tag in _NUMBER_TAGS and not getattr(node, "style", None):  # plain, not quoted
            trap = _yaml11_number(node.value)
            if trap is not None:
                self.unreadable(node, path, trap[0], trap[1])
                return node.value
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.unreadable(node, path, _short_tag(getattr(exc, "problem", None) or str(exc)))
            return node.value
        except ValueError:
            # Python refuses to turn an integer of more than 4300 digits into a number
            # (int_max_str_digits, a guard against quadratic conversion time).
            self.unreadable(node, path, f"a number of {len(node.value)} characters is too long")
            return node.value
        if isinstance(value, str) and (bad := _NOT_YAML_PRINTABLE.search(value)):
            # Written as an escape ("\e", "\x1b", "\ud800"): a terminal escape sequence in
            # a name would reach the user's terminal, a lone surrogate cannot be written out.
            self.unreadable(node, path, f"text holds the character #x{ord(bad.group()):04x}, "
                            "which is not printable", "remove the escape sequence (\\e, "
                            "\\x1b, \\u001b, \\ud800, ...)")
            return node.value.encode("ascii", "backslashreplace").decode("ascii")
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
            except (yaml.YAMLError, ValueError):  # ValueError: an integer of 4300+ digits
                value = node.value
            if isinstance(value, str) and not _NOT_YAML_PRINTABLE.search(value):
                return value
            if isinstance(value, str):
                self.report(path, "keys must be printable text", node,
                            "remove the escape sequence (\\e, \\x1b, \\ud800, ...) from the key")
                return None
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
                if not isinstance(merged, dict):  # a tagged mapping (`!!set`), already reported
                    continue
                for key, value in merged.items():
                    result.setdefault(key, value)
        return result
