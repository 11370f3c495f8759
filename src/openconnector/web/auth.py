"""The login form and logout: the only pages open without a session."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..errors import TooManyRequests
from .pages import form_of, guard
from .security import safe_next, verify_csrf
from .templating import render

router = APIRouter(include_in_schema=False)


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    if request.session.get("user"):
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), error=None, username="")


@router.post("/login", dependencies=[Depends(verify_csrf)])
async def login(request: Request) -> Response:
    form = await form_of(request)
    username, password = form.get("username", ""), form.get("password", "")
    target = safe_next(form.get("next"))
    users = request.app.state.users
    throttle = request.app.state.throttle
    address = request.client.host if request.client else None

    def check() -> bool:
        ok = users.verify(username, password, before_hashing=lambda: throttle.check(username, address))
        (throttle.succeeded if ok else throttle.failed)(username, address)
        return ok

    try:
        # argon2 takes tens of milliseconds on purpose: keep it off the event loop.
        ok = bool(username and password) and await run_in_threadpool(check)
    except TooManyRequests as exc:
        return render(
            request,
            "login.html",
            status_code=429,
            headers=exc.headers,
            next=target,
            username=username,
            error=f"Too many failed logins. Try again in {exc.retry_after} seconds.",
        )
    if ok:
        request.session.clear()  # a fresh session (and CSRF token) for the new user
        sessions = request.app.state.sessions
        address = request.client.host if request.client else None
        agent = request.headers.get("user-agent")
        token = await run_in_threadpool(lambda: sessions.create(username, address=address, user_agent=agent))
        request.session["user"] = username
        request.session["sid"] = token
        return RedirectResponse(target, status_code=303)
    return render(
        request,
        "login.html",
        status_code=400,
        next=target,
        username=username,
        error="Wrong username or password.",
    )


@router.post("/logout", dependencies=[Depends(guard)])
async def logout(request: Request) -> Response:
    """End the session on the server too: a copy of the cookie is refused from now on."""
    await run_in_threadpool(request.app.state.sessions.end, request.session.get("sid"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
