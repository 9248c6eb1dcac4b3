"""Scenario fragments as YAML a person can read: one item a line, each with a comment
saying which counts its numbers came from.

Values are written in flow style (JSON-like), which YAML reads back exactly; floats always
carry a decimal point (`1.0e-05`), since YAML 1.1, which PyYAML reads, takes `1e-05` for
text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Location = tuple[str | int, ...]


@dataclass
class Flow:
    """A mapping written on one line (`{a: 1, b: 2}`), where a plain dict would be a block."""

    items: Mapping[str, Any]


@dataclass
class Document:
    """A fragment's data (top-level keys in order), a comment per item (by location:
    ("touchpoints", 3), ("journey", "entry", "start")), and a header of comment lines."""

    data: dict[str, Any]
    comments: dict[Location, str] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)


def number(value: float) -> str:
    """A number YAML 1.1 and 1.2 read back exactly: `3`, `0.25`, `1.0e-05`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = repr(float(value))
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


_PLAIN_KEY = re.compile(r"[a-z][a-z0-9_-]*")
# Words YAML 1.1 reads as booleans or null: such keys are quoted.
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def key(name: str) -> str:
    """A mapping key: plain when it cannot be read as anything but text, else quoted."""
    if _PLAIN_KEY.fullmatch(name) and name not in _YAML11_WORDS:
        return name
    return json.dumps(name, ensure_ascii=False)


def flow(value: Any) -> str:
    """One value in flow style."""
    if isinstance(value, Flow):
        value = value.items
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key(str(k))}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return number(value)


def _comment(comments: Mapping[Location, str], where: Location) -> str:
    text = comments.get(where)
    return f"  # {text}" if text else ""


def _block(name: str, value: Any, where: Location, indent: int, doc: Document,
           out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, Mapping) and value:
        out.append(f"{pad}{key(name)}:{_comment(doc.comments, where)}")
        for k, v in value.items():
            _block(str(k), v, (*where, k), indent + 2, doc, out)
    elif isinstance(value, list) and value and all(isinstance(v, Mapping | Flow)
                                                    for v in value):
        out.append(f"{pad}{key(name)}:{_comment(doc.comments, where)}")
        for i, item in enumerate(value):
            if isinstance(item, Flow) or not any(
                    isinstance(v, Mapping | list) for v in item.values()):
                out.append(f"{pad}  - {flow(item)}{_comment(doc.comments, (*where, i))}")
                continue
            # An item holding lists or mappings of its own: a block, its first key on the
            # dash's line and the item's comment above it.
            text = doc.comments.get((*where, i))
            if text:
                out.append(f"{pad}  # {text}")
            start = len(out)
            for k, v in item.items():
                _block(str(k), v, (*where, i, k), indent + 4, doc, out)
            out[start] = f"{pad}  - " + out[start][indent + 4:]
    else:
        out.append(f"{pad}{key(name)}: {flow(value)}{_comment(doc.comments, where)}")


def to_yaml(doc: Document) -> str:
    """The document as YAML text, header first."""
    out = [f"# {line}" if line else "#" for line in doc.header]
    for key, value in doc.data.items():
        _block(key, value, (key,), 0, doc, out)
    return "\n".join(out) + "\n"
