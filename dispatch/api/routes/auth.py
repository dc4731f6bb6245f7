"""Sign-in: exchange an API token for a session cookie; sign out to end the session.

Failed sign-ins make their address wait (``login_backoff``) and are audited in summary rows;
a session is stored server-side, so signing out ends it for every instance.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from dispatch.api.deps import SESSION_COOKIE, LinkViewer, RuntimeDep
from dispatch.auth import Principal
from dispatch.models import LoginCreate, PrincipalPublic
from dispatch.service_errors import AuthError
from edge.protocol import now_utc

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=PrincipalPublic)
async def login(
    body: LoginCreate, rt: RuntimeDep, request: Request, response: Response
) -> PrincipalPublic:
    """Sign in with an API token; sets an HttpOnly session cookie."""
    peer = request.client.host if request.client else "unknown"
    rt.logins.check(peer)
    try:
        who = rt.auth.token(body.token)
    except AuthError:
        rt.metrics.login_failures.inc()
        failures = rt.logins.failed(peer)
        if failures:
            async with rt.store.tx() as tx:
                await tx.audit("anonymous", "login.failed", peer, {"failures": failures}, now_utc())
        raise
    if who.role in ("edge", "metrics"):
        raise AuthError(f"{who.role} tokens do not sign in to the control room")
    async with rt.store.tx() as tx:
        await tx.audit(who.actor, "login", peer, {"role": who.role}, now_utc())
    response.set_cookie(
        SESSION_COOKIE,
        await rt.auth.issue_session(who, peer),
        max_age=int(rt.auth.session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return PrincipalPublic(name=who.name, role=who.role, raw_video=who.raw_video)


@router.post("/logout", status_code=204)
async def logout(rt: RuntimeDep, request: Request, response: Response) -> Response:
    """End the session (on every instance) and forget its cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            who: Principal | None = await rt.auth.session(cookie)
        except AuthError:
            who = None  # already ended or expired: forgetting the cookie is all there is to do
        if await rt.auth.end_session(cookie) and who is not None:
            peer = request.client.host if request.client else "unknown"
            async with rt.store.tx() as tx:
                await tx.audit(who.actor, "logout", peer, {}, now_utc())
    response.delete_cookie(SESSION_COOKIE)
    response.status_code = 204
    return response


@router.get("/me", response_model=PrincipalPublic)
async def me(who: LinkViewer) -> PrincipalPublic:
    """Who the caller is."""
    return PrincipalPublic(
        name=who.name, role=who.role, raw_video=who.raw_video, incident_id=who.incident_id
    )
