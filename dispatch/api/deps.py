"""Dependencies of the API routes, as ``Annotated`` aliases a handler's signature shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from dispatch.auth import Principal
from dispatch.config import Role
from dispatch.runtime import Runtime
from dispatch.service_errors import AuthError

__all__ = [
    "SESSION_COOKIE",
    "Admin",
    "Dispatcher",
    "LinkViewer",
    "RuntimeDep",
    "Viewer",
    "authenticate",
    "get_runtime",
]

SESSION_COOKIE = "outrider_session"


def get_runtime(conn: HTTPConnection) -> Runtime:
    """The running service of this app."""
    runtime: Runtime = conn.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def authenticate(conn: HTTPConnection, runtime: Runtime) -> Principal:
    """The caller: a bearer token, else the session cookie, else a view link (``?token=``).

    Raises:
        AuthError: when none is given or the one given does not hold.
    """
    header = conn.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return runtime.auth.token(credential.strip())
    cookie = conn.cookies.get(SESSION_COOKIE)
    if cookie:
        return runtime.auth.session(cookie)
    link = conn.query_params.get("token")
    if link:
        return runtime.auth.link(link)
    raise AuthError("sign in, or send Authorization: Bearer <token>")


def _requires(role: Role, *, link_ok: bool = False) -> object:
    def dependency(conn: HTTPConnection, runtime: RuntimeDep) -> Principal:
        principal = authenticate(conn, runtime)
        principal.require(role, link_ok=link_ok)
        return principal

    return Depends(dependency)


Admin = Annotated[Principal, _requires("admin")]
Dispatcher = Annotated[Principal, _requires("dispatcher")]
Viewer = Annotated[Principal, _requires("viewer")]
LinkViewer = Annotated[Principal, _requires("viewer", link_ok=True)]
