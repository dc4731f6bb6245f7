"""Dependencies of the API routes, as ``Annotated`` aliases a handler's signature shows.

Who is calling is decided here and nowhere else: a bearer token, the session cookie (only from
dispatch's own pages: ``Origin`` and ``Sec-Fetch-Site`` must say so), or an officer link
(``?token=``). Every WebSocket handshake is checked for its origin too. :func:`edge_for_dock`
is the one place an edge token is checked and held to its docks, for every route an edge
sends through; :func:`scope_dock` holds an officer link to its incident's dock while that dock
flies the link's sortie.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends
from starlette.requests import HTTPConnection

from dispatch.auth import Principal
from dispatch.config import Role
from dispatch.runtime import Runtime
from dispatch.service_errors import AuthError, ForbiddenError, NotFoundError

__all__ = [
    "SESSION_COOKIE",
    "Admin",
    "Dispatcher",
    "DockEdge",
    "LinkViewer",
    "RuntimeDep",
    "Viewer",
    "authenticate",
    "check_origin",
    "edge_for_dock",
    "get_runtime",
    "known_dock",
    "scope_dock",
]

SESSION_COOKIE = "outrider_session"
SAME_SITE = frozenset({"same-origin", "none"})  # "none": typed in the address bar, a bookmark


def get_runtime(conn: HTTPConnection) -> Runtime:
    """The running service of this app."""
    runtime: Runtime = conn.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins(conn: HTTPConnection, runtime: Runtime) -> set[str]:
    """The origins dispatch's own pages have: this request's host, ``public_url``, and any
    ``allowed_origins`` (a proxy in front may name the service differently)."""
    scheme = {"ws": "http", "wss": "https"}.get(conn.url.scheme, conn.url.scheme)
    found = {f"{scheme}://{conn.headers.get('host', '')}".lower()}
    extra = [runtime.settings.public_url, *runtime.settings.allowed_origins]
    return found | {_origin(u) for u in extra if u}


def check_origin(conn: HTTPConnection, runtime: Runtime) -> None:
    """Refuse a request made by a page of another site (cross-site request forgery).

    Raises:
        ForbiddenError: ``cross_origin`` when ``Sec-Fetch-Site`` or ``Origin`` name another site.
    """
    site = conn.headers.get("sec-fetch-site")
    if site is not None and site not in SAME_SITE:
        raise ForbiddenError(f"refused a {site} request", code="cross_origin")
    origin = conn.headers.get("origin")
    if origin is not None and origin.lower() not in own_origins(conn, runtime):
        raise ForbiddenError(f"refused a request from {origin[:100]}", code="cross_origin")


async def authenticate(conn: HTTPConnection, runtime: Runtime) -> Principal:
    """The caller: a bearer token, else the session cookie, else a view link (``?token=``).

    Raises:
        AuthError: when none is given or the one given does not hold.
        ForbiddenError: ``cross_origin`` for a cookie or WebSocket from another site's page.
    """
    known = conn.scope.get("state", {}).get("principal")
    if isinstance(known, Principal):  # the request guard authenticated it before its body
        return known
    if conn.scope["type"] == "websocket":
        check_origin(conn, runtime)
    header = conn.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return runtime.auth.token(credential.strip())
    cookie = conn.cookies.get(SESSION_COOKIE)
    if cookie:
        check_origin(conn, runtime)
        return await runtime.auth.session(cookie)
    link = conn.query_params.get("token")
    if link:
        return await runtime.auth.link(link)
    raise AuthError("sign in, or send Authorization: Bearer <token>")


def known_dock(runtime: Runtime, dock_id: str) -> None:
    """Raises:
    NotFoundError: for a dock that is not registered (nothing is kept for invented ids).
    """
    if dock_id not in runtime.docks:
        raise NotFoundError(f"dock {dock_id[:64]!r} is not registered")


async def edge_for_dock(conn: HTTPConnection, runtime: Runtime, dock_id: str) -> Principal:
    """The edge sending for ``dock_id``: an ``edge`` token that names that (registered) dock.

    The one check of an edge token, for every route an edge sends through (video, uploads).
    An edge token naming no docks sends for any (development only; production refuses it).

    Raises:
        AuthError, ForbiddenError, NotFoundError: when the caller may not send for the dock.
    """
    who = await authenticate(conn, runtime)
    if who.role != "edge":
        raise ForbiddenError(f"only an edge token of {dock_id[:64]} may send for it")
    known_dock(runtime, dock_id)
    if who.docks is not None and dock_id not in who.docks:
        raise ForbiddenError(f"{who.name} may not send for {dock_id[:64]}")
    return who


async def scope_dock(runtime: Runtime, who: Principal, dock_id: str) -> None:
    """Hold an officer link to its incident's dock, and only while the dock flies for it.

    The dock must be the incident's, and its live state must name the incident and the link's
    sortie (the incident's own when the link was made before it had one): once the dock is
    sent elsewhere, the link sees nothing of it.

    Raises:
        ForbiddenError: when the link does not reach this dock now.
    """
    if who.incident_id is None:
        return
    incident = await runtime.incidents.get(who.incident_id)
    if incident.dock_id != dock_id:
        raise ForbiddenError("a view link only opens its own incident's dock")
    view = runtime.fleet.get(dock_id)
    state = view.state if view is not None else None
    sortie = who.sortie_id or incident.sortie_id
    if (
        state is None
        or state.incident_id != incident.id
        or (sortie is not None and state.sortie_id != sortie)
    ):
        raise ForbiddenError("this link's sortie is over; the dock is not flying for it")


async def _dock_edge(conn: HTTPConnection, runtime: RuntimeDep, dock_id: str) -> Principal:
    return await edge_for_dock(conn, runtime, dock_id)


def _requires(role: Role, *, link_ok: bool = False) -> object:
    async def dependency(conn: HTTPConnection, runtime: RuntimeDep) -> Principal:
        principal = await authenticate(conn, runtime)
        principal.require(role, link_ok=link_ok)
        return principal

    return Depends(dependency)


Admin = Annotated[Principal, _requires("admin")]
Dispatcher = Annotated[Principal, _requires("dispatcher")]
Viewer = Annotated[Principal, _requires("viewer")]
LinkViewer = Annotated[Principal, _requires("viewer", link_ok=True)]
DockEdge = Annotated[Principal, Depends(_dock_edge)]
"""The edge of the ``dock_id`` in the path, by its bearer token (:func:`edge_for_dock`)."""
