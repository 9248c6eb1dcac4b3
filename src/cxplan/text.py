"""Words and numbers for people: close-match suggestions, shortened values, and the one
way cxplan writes numbers, money, counts, shares and gaps (reports, terminal, messages).
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any


def did_you_mean(word: object, known: Iterable[object]) -> str:
    """' (did you mean 'x'?)' for the closest known name, or ''. Case does not count."""
    by_folded: dict[str, str] = {}
    for name in known:
        by_folded.setdefault(str(name).casefold(), str(name))
    matches = difflib.get_close_matches(str(word).casefold(), list(by_folded), n=1, cutoff=0.6)
    return f" (did you mean '{by_folded[matches[0]]}'?)" if matches else ""


def shorten(value: Any, limit: int = 60) -> str:
    """The value's repr, cut to `limit` characters (messages quote what was written)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def format_number(value: float, decimals: int = 0, *, sign: bool = False) -> str:
    """`1234567.8` -> `"1,234,568"`: thousands separators, fixed decimals, ASCII minus.

    With `sign`, positive numbers get a leading `+` (for gains and changes). Values that
    round to zero print without a sign, so nothing ever shows `-0`.
    """
    if not math.isfinite(value):
        return "∞" if value > 0 else ("-∞" if value < 0 else "n/a")
    text = f"{abs(value):,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return text
    if value < 0:
        return "-" + text
    return "+" + text if sign else text


def format_money(
    value: float, currency: str | None = None, decimals: int = 0, *, sign: bool = False
) -> str:
    """`format_number` with the scenario's currency code in front: `"USD 22,000"`."""
    number = format_number(value, decimals, sign=sign)
    return f"{currency} {number}" if currency else number


def format_amount(value: float) -> str:
    """Staff and other counts: whole numbers without decimals, fractions with up to two."""
    if float(value).is_integer():
        return format_number(value)
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def format_percent(fraction: float | None, decimals: int = 1, *, sign: bool = False) -> str:
    """`0.2486` -> `"24.9 %"`; `None` (not applicable) -> `"n/a"`."""
    if fraction is None:
        return "n/a"
    return f"{format_number(fraction * 100.0, decimals, sign=sign)} %"


def format_gap(gap: float) -> str:
    """A relative gap as a percentage with two significant digits (`0.000213` -> `"0.021 %"`).

    Fixed decimals would print small but real gaps as `0.0 %`, which reads as optimal.
    """
    if not math.isfinite(gap):
        return "∞ %"
    percent = gap * 100.0
    if percent == 0:
        return "0 %"
    decimals = max(0, 1 - math.floor(math.log10(abs(percent))))
    text = f"{percent:,.{decimals}f}"
    if "." in text:  # "0.020" has a spurious third digit of precision
        text = text.rstrip("0").rstrip(".")
    return f"{text} %"


_SCALES = {"k": 1e3, "m": 1e6, "mn": 1e6, "bn": 1e9}
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")  # 25,000 or 1,250,000.50


def read_amount(text: str) -> tuple[float, bool] | None:
    """(number, is_a_percentage) of an amount as people write one: `25000`, `25,000`,
    `25_000`, `2.5e4`, `500k`, `1.5M`, `2bn`, `110%`; None when it is none of these."""
    raw = text.strip()
    body, scale, percent = raw, 1.0, raw.endswith("%")
    if percent:
        body = raw[:-1].strip()
    else:
        lowered = raw.lower()
        for suffix in sorted(_SCALES, key=len, reverse=True):
            if lowered.endswith(suffix) and lowered[:-len(suffix)].strip()[-1:].isdigit():
                body, scale = raw[:-len(suffix)].strip(), _SCALES[suffix]
                break
    if _GROUPED.match(body):
        body = body.replace(",", "")
    try:
        return float(body) * scale, percent  # float() reads 25_000 itself
    except ValueError:
        return None


def join_words(items: Sequence[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def shortlist(items: Sequence[str], shown: int = 6) -> str:
    """The first `shown` items, then how many more: "a, b, c and 4 more"."""
    if len(items) <= shown:
        return join_words(items)
    return ", ".join(items[:shown]) + f" and {len(items) - shown} more"


def slug(text: str, fallback: str) -> str:
    """A file-name stem from any text: ASCII letters and digits in lower case, the rest
    turned into single hyphens (`fallback` when nothing is left)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or fallback
