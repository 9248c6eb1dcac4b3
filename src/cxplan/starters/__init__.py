"""Starter scenarios for a new client (`cxplan init DIR [--example NAME]`).

`starter.yaml` is a small, commented scenario (an online order journey) to overwrite with
the client's numbers; `roadmap.yaml` is a commented variant of it planned over four
quarters. `init` writes the chosen one as YAML and as a workbook (`cxplan export`), so the
client can fill in either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cxplan.errors import OutputError, UsageError
from cxplan.files import write_atomic
from cxplan.load import load_scenario
from cxplan.scenario.workbook import export_workbook

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Example:
    """What `init --example NAME` writes: YAML files (name -> starter file) and the
    workbook of the last one."""

    files: tuple[tuple[str, str], ...]
    summary: str


EXAMPLES = {
    "online-shop": Example((("scenario.yaml", "starter.yaml"),),
                           "an online order journey: 6 touchpoints, 7 improvements, "
                           "2 personas"),
    "roadmap": Example((("scenario.yaml", "starter.yaml"), ("roadmap.yaml", "roadmap.yaml")),
                       "the same journey planned over four quarters (a variant)"),
}
DEFAULT = "online-shop"


def init_folder(folder: Path, example: str = DEFAULT) -> list[Path]:
    """Write the starter `example` into `folder` (created if missing): its YAML files and
    the workbook of the scenario they make. Nothing is written over: an existing file is
    an `OutputError` before anything is written."""
    chosen = EXAMPLES.get(example)
    if chosen is None:
        raise UsageError(f"no example {example!r}; the examples are: " + ", ".join(
            f"{name} ({e.summary})" for name, e in EXAMPLES.items()))
    texts: dict[str | Path, str] = {
        folder / name: (HERE / source).read_text(encoding="utf-8")
        for name, source in chosen.files}
    last = folder / chosen.files[-1][0]
    workbook = last.with_suffix(".xlsx")
    for path in (*map(Path, texts), workbook):
        if path.exists() or path.is_symlink():
            raise OutputError(path, "exists already; init never writes over a file (choose "
                                    "an empty folder)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(folder, exc.strerror or str(exc)) from None
    written = write_atomic(texts)
    return [*written, export_workbook(load_scenario(last), workbook)]
