"""How wide a text will be drawn: a generous estimate, so charts reserve room for labels.

The reports name no font (they use the reader's system-ui), so widths cannot be measured
here; they are estimated per character class from DejaVu Sans, the widest of the common
sans-serif faces (Helvetica, Arial, Segoe UI and Roboto are narrower), and the browser
tests check in Chromium that no text drawn with this room is clipped or overlaps.
"""

from __future__ import annotations

# advance widths in em, rounded up from DejaVu Sans (the widest common system-ui face)
_NARROW = frozenset("iljI.,:;'|!`()[]{} /\\-")
_WIDE = frozenset("mwMW@%…—")
_EM = {"narrow": 0.36, "digit": 0.64, "upper": 0.74, "lower": 0.62, "wide": 0.98,
       "other": 0.8}
BOLD = 1.1  # a bold face is about a tenth wider


def _em(char: str) -> float:
    if char in _NARROW:
        return _EM["narrow"]
    if char in _WIDE:
        return _EM["wide"]
    if char.isdigit():
        return _EM["digit"]
    if char.isupper():
        return _EM["upper"]
    if char.islower():
        return _EM["lower"]
    return _EM["other"]


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The width of `text` at font size `size` (px or SVG units), erring on the wide side."""
    return sum(_em(c) for c in text) * size * (BOLD if bold else 1.0)


def fit_lines(text: str, width: float, size: float, *, bold: bool = False,
              lines: int = 3) -> tuple[str, ...]:
    """`text` word-wrapped into lines at most `width` wide (by `text_width`), at most
    `lines` of them; a longer text ends its last line in "…" (a word wider than a line is
    cut)."""
    words = text.split() or [""]
    out: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if _fits(candidate, width, size, bold):
            current = candidate
            continue
        if current:
            out.append(current)
        current = word
        while not _fits(current, width, size, bold):
            cut = _longest_prefix(current, width, size, bold)
            out.append(current[:cut])
            current = current[cut:]
    out.append(current)
    if len(out) <= lines:
        return tuple(out)
    kept = out[:lines]
    last = kept[-1]
    while last and text_width(last + "…", size, bold=bold) > width:
        last = last[:-1]
    kept[-1] = last.rstrip() + "…"
    return tuple(kept)


def _fits(text: str, width: float, size: float, bold: bool) -> bool:
    return text_width(text, size, bold=bold) <= width


def _longest_prefix(text: str, width: float, size: float, bold: bool) -> int:
    k = 1
    while k < len(text) and _fits(text[:k + 1], width, size, bold):
        k += 1
    return k
