"""The web app of `cxplan serve` (Starlette): the page, its JSON endpoints, downloads.

    POST /api/plan     {"budget": ..., "teams": {...}, "force_in": [...], "force_out": [...]}
                       -> exactly the `cxplan plan --json` object of that question
    POST /api/view     the same question -> {"plan": ..., "map": "<svg ...>"} for the page
    POST /api/stop     stop this browser's running solve
    GET  /api/status   is a solve running, for how long, its incumbent, bound and gap
    POST /api/save     {"name": ..., and a question} -> the variant file written beside the base
    GET  /api/variants the variants saved
    POST /api/compare  {"files": ["", "base--x.yaml"]} -> each one's plan ("" is the base)
    GET  /download/report.html | plan.xlsx | scenario.xlsx   for this browser's question

Every asset is served from the package (no network: the page works offline); every
request passes `cxplan.serve.guard` first. A bad request gets a 400 with a message, and
the server goes on serving.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from cxplan.errors import CxplanError, InfeasibleError, OutputError, ScenarioError, UsageError
from cxplan.report.build import build_view
from cxplan.report.render import render_html, render_template
from cxplan.report.workbook import plan_workbook_bytes
from cxplan.scenario.canonical import scenario_data
from cxplan.scenario.workbook.write import workbook_bytes
from cxplan.serve.guard import TOKEN_COOKIE, Guard, body_of, refuse
from cxplan.serve.workbench import Cancelled, Workbench
from cxplan.text import slug
from cxplan.whatif.live import Question

STATIC = Path(__file__).parent / "static"
CLIENT_COOKIE = "cxplan_client"
QUESTION_KEYS = ("budget", "teams", "force_in", "force_out")
# The page's own script and style only; the map's SVG is inline markup, not script.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOADS = ("report.html", "plan.xlsx", "scenario.xlsx")


class _Guarded:
    """An ASGI app (the static files) behind the guard."""

    def __init__(self, guard: Guard, app: ASGIApp) -> None:
        self.guard, self.app = guard, app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = self.guard.problem(Request(scope))
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BadRequest(Exception):
    """The request's body is not what the endpoint takes; the message says why."""


