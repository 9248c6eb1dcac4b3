"""What every request to `cxplan serve` must pass (SECURITY.md, "The live page").

- **Token.** Bound to anything but the loopback address, the server needs a token (given
  with `--token`, or generated and printed): every request carries it, as `?token=` on the
  first page load (then as an HttpOnly, SameSite=Strict cookie) or as the header
  `X-Cxplan-Token`. Compared in constant time.
- **Host.** Without a token, only requests addressed to the loopback names are answered,
  so a web page elsewhere cannot reach the server through DNS rebinding.
- **Cross-site requests.** A POST must be JSON (`Content-Type: application/json`), which a
  page of another site can only send after a CORS preflight this server never grants, and
  an `Origin`, when sent, must be the server's own.
- **Size.** Request bodies over `MAX_BODY` bytes are refused (413) before they are read
  whole.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAX_BODY = 64 * 1024
TOKEN_COOKIE = "cxplan_token"
TOKEN_HEADER = "x-cxplan-token"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")

Endpoint = Callable[[Request], Awaitable[Response]]


def refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Guard:
    """Checks a request before any endpoint sees it."""

    def __init__(self, token: str | None, port: int) -> None:
        self.token = token
        self.port = port

    def token_given(self, request: Request) -> str | None:
        return (request.query_params.get("token") or request.headers.get(TOKEN_HEADER)
                or request.cookies.get(TOKEN_COOKIE))

    def problem(self, request: Request) -> JSONResponse | None:
        """The refusal for `request`, or None when it may go on."""
        if self.token is not None:
            given = self.token_given(request) or ""
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return refuse(403, "a token is needed: open the address cxplan serve "
                                   "printed (it ends in ?token=...)")
        else:
            host = (request.headers.get("host") or "").rsplit(":", 1)[0]
            if host not in LOOPBACK:
                return refuse(403, f"this server answers requests to localhost only, not to "
                                   f"{host[:60]!r} (start it with --token to allow others)")
        if request.method == "POST":
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return refuse(415, "send JSON (Content-Type: application/json)")
            origin = request.headers.get("origin")
            if origin is not None and origin.split("://", 1)[-1] != request.headers.get(
                    "host"):
                return refuse(403, "a request from another site is refused")
            length = request.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
                return refuse(413, f"the request body is over {MAX_BODY} bytes")
        return None


async def body_of(request: Request) -> bytes | None:
    """The request's body, or None when it is over `MAX_BODY` (sent without a length)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
