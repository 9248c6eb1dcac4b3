"""`cxplan serve` (issue 20): the JSON contract equals the command line, variants saved
beside the base plan as the page showed, and the server is safe by default (SECURITY.md,
"The live page"). Each test starts the real server, as users do."""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml

from benchmarks.serving import Server, serving, token_of, without_timings

from conftest import CliRun

ROOT = Path(__file__).resolve().parents[1]
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("served")
    for name in ("restaurant.yaml", "microfinance-onboarding.yaml"):
        shutil.copy(ROOT / "scenarios" / name, here / name)
    return here


@pytest.fixture(scope="module")
def restaurant(folder: Path) -> Iterator[Server]:
    """One server for the module (it starts in seconds): each test is its own browser."""
    with serving(folder / "restaurant.yaml") as server:
        yield server


def _cli_plan(run_main: Callable[..., CliRun], *args: str | Path) -> dict[str, Any]:
    done = run_main("plan", *args, "--json", "--quiet")
    assert done.exit_code == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_plan_endpoint_is_the_plan_command(restaurant: Server, folder: Path,
                                               run_main: Callable[..., CliRun]) -> None:
    question = {"budget": 18000, "teams": {"kitchen": 3}}
    with restaurant.client() as http:
        answer = http.post("/api/plan", json=question)
    assert answer.status_code == 200
    expected = _cli_plan(run_main, folder / "restaurant.yaml", "--budget", "18000", "--team",
                         "kitchen=3")
    assert without_timings(answer.json()) == without_timings(expected)


def test_forcing_in_and_out_plans_as_the_saved_variant_does(
        restaurant: Server, folder: Path, run_main: Callable[..., CliRun]) -> None:
    question = {"force_in": ["kitchen-display"], "force_out": ["own-booking-page"]}
    with restaurant.client() as http:
        plan = http.post("/api/plan", json=question).json()
        saved = http.post("/api/save", json={"name": "Kitchen first!", **question})
        listed = http.get("/api/variants").json()
    assert "kitchen-display" in plan["selected"]
    assert "own-booking-page" not in plan["selected"]
    assert saved.status_code == 200
    file = folder / saved.json()["file"]
    assert file.name == "restaurant--kitchen-first.yaml"
    assert {"file": file.name} in listed
    written = yaml.safe_load(file.read_text())
    assert written["extends"] == "restaurant.yaml"
    assert written["name"] == "Kitchen first!"
    again = _cli_plan(run_main, file)
    assert again["selected"] == plan["selected"]
    assert again["expected_gain"] == plan["expected_gain"]


def test_variants_are_compared_side_by_side(restaurant: Server) -> None:
    with restaurant.client() as http:
        file = http.post("/api/save", json={"name": "lean", "budget": 8000}).json()["file"]
        compared = http.post("/api/compare", json={"files": ["", file]}).json()
        refused = http.post("/api/compare", json={"files": ["../restaurant.yaml"]})
    assert [c["file"] for c in compared] == ["restaurant.yaml", file]
    assert compared[1]["plan"]["cost"] <= 8000 < compared[0]["plan"]["cost"]
    assert refused.status_code == 400 and "no saved variant" in refused.json()["error"]


def test_downloads_are_the_report_and_the_workbooks_of_the_question_shown(
        restaurant: Server) -> None:
    with restaurant.client() as http:
        http.get("/")  # the page's cookie: this browser's own question
        view = http.post("/api/view", json={"budget": 12000}).json()
        report = http.get("/download/report.html")
        plan_book = http.get("/download/plan.xlsx")
        scenario_book = http.get("/download/scenario.xlsx")
        other = http.get("/download/..%2F..%2Fetc%2Fpasswd")
    assert report.status_code == 200 and "<!doctype html>" in report.text.lower()
    assert 'filename="restaurant-visit-report.html"' in report.headers["content-disposition"]
    plan_rows = list(openpyxl.load_workbook(io.BytesIO(plan_book.content))["Plan"].values)
    assert [r[1] for r in plan_rows[1:]] == [i["id"] for i in view["plan"]["improvements"]]
    settings = openpyxl.load_workbook(io.BytesIO(scenario_book.content))["Settings"]
    assert ("budget", 12000) in [(r[0], r[1]) for r in settings.values]
    assert other.status_code == 404


