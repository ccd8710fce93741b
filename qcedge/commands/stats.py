"""`qcedge stats`: statistics over central's archive (SQLite file or PostgreSQL).

Records and needs-review rate by hospital (site), station, modality, template,
technologist or protocol; findings by rule and level; median and 75th percentile
of CTDIvol and DLP per modality and protocol (or template) beside the reference
levels the rules name. Text, JSON or CSV; or, with --serve HOST:PORT, the same as
an HTTP API (GET /api/stats). See docs/central.md.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys

from qcedge.errors import UsageError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("stats", help="statistics over central's records (or serve them over HTTP)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default="central.sqlite", help="SQLite file or PostgreSQL URL (default central.sqlite)")
    p.add_argument("--from", dest="since", help="start (ISO date or date-time; UTC without offset); default 30 days "
                                                "before --to")
    p.add_argument("--to", dest="until", help="end, exclusive (default now)")
    p.add_argument("--by", default="", help="dimensions, comma-separated: site (or hospital), station, modality, "
                                            "template, technologist, protocol")
    for dim in ("site", "station", "modality", "template", "technologist", "protocol"):
        p.add_argument(f"--{dim}", help=f"only records of this {dim}")
    p.add_argument("--rules", help="rules file: dose percentiles are shown beside the levels it names")
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    p.add_argument("--table", choices=("groups", "findings", "doses"), default="groups",
                   help="the table for --format csv (default groups)")
    p.add_argument("--serve", metavar="HOST:PORT", help="serve the HTTP API instead (e.g. 127.0.0.1:8080)")
    p.set_defaults(func=run)


def _open(args: argparse.Namespace):
    from qcedge.central.stores import open_store
    from qcedge.qc_client.rules import load_rules

    rules = load_rules(args.rules) if args.rules else None
    return open_store(args.db), rules


def run(args: argparse.Namespace) -> int:
    from qcedge.central.api import query_from, serve
    from qcedge.central.stats import compute, to_csv

    params = {"from": args.since or "", "to": args.until or "", "by": args.by}
    params.update({d: getattr(args, d) for d in ("site", "station", "modality", "template", "technologist",
                                                 "protocol") if getattr(args, d)})
    if args.serve:
        host, _, port = args.serve.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UsageError(f"--serve {args.serve}: give HOST:PORT, e.g. 127.0.0.1:8080")
        store, rules = _open(args)
        print(f"serving central's API on http://{host}:{port}/api/stats", flush=True)
        try:
            serve(store, host, int(port), rules=rules)
        finally:
            store.close()
        return 0
    q = query_from(params)
    store, rules = _open(args)
    try:
        result = compute(store, q, rules=rules, tables=(args.table,) if args.format == "csv" else
                         ("groups", "findings", "doses"))
    finally:
        store.close()
    if args.format == "json":
        json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
        print()
    elif args.format == "csv":
        sys.stdout.write(to_csv(result[args.table]))
    else:
        _text(result)
    return 0


def _text(result: dict) -> None:
    print(f"records captured {result['from']} .. {result['to']}"
          + (f", by {', '.join(result['by'])}" if result["by"] else "")
          + "".join(f", {k}={v}" for k, v in result["filters"].items()))
    by = result["by"]
    for g in result["groups"]:
        keys = " ".join(f"{k}={g.get(k)}" for k in by)
        print(f"  {keys + '  ' if keys else ''}records {g['records']}  needs review {g['needs_review']} "
              f"({100 * g['needs_review_rate']:.1f} %)")
    if not result["groups"]:
        print("  no records")
    if result["findings"]:
        print("findings:")
        for f in result["findings"]:
            keys = " ".join(f"{k}={f.get(k)}" for k in by)
            print(f"  {keys + '  ' if keys else ''}{f['rule']} {f['level']}: {f['count']}")
    if result["doses"]:
        print("doses (median / 75th percentile):")
        for d in result["doses"]:
            keys = " ".join(f"{k}={d.get(k)}" for k in by if k not in ("modality", "protocol"))
            line = f"  {keys + '  ' if keys else ''}{d['modality']} {d['protocol']}:"
            if d["ctdivol_n"]:
                ref = d.get("ctdivol_reference")
                line += f" CTDIvol {d['ctdivol_median']} / {d['ctdivol_p75']} mGy (n={d['ctdivol_n']}" + \
                        (f", level {ref:g})" if ref is not None else ")")
            if d["dlp_n"]:
                ref = d.get("dlp_reference")
                line += f" DLP {d['dlp_median']} / {d['dlp_p75']} mGy·cm (n={d['dlp_n']}" + \
                        (f", level {ref:g})" if ref is not None else ")")
            print(line)
