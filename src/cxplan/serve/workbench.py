"""The live what-if page's state: one base scenario, and each browser's own questions.

Each browser (a cookie) is a `Client` with its own question, its own solve and its own
stop flag: a newer question stops the older solve at once (`cxplan.optimizer.highs.
stop_when`), and so does the Stop button. Answers are cached per question, so going back
to a slider position answers at once. Scripts calling the JSON endpoint without a cookie
are answered each on their own, cancelling nothing.

Files: the base scenario is read again for each question (an edit in Excel or in the
YAML shows on the next change); variants are saved beside it as `<base>--<name>.yaml`
(names reduced to `[a-z0-9-]`, so no request names a path), atomically, and only files
this page saved are ever written over, listed or compared.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxplan.api import optimize
from cxplan.core.results import Plan
from cxplan.errors import OutputError, UsageError
from cxplan.files import write_atomic
from cxplan.load import load_scenario
from cxplan.optimizer.highs import stop_when
from cxplan.optimizer.options import Progress, SolverOptions
from cxplan.scenario.models import Scenario
from cxplan.text import slug
from cxplan.whatif.live import Question, variant_data, variant_scenario

SAVED_MARK = "# saved by cxplan serve"
CACHED_ANSWERS = 64  # per browser
MAX_CLIENTS = 256  # browsers remembered; the longest unseen is forgotten first


class Cancelled(Exception):
    """A newer question (or Stop) ended this solve; its plan is not shown."""


@dataclass
class Answer:
    plan: Plan
    scenario: Scenario


@dataclass
class Client:
    """One browser's state."""

    question: Question = field(default_factory=Question)
    stop: threading.Event | None = None  # the running solve's flag
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float | None = None
    progress: Progress | None = None
    answers: OrderedDict[tuple[Any, ...], Answer] = field(default_factory=OrderedDict)


class Workbench:
    """The scenario file `base` served to several browsers."""

    def __init__(self, base: Path, *, options: SolverOptions | None = None,
                 allow_paths: tuple[str, ...] = ()) -> None:
        self.base = base.resolve()
        self.folder = self.base.parent
        self.options = options or SolverOptions()
        self.allow_paths = allow_paths
        self.clients: OrderedDict[str, Client] = OrderedDict()
        self._clients_lock = threading.Lock()
        self.scenario()  # a broken scenario is reported before the server starts

    def scenario(self) -> Scenario:
        """The base scenario as it is on disk now."""
        return load_scenario(self.base, allow_paths=self.allow_paths)

    def client(self, key: str | None) -> Client | None:
        if key is None:
            return None
        with self._clients_lock:
            client = self.clients.setdefault(key, Client())
            self.clients.move_to_end(key)
            while len(self.clients) > MAX_CLIENTS:
                self.clients.popitem(last=False)
            return client

    # -- answering ------------------------------------------------------------------------

    def answer(self, question: Question, key: str | None, *, marginals: bool) -> Answer:
        """The plan for `question` (raises `Cancelled` when a newer question came first)."""
        client = self.client(key)
        if client is None:
            return self._solve(question, threading.Event(), None, marginals)
        cache_key = (*question.key(), marginals)
        stop = threading.Event()
        previous, client.stop = client.stop, stop
        client.question = question
        if previous is not None:
            previous.set()
        with client.lock:  # the older solve stops within milliseconds
            if stop.is_set():
                raise Cancelled
            cached = client.answers.get(cache_key)
            if cached is not None:
                client.answers.move_to_end(cache_key)
                return cached
            client.started, client.progress = time.perf_counter(), None
            try:
                found = self._solve(question, stop, client, marginals)
            finally:
                client.started = None
            client.answers[cache_key] = found
            while len(client.answers) > CACHED_ANSWERS:
                client.answers.popitem(last=False)
            return found

    def _solve(self, question: Question, stop: threading.Event, client: Client | None,
               marginals: bool) -> Answer:
        base = self.scenario()
        data = variant_data(base, question, self.base.name)
        scenario = variant_scenario(data, self.base)

        def progress(snapshot: Progress) -> None:
            if client is not None:
                client.progress = snapshot

        try:
            with stop_when(stop):
                plan = optimize(scenario, options=self.options, marginals=marginals,
                                progress=progress)
        except Exception:
            if stop.is_set():
                raise Cancelled from None
            raise
        if stop.is_set():
            raise Cancelled
        return Answer(plan, scenario)

    def stop(self, key: str | None) -> bool:
        """Stop this browser's running solve; whether there was one."""
        client = self.client(key)
        if client is None or client.stop is None or client.started is None:
            return False
        client.stop.set()
        return True

    def status(self, key: str | None) -> dict[str, Any]:
        client = self.client(key)
        if client is None or client.started is None:
            return {"solving": False}
        out: dict[str, Any] = {"solving": True,
                               "seconds": time.perf_counter() - client.started}
        if client.progress is not None:
            out.update(incumbent=client.progress.incumbent, bound=client.progress.bound,
                       gap=client.progress.gap, nodes=client.progress.nodes)
        return out

    def current(self, key: str | None) -> Question:
        client = self.client(key)
        return client.question if client is not None else Question()

    # -- variants -------------------------------------------------------------------------

    def variant_path(self, name: str) -> Path:
        stem = slug(name, "")
        if not stem or len(stem) > 80:
            raise UsageError("a variant's name needs letters or digits (at most 80)")
        return self.folder / f"{self.base.stem}--{stem}.yaml"

    def save(self, name: str, question: Question) -> Path:
        """Write the variant asking `question` as `<base>--<name>.yaml`, atomically; only
        a variant this page saved is written over."""
        target = self.variant_path(name)
        if target.exists() and not self._saved_here(target):
            raise OutputError(target, "a file of that name exists and was not saved by this "
                                      "page; choose another name")
        data = variant_data(self.scenario(), question, self.base.name, name=name)
        text = f"{SAVED_MARK} from {self.base.name}\n" + yaml.safe_dump(
            data, sort_keys=False, allow_unicode=True)
        write_atomic({target: text})
        return target

    def _saved_here(self, path: Path) -> bool:
        try:
            with path.open("rb") as handle:
                return path.is_file() and handle.read(len(SAVED_MARK)) == SAVED_MARK.encode()
        except OSError:
            return False

    def variants(self) -> list[Path]:
        """The variants this page saved beside the base, by name."""
        return sorted(p for p in self.folder.glob(f"{self.base.stem}--*.yaml")
                      if not p.is_symlink() and self._saved_here(p))

    def compare(self, files: list[str]) -> list[dict[str, Any]]:
        """Each listed variant (or the base, "") planned: its file, title and plan."""
        known = {p.name: p for p in self.variants()}
        out = []
        for name in files:
            path = self.base if name == "" else known.get(name)
            if path is None:
                raise UsageError(f"no saved variant {name!r}; saved: "
                                 f"{', '.join(known) or 'none yet'}")
            scenario = load_scenario(path, allow_paths=self.allow_paths)
            plan = optimize(scenario, options=self.options)
            out.append({"file": path.name, "title": scenario.title,
                        "plan": plan.to_dict()})
        return out