def test_several_browsers_each_have_their_own_question(restaurant: Server) -> None:
    budgets = [6000, 15000, 30000]
    answers: dict[int, Any] = {}

    def browse(budget: int) -> None:
        with restaurant.client() as http:
            http.get("/")
            for _ in range(2):
                answers[budget] = http.post("/api/view", json={"budget": budget}).json()
            answers[-budget] = http.get("/api/status").json()

    threads = [threading.Thread(target=browse, args=(b,)) for b in budgets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for budget in budgets:
        assert answers[budget]["plan"]["budget"] == budget
        assert answers[budget]["plan"]["cost"] <= budget
        assert "<svg" in answers[budget]["map"]
        assert answers[-budget] == {"solving": False}


def test_a_newer_question_cancels_the_older_solve(folder: Path) -> None:
    with serving(folder / "microfinance-onboarding.yaml") as server, server.client() as http:
        http.get("/")
        results: dict[str, Any] = {}

        def ask(name: str, budget: int) -> None:
            results[name] = http.post("/api/view", json={"budget": budget})

        first = threading.Thread(target=ask, args=("first", 300000))
        first.start()
        time.sleep(0.4)  # the first solve is running (it takes a second or more)
        ask("second", 420000)
        first.join(120)
        assert results["first"].status_code == 409
        assert results["first"].json() == {"cancelled": True}
        assert results["second"].status_code == 200
        assert results["second"].json()["plan"]["budget"] == 420000

        stopped = threading.Thread(target=ask, args=("stopped", 350000))
        stopped.start()
        time.sleep(0.4)
        assert http.post("/api/stop", json={}).json() == {"stopped": True}
        stopped.join(120)
        assert results["stopped"].status_code == 409


@pytest.mark.parametrize("body, status, message", [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "must be a JSON object"),
    (b'{"budjet": 5}', 400, "unknown key 'budjet'"),
    (b'{"budget": "lots"}', 400, "budget must be a number"),
    (b'{"budget": -5}', 400, "is not an amount from 0 to 1e15"),
    (b'{"teams": {"kitchn": 3}}', 400, "unknown team 'kitchn' (did you mean 'kitchen'?)"),
    (b'{"force_in": ["nope"]}', 400, "unknown improvement 'nope'"),
    (b'{"force_in": ["waitlist-sms"], "force_out": ["waitlist-sms"]}', 400,
     "forced both in and out"),
    (b'{"budget": 0, "force_in": ["kitchen-display"]}', 422, "no plan satisfies all"),
    (b"[" * 100_000, 413, "over 65536 bytes"),
], ids=["syntax", "not-object", "unknown-key", "text-budget", "negative", "unknown-team",
        "unknown-improvement", "in-and-out", "infeasible", "too-large"])
def test_bad_requests_get_a_message_and_the_server_goes_on(
        restaurant: Server, body: bytes, status: int, message: str) -> None:
    with restaurant.client() as http:
        answer = http.post("/api/plan", content=body, headers=JSON)
        assert answer.status_code == status
        assert message in answer.text
        assert http.post("/api/plan", json={}).status_code == 200


def test_cross_site_and_misaddressed_requests_are_refused(restaurant: Server) -> None:
    with restaurant.client() as http:
        form = http.post("/api/save", content=b"name=x",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        text = http.post("/api/plan", content=b"{}", headers={"Content-Type": "text/plain"})
        foreign = http.post("/api/plan", json={}, headers={"Origin": "https://evil.example"})
        rebound = http.get("/", headers={"Host": "evil.example"})
        static = http.get("/static/../app.py")
        page = http.get("/")
    assert (form.status_code, text.status_code) == (415, 415)
    assert foreign.status_code == 403
    assert rebound.status_code == 403
    assert static.status_code == 404
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_saving_never_leaves_the_folder_nor_overwrites_other_files(
        restaurant: Server, folder: Path) -> None:
    (folder / "restaurant--mine.yaml").write_text("cxplan: 1\n# the client's own file\n")
    with restaurant.client() as http:
        outside = http.post("/api/save", json={"name": "../../escape"})
        mine = http.post("/api/save", json={"name": "mine"})
        empty = http.post("/api/save", json={"name": "…"})
    assert outside.json() == {"file": "restaurant--escape.yaml"}
    assert (folder / "restaurant--escape.yaml").exists()
    assert mine.status_code == 409 and "was not saved by this page" in mine.json()["error"]
    assert "the client's own file" in (folder / "restaurant--mine.yaml").read_text()
    assert empty.status_code == 400


def test_beyond_this_machine_every_request_needs_the_token(folder: Path) -> None:
    # 127.0.0.2 is loopback, but not a loopback *name*: the server treats it as exposed
    with serving(folder / "restaurant.yaml", host="127.0.0.2") as server:
        token = token_of(server.announced)
        with server.client() as http:
            assert http.get("/").status_code == 403
            assert http.post("/api/plan", json={}).status_code == 403
            assert http.get("/static/app.js").status_code == 403
            assert http.post("/api/plan", json={}, headers={"X-Cxplan-Token": token}
                             ).status_code == 200
            first = http.get("/", params={"token": token})
            assert first.status_code == 200
            assert http.get("/static/app.js").status_code == 200  # the cookie carries it


def test_the_page_and_its_assets_come_from_the_server_alone(restaurant: Server) -> None:
    with restaurant.client() as http:
        page = http.get("/").text
        for asset in ("/style.css", "/static/app.js", "/favicon.ico"):
            assert http.get(asset).status_code == 200
    assert "http://" not in page and "https://" not in page
    assert "//" not in "".join(page.split('href="')[1:]).split('"')[0]


def test_a_broken_scenario_or_port_stops_the_server_before_it_starts(
        run_main: Callable[..., CliRun], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("cxplan: 1\ntouchpoints: []\n")
    done = run_main("serve", broken)
    assert done.exit_code == 2
    assert "broken.yaml" in done.stderr and "Traceback" not in done.output
    done = run_main("serve", ROOT / "scenarios" / "restaurant.yaml", "--port", "70000")
    assert done.exit_code == 2 and "--port must be from 1 to 65535" in done.stderr
