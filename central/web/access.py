"""What a user may see: every read of the dashboard goes through here, scoped in the query itself
(a hospital viewer's site is a condition of each SQL statement, never a filter in the page)."""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from qcedge.central import review
from qcedge.central.errors import CentralError
from qcedge.central.stats import StatsQuery, compute
from qcedge.central.web.users import User
from qcedge.qc_client.record import Record
from qcedge.qc_client.rules import RuleSet
from qcedge.qc_client.store import Store

PERSONAL_POLICIES = ("hide", "reviewers", "all")
_PNG = b"\x89PNG\r\n\x1a\n"


class NotFound(CentralError, LookupError):
    """No such record or item for this user (another hospital's is 'not found' too)."""


def _ph(store: Store, sql: str) -> str:
    return sql if store.dialect == "sqlite" else sql.replace("?", "%s")


def overview(store: Store, user: User, since: float, until: float, rules: RuleSet | None = None) -> dict[str, Any]:
    """Statistics by hospital and modality over [since, until), only the viewer's hospital for a viewer."""
    filters = {"site": user.scope_site} if user.scope_site else {}
    result = compute(store, StatsQuery(since=since, until=until, by=["site", "modality"], filters=filters),
                     rules=rules)
    by_site: dict[str, dict[str, int]] = {}
    by_modality: dict[str, dict[str, int]] = {}
    for g in result["groups"]:
        for key, agg in ((g["site"], by_site), (g["modality"], by_modality)):
            a = agg.setdefault(key or "-", {"records": 0, "needs_review": 0})
            a["records"] += g["records"]
            a["needs_review"] += g["needs_review"]
    result["by_site"] = by_site
    result["by_modality"] = by_modality
    return result


def queue(store: Store, user: User, *, site: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    if user.scope_site:
        site = user.scope_site
    return review.queue(store, site=site or None, limit=limit)


def _body(store: Store, user: User, station: str, record_id: str) -> Record:
    sql, params = "SELECT body FROM records WHERE station = ? AND record_id = ?", [station, record_id]
    if user.scope_site:
        sql += " AND site = ?"
        params.append(user.scope_site)
    rows = store.query(_ph(store, sql), tuple(params))
    if not rows:
        raise NotFound(f"no record {record_id!r} from station {station!r}")
    return Record.model_validate_json(rows[0][0])


def record(store: Store, user: User, station: str, record_id: str, *, personal: str = "hide") -> dict[str, Any]:
    """A record as review.show gives it, with its field crops (PNG, base64) and personal fields per
    the site's policy: `hide` (never shown), `reviewers` (shown to reviewers and admins), `all`.
    Shown means as the station sent them: a hashed ID stays hashed."""
    rec = _body(store, user, station, record_id)  # raises NotFound outside the viewer's hospital
    shown = review.show(store, station, record_id)
    visible = personal == "all" or (personal == "reviewers" and user.can_review)
    crops: dict[str, str] = {}
    for name, data in rec.evidence.crops.items():
        try:
            if base64.b64decode(data, validate=True)[:8] == _PNG:
                crops[name] = data
        except (binascii.Error, ValueError):
            continue
    for name, f in shown["fields"].items():
        f["hidden"] = bool(f["personal"] and not visible)
        if f["hidden"]:
            f["value"] = f["text"] = None
            shown["current"][name] = None
            crops.pop(name, None)
    for c in shown["corrections"]:
        if c["field"] and shown["fields"].get(c["field"], {}).get("hidden"):
            c["old_value"] = c["new_value"] = None
    shown["crops"] = crops
    return shown


def items(store: Store, user: User, *, status: str | None = None) -> list[review.Item]:
    """Rectification items; a viewer's are those of its hospital, its stations and its technologists."""
    all_items = review.items(store, status=status)
    if not user.scope_site:
        return all_items
    site = user.scope_site
    stations = {s for (s,) in store.query(_ph(store, "SELECT DISTINCT station FROM records WHERE site = ?"), (site,))}
    techs = {t for (t,) in store.query(_ph(store, "SELECT DISTINCT technologist FROM records WHERE site = ? AND "
                                                  "technologist IS NOT NULL"), (site,))}
    return [i for i in all_items if (i.scope == "site" and i.target == site) or
            (i.scope == "station" and i.target in stations) or (i.scope == "technologist" and i.target in techs)]


def item(store: Store, user: User, item_id: int) -> review.Item:
    for i in items(store, user):
        if i.id == item_id:
            return i
    raise NotFound(f"no rectification item {item_id}")


def json_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
