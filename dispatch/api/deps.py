"""Dependencies of the API routes, as ``Annotated`` aliases a handler's signature shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from dispatch.auth import Principal
from dispatch.config import Role
from dispatch.runtime import Runtime
from dispatch.service_errors import AuthError, ForbiddenError

__all__ = [
    "SESSION_COOKIE",
    "Admin",
    "Dispatcher",
    "DockEdge",
    "LinkViewer",
    "RuntimeDep",
    "Viewer",
    "authenticate",
    "authorize_dock",
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


def authorize_dock(who: Principal, dock_id: str) -> Principal:
    """Let an edge token act for its own docks only (an admin for any): the video uplink and
    the evidence upload.

    Raises:
        ForbiddenError: any other caller, or an edge token of other docks.
    """
    allowed = who.role == "admin" or (
        who.role == "edge" and (who.docks is None or dock_id in who.docks)
    )
    if not allowed:
        raise ForbiddenError(f"{who.name} may not send video or evidence for {dock_id}")
    return who


def _dock_edge(conn: HTTPConnection, runtime: RuntimeDep, dock_id: str) -> Principal:
    return authorize_dock(authenticate(conn, runtime), dock_id)


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
DockEdge = Annotated[Principal, Depends(_dock_edge)]
"""The edge of the ``dock_id`` in the path (or an admin), by its bearer token."""
