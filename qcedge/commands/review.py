"""`qcedge review`: the QC reviewer's queue, corrections and rectification items (see docs/central.md).

    qcedge review queue   --db DB [--site S] [--limit N]
    qcedge review show    --db DB STATION RECORD_ID
    qcedge review correct --db DB STATION RECORD_ID (--field NAME --value JSON | --verdict V) --by WHO --reason WHY
    qcedge review open    --db DB --scope site|station|technologist --target X --problem P --plan P --due DATE --by WHO
    qcedge review close   --db DB ID --by WHO --outcome TEXT
    qcedge review items   --db DB [--open|--closed]      (with the rates before and since each was opened)

A correction never changes the record as received: it is kept beside it, with who, when and why.
Output is JSON.
"""
from __future__ import annotations

import argparse
import json
import sys

from qcedge.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("review", help="review queue, corrections and rectification items on central's store",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        a = sub.add_parser(name, help=help_)
        a.add_argument("--db", default="central.sqlite", help="SQLite file or PostgreSQL URL")
        a.set_defaults(func=run)
        return a

    a = add("queue", "records that need review or drew a warn/alert finding, without a verdict yet")
    a.add_argument("--site")
    a.add_argument("--limit", type=int, default=100)
    a = add("show", "a record with its findings and corrections")
    a.add_argument("station")
    a.add_argument("record_id")
    a = add("correct", "correct a field's value or the verdict (the original is kept)")
    a.add_argument("station")
    a.add_argument("record_id")
    a.add_argument("--field")
    a.add_argument("--value", help="the new value, as JSON (12.5, \"text\", null); plain text is taken as text")
    a.add_argument("--verdict", choices=("complete", "needs_review", "abnormal"))
    a.add_argument("--by", required=True, help="the reviewer")
    a.add_argument("--reason", required=True)
    a = add("open", "open a rectification item for a hospital, station or technologist")
    a.add_argument("--scope", required=True, choices=("site", "station", "technologist"))
    a.add_argument("--target", required=True)
    a.add_argument("--problem", required=True)
    a.add_argument("--plan", required=True)
    a.add_argument("--due", required=True, help="ISO date")
    a.add_argument("--by", required=True)
    a = add("close", "close a rectification item with its outcome")
    a.add_argument("id", type=int)
    a.add_argument("--by", required=True)
    a.add_argument("--outcome", required=True)
    a = add("items", "rectification items, with the rates before and since each was opened")
    g = a.add_mutually_exclusive_group()
    g.add_argument("--open", action="store_const", const="open", dest="status")
    g.add_argument("--closed", action="store_const", const="closed", dest="status")


def _value(text: str | None):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def run(args: argparse.Namespace) -> int:
    from qcedge.central import review
    from qcedge.central.stores import open_store

    if args.action == "correct" and args.field is not None and args.value is None:
        raise UsageError("--field needs --value")
    store = open_store(args.db)
    try:
        if args.action == "queue":
            out = review.queue(store, site=args.site, limit=args.limit)
        elif args.action == "show":
            out = review.show(store, args.station, args.record_id)
        elif args.action == "correct":
            cid = review.correct(store, args.station, args.record_id, reviewer=args.by, reason=args.reason,
                                 field=args.field, value=_value(args.value), verdict=args.verdict)
            out = {"correction": cid, **review.show(store, args.station, args.record_id)}
        elif args.action == "open":
            out = {"item": review.open_item(store, scope=args.scope, target=args.target, problem=args.problem,
                                            plan=args.plan, due=args.due, opened_by=args.by)}
        elif args.action == "close":
            review.close_item(store, args.id, closed_by=args.by, outcome=args.outcome)
            out = {"closed": args.id}
        else:
            out = [{**item.as_dict(), "rates": review.rates(store, item)} for item in review.items(store, status=args.status)]
    finally:
        store.close()
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0
