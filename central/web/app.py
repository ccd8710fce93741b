"""The dashboard's Starlette app: pages (Jinja2), a login with roles, the reviewer's forms (CSRF-protected)
and a JSON API scoped like the pages. `create_app(store, users, secret)`; served by uvicorn (`serve`)."""
from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from qcedge.central import review
from qcedge.central.api import query_from
from qcedge.central.stats import TABLES, StatsError, compute, parse_time
from qcedge.central.web import access
from qcedge.central.web.i18n import LANGS, pick, t
from qcedge.central.web.plots import bars
from qcedge.central.web.users import User, Users
from qcedge.qc_client.rules import RuleSet
from qcedge.qc_client.store import Store

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
DAY = 86400.0
SESSION_AGE = 8 * 3600


def create_app(store: Store, users: Users, secret: str, *, rules: RuleSet | None = None, personal: str = "hide",
               secure_cookie: bool = False) -> Starlette:
    """The dashboard over an open store. `secure_cookie` marks the session cookie Secure (serve over TLS)."""
    if personal not in access.PERSONAL_POLICIES:
        raise ValueError(f"personal is one of {', '.join(access.PERSONAL_POLICIES)}")
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["bars"] = bars
    templates.env.filters["when"] = lambda iso: str(iso or "")[:16].replace("T", " ")
    templates.env.filters["blank"] = lambda v: "" if v is None else v
    templates.env.filters["datetime"] = lambda ts: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))

    def lang_of(request: Request) -> str:
        return pick(request.session.get("lang"), request.headers.get("accept-language"))

    def csrf_token(request: Request) -> str:
        if "csrf" not in request.session:
            request.session["csrf"] = secrets.token_urlsafe(24)
        return request.session["csrf"]

    def render(request: Request, name: str, user: User | None, status: int = 200, **ctx: Any) -> Response:
        lang = lang_of(request)
        ctx.update(user=user, lang=lang, t=lambda key: t(lang, key), csrf=csrf_token(request),
                   other_lang="zh" if lang == "en" else "en", path=request.url.path)
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    def current_user(request: Request) -> User | None:
        name = request.session.get("user")
        if name and request.session.get("at", 0) + SESSION_AGE > time.time():
            return users.get(name)  # a user removed from the file is logged out
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):  # scripts calling the API
            try:
                who, _, pw = base64.b64decode(auth[6:], validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return users.authenticate(who, pw)
        return None

    def page(handler: Callable[[Request, User], Any], *, reviewer: bool = False) -> Callable:
        async def endpoint(request: Request) -> Response:
            user = current_user(request)
            if user is None:
                return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)
            if reviewer and not user.can_review:
                return render(request, "error.html", user, 403, message=t(lang_of(request), "forbidden"))
            if request.method == "POST":
                form = await request.form()
                sent = str(form.get("csrf", ""))
                if not hmac.compare_digest(sent, request.session.get("csrf", "")):
                    return render(request, "error.html", user, 403, message=t(lang_of(request), "csrf"))
                request.state.form = form
            try:
                return await handler(request, user)
            except access.NotFound:
                return render(request, "error.html", user, 404, message=t(lang_of(request), "not_found"))
        return endpoint

    def api(handler: Callable[[Request, User], Any]) -> Callable:
        async def endpoint(request: Request) -> Response:
            user = current_user(request)
            if user is None:
                return JSONResponse({"error": "log in (session cookie or HTTP Basic)"}, status_code=401,
                                    headers={"WWW-Authenticate": 'Basic realm="qcedge"'})
            try:
                return await handler(request, user)
            except access.NotFound as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
            except (StatsError, review.ReviewError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return endpoint

    # --- login ---------------------------------------------------------------------------------------
    async def login(request: Request) -> Response:
        nxt = request.query_params.get("next", "/")
        if request.method == "GET":
            return render(request, "login.html", None, next=_local(nxt))
        form = await request.form()
        if not hmac.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "")):
            return render(request, "login.html", None, 403, error=t(lang_of(request), "csrf"), next="/")
        user = users.authenticate(str(form.get("user", ""))[:200], str(form.get("password", ""))[:1000])
        if user is None:
            log.info("dashboard: failed login")
            return render(request, "login.html", None, 401, error=t(lang_of(request), "bad_login"),
                          next=_local(str(form.get("next", "/"))))
        lang = request.session.get("lang")
        request.session.clear()  # a new session on login (no fixation)
        request.session.update(user=user.name, at=time.time(), csrf=secrets.token_urlsafe(24))
        if lang:
            request.session["lang"] = lang
        log.info("dashboard: %s logged in (%s)", user.name, user.role)
        return RedirectResponse(_local(str(form.get("next", "/"))), status_code=303)

    async def logout(request: Request, user: User) -> Response:
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def set_lang(request: Request) -> Response:
        code = request.path_params["code"]
        if code in LANGS:
            request.session["lang"] = code
        return RedirectResponse(_local(request.query_params.get("next", "/")), status_code=303)

    # --- pages -----------------------------------------------------------------------------------------
    def time_range(request: Request) -> tuple[float, float, str, str]:
        q = request.query_params
        until = parse_time(q["to"]) if q.get("to") else float(int(time.time() // DAY + 1) * DAY)
        since = parse_time(q["from"]) if q.get("from") else until - 30 * DAY
        return since, until, q.get("from") or _day(since), q.get("to") or _day(until)

    async def overview(request: Request, user: User) -> Response:
        try:
            since, until, f, to = time_range(request)
            data = access.overview(store, user, since, until, rules=rules)
        except StatsError as exc:
            return render(request, "error.html", user, 400, message=str(exc))
        charts = {"site_records": [(k, v["records"]) for k, v in sorted(data["by_site"].items())],
                  "site_rates": [(k, v["needs_review"] / v["records"]) for k, v in sorted(data["by_site"].items())
                                 if v["records"]],
                  "modality_records": [(k, v["records"]) for k, v in sorted(data["by_modality"].items())]}
        return render(request, "overview.html", user, data=data, since=f, until=to, charts=charts)

    async def queue_page(request: Request, user: User) -> Response:
        site = request.query_params.get("site") or None
        rows = access.queue(store, user, site=site, limit=200)
        return render(request, "queue.html", user, rows=rows, site=site or "")

    async def record_page(request: Request, user: User) -> Response:
        station, rid = request.query_params.get("station", ""), request.query_params.get("id", "")
        rec = access.record(store, user, station, rid, personal=personal)
        return render(request, "record.html", user, rec=rec, saved=request.query_params.get("saved"),
                      verdicts=review.VERDICTS, json_value=access.json_value)

    async def correct(request: Request, user: User) -> Response:
        form = request.state.form
        station, rid = str(form.get("station", "")), str(form.get("id", ""))
        access.record(store, user, station, rid)  # NotFound unless visible to this user
        field = str(form.get("field") or "") or None
        verdict = str(form.get("verdict") or "") or None
        try:
            review.correct(store, station, rid, reviewer=user.name, reason=str(form.get("reason", "")),
                           field=field, value=_value(str(form.get("value", ""))) if field else None,
                           verdict=None if field else verdict)
        except review.ReviewError as exc:
            rec = access.record(store, user, station, rid, personal=personal)
            return render(request, "record.html", user, 400, rec=rec, error=str(exc), verdicts=review.VERDICTS,
                          json_value=access.json_value)
        log.info("dashboard: %s corrected a record", user.name)
        return RedirectResponse("/record?" + urlencode({"station": station, "id": rid, "saved": 1}), status_code=303)

    async def items_page(request: Request, user: User, error: str | None = None, status: int = 200) -> Response:
        rows = access.items(store, user)  # rates on each item's page: they read its target's records
        return render(request, "items.html", user, status, rows=rows, error=error, scopes=list(review.SCOPES))

    async def item_page(request: Request, user: User) -> Response:
        try:
            item_id = int(request.query_params.get("id", ""))
        except ValueError:
            raise access.NotFound("no such item") from None
        i = access.item(store, user, item_id)
        return render(request, "item.html", user, i=i, r=review.rates(store, i))

    async def item_open(request: Request, user: User) -> Response:
        form = request.state.form
        try:
            review.open_item(store, scope=str(form.get("scope", "")), target=str(form.get("target", "")),
                             problem=str(form.get("problem", "")), plan=str(form.get("plan", "")),
                             due=str(form.get("due", "")), opened_by=user.name)
        except review.ReviewError as exc:
            return await items_page(request, user, str(exc), 400)
        return RedirectResponse("/items", status_code=303)

    async def item_close(request: Request, user: User) -> Response:
        form = request.state.form
        try:
            review.close_item(store, int(str(form.get("item", "0")) or 0), closed_by=user.name,
                              outcome=str(form.get("outcome", "")))
        except (review.ReviewError, ValueError) as exc:
            return await items_page(request, user, str(exc), 400)
        return RedirectResponse("/items", status_code=303)

    async def users_page(request: Request, user: User) -> Response:
        if user.role != "admin":
            return render(request, "error.html", user, 403, message=t(lang_of(request), "forbidden"))
        return render(request, "users.html", user, users=users.all())

    # --- JSON API, scoped like the pages -------------------------------------------------------------------
    async def api_health(request: Request) -> Response:
        return JSONResponse({"ok": True, "store": store.dialect})

    async def api_stats(request: Request, user: User) -> Response:
        params = {k: v for k, v in request.query_params.items() if k not in ("format", "table")}
        if user.scope_site:
            if params.get("site", user.scope_site) != user.scope_site or \
                    params.get("hospital", user.scope_site) != user.scope_site:
                raise access.NotFound("another hospital's statistics")
            params["site"] = user.scope_site
            params.pop("hospital", None)
        return JSONResponse(compute(store, query_from(params), rules=rules, tables=TABLES))

    async def api_queue(request: Request, user: User) -> Response:
        return JSONResponse(access.queue(store, user, site=request.query_params.get("site"),
                                         limit=int(request.query_params.get("limit", "100"))))

    async def api_record(request: Request, user: User) -> Response:
        return JSONResponse(access.record(store, user, request.query_params.get("station", ""),
                                          request.query_params.get("id", ""), personal=personal))

    async def api_items(request: Request, user: User) -> Response:
        if "id" in request.query_params:
            i = access.item(store, user, int(request.query_params["id"]))
            return JSONResponse({**i.as_dict(), "rates": review.rates(store, i)})
        return JSONResponse([i.as_dict() for i in access.items(store, user)])

    routes = [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", page(logout), methods=["POST"]),
        Route("/lang/{code}", set_lang),
        Route("/", page(overview)),
        Route("/queue", page(queue_page)),
        Route("/record", page(record_page)),
        Route("/record/correct", page(correct, reviewer=True), methods=["POST"]),
        Route("/items", page(items_page)),
        Route("/item", page(item_page)),
        Route("/items/open", page(item_open, reviewer=True), methods=["POST"]),
        Route("/items/close", page(item_close, reviewer=True), methods=["POST"]),
        Route("/users", page(users_page)),
        Route("/api/health", api_health),
        Route("/api/stats", api(api_stats)),
        Route("/api/queue", api(api_queue)),
        Route("/api/record", api(api_record)),
        Route("/api/items", api(api_items)),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [Middleware(SessionMiddleware, secret_key=secret, session_cookie="qcedge_session",
                             max_age=SESSION_AGE, same_site="strict", https_only=secure_cookie)]
    app = Starlette(routes=routes, middleware=middleware)
    return app


def _local(target: str) -> str:
    """Only a path on this site (no //host, no scheme) is a place to go after login."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def _value(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


def serve(app: Starlette, host: str, port: int, *, certfile: str | None = None, keyfile: str | None = None) -> None:
    """Serve the dashboard until interrupted (SIGINT/SIGTERM)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                ssl_certfile=certfile, ssl_keyfile=keyfile)
