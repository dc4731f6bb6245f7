"""Sign-in: exchange an API token for a session cookie (every attempt is audited)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from dispatch.api.deps import SESSION_COOKIE, LinkViewer, RuntimeDep
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
    try:
        who = rt.auth.token(body.token)
    except AuthError:
        async with rt.store.tx() as tx:
            await tx.audit("anonymous", "login.failed", peer, {}, now_utc())
        raise
    async with rt.store.tx() as tx:
        await tx.audit(who.actor, "login", peer, {"role": who.role}, now_utc())
    response.set_cookie(
        SESSION_COOKIE,
        rt.auth.issue_session(who),
        max_age=int(rt.auth.session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return PrincipalPublic(name=who.name, role=who.role, raw_video=who.raw_video)


@router.post("/logout", status_code=204)
async def logout(response: Response) -> Response:
    """Forget the session cookie."""
    response.delete_cookie(SESSION_COOKIE)
    response.status_code = 204
    return response


@router.get("/me", response_model=PrincipalPublic)
async def me(who: LinkViewer) -> PrincipalPublic:
    """Who the caller is."""
    return PrincipalPublic(
        name=who.name, role=who.role, raw_video=who.raw_video, incident_id=who.incident_id
    )
