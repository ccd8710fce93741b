"""Central's HTTP API (Starlette, served by uvicorn): statistics as JSON or CSV.

    GET /api/health
    GET /api/stats?from=2025-01-01&to=2025-02-01&by=site,modality&site=hospital-a&format=json|csv&table=groups

`from`/`to` are ISO dates or date-times (UTC without an offset; default: the last 30 days);
`by` names dimensions (site or hospital, station, modality, template, technologist, protocol);
any dimension given as a parameter filters on it. CSV gives one table (`table`, default groups).
"""
from __future__ import annotations

import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from qcedge.central.stats import DIMENSIONS, TABLES, StatsError, StatsQuery, compute, parse_time, to_csv
from qcedge.qc_client.rules import RuleSet
from qcedge.qc_client.store import Store

DAY = 86400.0


def query_from(params: dict[str, str], now: float | None = None) -> StatsQuery:
    """A StatsQuery from request (or command line) parameters; StatsError names the bad one."""
    until = parse_time(params["to"]) if params.get("to") else (now or time.time())
    since = parse_time(params["from"]) if params.get("from") else until - 30 * DAY
    by = [b.strip() for b in params.get("by", "").split(",") if b.strip()]
    filters = {k: v for k, v in params.items() if k in DIMENSIONS and v != ""}
    return StatsQuery(since=since, until=until, by=by, filters=filters)


def create_app(store: Store, *, rules: RuleSet | None = None) -> Starlette:
    """The API over an open store (its queries are serialised by the store's lock)."""

    def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "store": store.dialect})

    def stats(request: Request) -> Response:
        params = dict(request.query_params)
        fmt = params.pop("format", "json")
        table = params.pop("table", "groups")
        unknown = sorted(set(params) - set(DIMENSIONS) - {"from", "to", "by"})
        if unknown:
            return _bad(f"unknown parameter(s): {', '.join(unknown)}")
        if fmt not in ("json", "csv") or table not in TABLES:
            return _bad(f"format is json or csv; table is one of {', '.join(TABLES)}")
        try:
            q = query_from(params)
        except StatsError as exc:
            return _bad(str(exc))
        result = compute(store, q, rules=rules, tables=TABLES if fmt == "json" else (table,))
        if fmt == "csv":
            return PlainTextResponse(to_csv(result[table]), media_type="text/csv; charset=utf-8",
                                     headers={"Content-Disposition": f'attachment; filename="qcedge-{table}.csv"'})
        return JSONResponse(result)

    return Starlette(routes=[Route("/api/health", health), Route("/api/stats", stats)])


def _bad(message: str) -> Response:
    body: dict[str, Any] = {"error": message}
    return JSONResponse(body, status_code=400)


def serve(store: Store, host: str, port: int, *, rules: RuleSet | None = None) -> None:
    """Serve the API until interrupted (SIGINT/SIGTERM)."""
    import uvicorn

    uvicorn.run(create_app(store, rules=rules), host=host, port=port, log_level="warning", access_log=False)