def parse_question(body: Any, extra: tuple[str, ...] = ()) -> Question:
    """A `Question` from a request's JSON body (every key optional)."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = [k for k in body if k not in (*QUESTION_KEYS, *extra)]
    if unknown:
        raise BadRequest(f"unknown key {unknown[0][:40]!r}; the keys are "
                         + ", ".join(QUESTION_KEYS + extra))
    budget = body.get("budget")
    if budget is not None and not _number(budget):
        raise BadRequest("budget must be a number (or null for the scenario's)")
    teams = body.get("teams") or {}
    if not isinstance(teams, dict) or not all(
            isinstance(k, str) and _number(v) for k, v in teams.items()):
        raise BadRequest('teams must map team names to numbers: {"it": 4}')
    lists = []
    for key in ("force_in", "force_out"):
        value = body.get(key) or []
        if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
            raise BadRequest(f"{key} must be a list of improvement ids")
        lists.append(tuple(dict.fromkeys(value)))
    return Question(None if budget is None else float(budget),
                    {k: float(v) for k, v in teams.items()}, lists[0], lists[1])


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def create_app(bench: Workbench, *, token: str | None = None, port: int = 0) -> Starlette:
    """The Starlette app serving `bench`; `token` is required from every request when
    given."""
    guard = Guard(token, port)

    def endpoint(handler: Callable[[Request], Awaitable[Response]]
                 ) -> Callable[[Request], Awaitable[Response]]:
        async def checked(request: Request) -> Response:
            refused = guard.problem(request)
            if refused is not None:
                return refused
            try:
                response = await handler(request)
            except BadRequest as exc:
                return refuse(400, str(exc))
            except UsageError as exc:
                return refuse(400, str(exc))
            except ScenarioError as exc:
                return JSONResponse({"error": "the scenario has problems", "problems": [
                    p.format() for p in exc.problems]}, status_code=400)
            except InfeasibleError as exc:
                return JSONResponse({"error": str(exc), "conflict": exc.conflict},
                                    status_code=422)
            except Cancelled:
                return JSONResponse({"cancelled": True}, status_code=409)
            except OutputError as exc:
                return refuse(409, str(exc))
            except CxplanError as exc:
                return refuse(503 if exc.exit_code == 5 else 500, str(exc))
            except Exception as exc:  # a bug: said so, and the server goes on serving
                return refuse(500, f"internal error: {type(exc).__name__}: {exc}")
            given = request.query_params.get("token")
            if token is not None and given is not None:
                response.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="strict")
            response.headers["Content-Security-Policy"] = CSP
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "no-referrer"
            return response

        return checked

    async def json_body(request: Request) -> Any:
        raw = await body_of(request)
        if raw is None:
            raise BadRequest("the request body is too large")
        try:
            return json.loads(raw or b"{}")
        except (ValueError, RecursionError):
            raise BadRequest("the body is not valid JSON") from None

    def client_key(request: Request) -> str | None:
        return request.cookies.get(CLIENT_COOKIE)

    async def page(request: Request) -> Response:
        scenario = await run_in_threadpool(bench.scenario)
        setup = {
            "title": scenario.title, "currency": scenario.currency,
            "budget": scenario.budget, "teams": scenario.teams,
            "horizon": scenario.horizon.periods if scenario.horizon else None,
            "improvements": [{"id": i.id, "name": i.label, "cost": i.cost,
                              "mandatory": i.mandatory} for i in scenario.improvements]}
        html = render_template("serve.html.j2", {"title": scenario.title,
                                                 "setup": json.dumps(setup)})
        response = HTMLResponse(html)
        if client_key(request) is None:
            response.set_cookie(CLIENT_COOKIE, secrets.token_urlsafe(16), httponly=True,
                                samesite="strict")
        return response

    async def plan(request: Request) -> Response:
        question = parse_question(await json_body(request))
        found = await run_in_threadpool(bench.answer, question, client_key(request),
                                        marginals=True)
        return JSONResponse(found.plan.to_dict())

    def map_html(found: Any) -> str:
        view = build_view(found.plan, found.scenario)
        return render_template("journey_map.html.j2", {"view": view})

    async def view(request: Request) -> Response:
        question = parse_question(await json_body(request))
        found = await run_in_threadpool(bench.answer, question, client_key(request),
                                        marginals=False)
        drawn = await run_in_threadpool(map_html, found)
        return JSONResponse({"plan": found.plan.to_dict(), "map": drawn})

    async def stop(request: Request) -> Response:
        return JSONResponse({"stopped": bench.stop(client_key(request))})

    async def status(request: Request) -> Response:
        return JSONResponse(bench.status(client_key(request)))

    async def save(request: Request) -> Response:
        body = await json_body(request)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("give the variant a name")
        question = parse_question(body, extra=("name",))
        path = await run_in_threadpool(bench.save, name.strip()[:200], question)
        return JSONResponse({"file": path.name})

    async def variants(request: Request) -> Response:
        return JSONResponse([{"file": p.name} for p in bench.variants()])

    async def compare(request: Request) -> Response:
        body = await json_body(request)
        files = body.get("files") if isinstance(body, dict) else None
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files) \
                or not 1 <= len(files) <= 8:
            raise BadRequest('files must list 1 to 8 saved variants ("" is the base)')
        return JSONResponse(await run_in_threadpool(bench.compare, files))

    async def style(request: Request) -> Response:
        css = (STATIC / "app.css").read_text(encoding="utf-8")
        css += render_template("journey_map_style.css.j2", {})
        return Response(css, media_type="text/css; charset=utf-8")

    async def download(request: Request) -> Response:
        what = request.path_params["what"]
        if what not in DOWNLOADS:
            return refuse(404, "downloads: " + ", ".join(DOWNLOADS))
        question = bench.current(client_key(request))
        found = await run_in_threadpool(bench.answer, question, client_key(request),
                                        marginals=what != "scenario.xlsx")
        stem = slug(found.scenario.title, "plan")

        def build() -> tuple[bytes, str, str]:
            if what == "report.html":
                view = build_view(found.plan, found.scenario)
                return render_html(view).encode(), "text/html; charset=utf-8", "html"
            if what == "plan.xlsx":
                return plan_workbook_bytes(found.plan, found.scenario), XLSX, "xlsx"
            return workbook_bytes(scenario_data(found.scenario)), XLSX, "xlsx"

        content, kind, ext = await run_in_threadpool(build)
        name = f"{stem}-{what.split('.')[0]}.{ext}"
        return Response(content, media_type=kind, headers={
            "Content-Disposition": f'attachment; filename="{name}"'})

    async def icon(request: Request) -> Response:
        return Response((STATIC / "icon.svg").read_bytes(), media_type="image/svg+xml")

    async def not_found(request: Request) -> Response:
        return refuse(404, "no such page")

    routes = [
        Route("/", endpoint(page)),
        Route("/api/plan", endpoint(plan), methods=["POST"]),
        Route("/api/view", endpoint(view), methods=["POST"]),
        Route("/api/stop", endpoint(stop), methods=["POST"]),
        Route("/api/status", endpoint(status)),
        Route("/api/save", endpoint(save), methods=["POST"]),
        Route("/api/variants", endpoint(variants)),
        Route("/api/compare", endpoint(compare), methods=["POST"]),
        Route("/download/{what:str}", endpoint(download)),
        Route("/style.css", endpoint(style)),
        Route("/favicon.ico", endpoint(icon)),
        Mount("/static", app=_Guarded(guard, StaticFiles(directory=STATIC)), name="static"),
    ]
    async def missing(request: Request, exc: Exception) -> Response:
        return await not_found(request)

    return Starlette(routes=routes, exception_handlers={404: missing})
