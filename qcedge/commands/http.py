"""`qcedge http`: talk to RIS/HIS REST APIs and DICOMweb servers (QIDO-RS, WADO-RS metadata).

Credentials never go on the command line (other users can read it): a password or token is
taken from an environment variable or a file. A request that fails (HttpError) propagates to
`qcedge.cli.main`: one line, exit 1.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from qcedge.errors import UsageError
from qcedge.commands.connector_args import action_group


def register(sub: argparse._SubParsersAction) -> None:
    h = action_group(sub, "http", help="RIS/HIS REST and DICOMweb (QIDO-RS, WADO-RS) requests",
                     description="Send GET requests to REST APIs and DICOMweb servers with timeouts, retries "
                                 "and authentication.")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--user", help="basic auth user name (password from --password-env or --password-file)")
        q.add_argument("--password-env", metavar="VAR", default="QCEDGE_HTTP_PASSWORD",
                       help="environment variable holding the password (default QCEDGE_HTTP_PASSWORD)")
        q.add_argument("--password-file", metavar="FILE", help="file holding the password")
        q.add_argument("--token-env", metavar="VAR", help="environment variable holding a bearer token")
        q.add_argument("--token-file", metavar="FILE", help="file holding a bearer token")
        q.add_argument("--timeout", type=float, default=10.0, metavar="S", help="read timeout in seconds (default 10)")
        q.add_argument("--retries", type=int, default=3, help="retries on connection errors and 5xx (default 3)")
        q.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")

    q = h.add_parser("get", help="GET a URL and print its JSON")
    q.add_argument("url")
    q.add_argument("-q", "--param", action="append", default=[], metavar="KEY=VALUE", help="query parameter (repeat)")
    common(q)
    q.set_defaults(func=cmd_get)

    q = h.add_parser("qido", help="QIDO-RS search (studies, series or instances)",
                     description="Search a DICOMweb server, e.g. qcedge http qido http://pacs/dicom-web -q PatientID=P1")
    q.add_argument("url", help="the DICOMweb root, e.g. http://pacs:8042/dicom-web")
    q.add_argument("--level", choices=["studies", "series", "instances"], default="studies")
    q.add_argument("--study", metavar="UID", help="search inside this study")
    q.add_argument("--series", metavar="UID", help="search inside this series (with --study)")
    q.add_argument("-q", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="attribute filter, e.g. PatientID=P1, StudyDate=20260101-20261231 (repeat)")
    q.add_argument("--include", action="append", default=[], metavar="ATTR", help="includefield (repeat)")
    q.add_argument("--limit", type=int)
    q.add_argument("--json", action="store_true", help="print the DICOM JSON")
    common(q)
    q.set_defaults(func=cmd_qido)

    q = h.add_parser("wado-metadata", help="WADO-RS metadata of a study, series or instance")
    q.add_argument("url", help="the DICOMweb root")
    q.add_argument("--study", required=True, metavar="UID")
    q.add_argument("--series", metavar="UID")
    q.add_argument("--instance", metavar="UID")
    common(q)
    q.set_defaults(func=cmd_wado_metadata)


def _secret(env: str | None, file: str | None, what: str) -> str | None:
    if file:
        try:
            return Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"{what} file {file}: {exc.strerror or exc}") from None
    if env:
        return os.environ.get(env)
    return None


def _client(args: argparse.Namespace, url: str):
    from qcedge.connectors.http_client import HttpClient, make_auth

    if not url.startswith(("http://", "https://")):
        raise UsageError(f"'{url}' is not an http:// or https:// URL")
    token = _secret(args.token_env, args.token_file, "token")
    if (args.token_env or args.token_file) and not token:
        raise UsageError("no bearer token found in the given variable or file")
    password = _secret(args.password_env, args.password_file, "password") if args.user else None
    if args.timeout <= 0 or args.retries < 0:
        raise UsageError("--timeout must be positive and --retries not negative")
    return HttpClient(url, auth=make_auth(username=args.user, password=password, token=token),
                      timeout=args.timeout, retries=args.retries, verify=not args.insecure)


def _params(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UsageError(f"'{item}' is not KEY=VALUE")
        out.append((key, value))
    return out


def cmd_get(args: argparse.Namespace) -> int:
    import httpx

    from qcedge.connectors.http_client import parse_json

    params = _params(args.param)
    try:  # the URL as given (no slash added to its path); -q parameters join its own query
        url = str(httpx.URL(args.url).copy_merge_params(params)) if params else args.url
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise UsageError(f"'{args.url[:200]}' is not a URL ({exc})") from None
    with _client(args, args.url) as client:
        data = parse_json(client.get(url, headers={"Accept": "application/json"}))
    return _emit(json.dumps(data, ensure_ascii=False, indent=2))


def _emit(text: str) -> int:
    """Print the answer; a reader that stops early (`| head`) is not an error."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not complain again
        except (OSError, ValueError):
            pass
    return 0


STUDY_COLUMNS = (("0020000D", "study"), ("00080020", "date"), ("00080061", "modalities"), ("00080050", "accession"),
                 ("00081030", "description"), ("00201206", "series"), ("00201208", "instances"))
SERIES_COLUMNS = (("0020000E", "series"), ("00080060", "modality"), ("00200011", "number"), ("0008103E", "description"),
                  ("00201209", "instances"))
INSTANCE_COLUMNS = (("00080018", "instance"), ("00080016", "sop_class"), ("00200013", "number"))


def _row(obj: dict[str, Any], columns) -> str:
    from qcedge.connectors.dicomweb import value

    parts = []
    for tag, name in columns:
        v = value(obj, tag)
        if name == "modalities":
            element = obj.get(tag) or {}
            v = "/".join(element.get("Value", [])) or None
        if v not in (None, ""):
            parts.append(f"{name}={v}")
    return "  ".join(parts)


def cmd_qido(args: argparse.Namespace) -> int:
    from qcedge.connectors.dicomweb import DicomWebClient

    if args.series and not args.study:
        raise UsageError("--series needs --study")
    filters = dict(_params(args.param))
    with _client(args, args.url) as client:
        web = DicomWebClient(client)
        if args.level == "studies":
            found = web.search_studies(includefield=args.include, limit=args.limit, **filters)
        elif args.level == "series":
            found = web.search_series(args.study, includefield=args.include, limit=args.limit, **filters)
        else:
            found = web.search_instances(args.study, args.series, includefield=args.include, limit=args.limit,
                                         **filters)
    if args.json:
        return _emit(json.dumps(found, ensure_ascii=False, indent=1))
    columns = {"studies": STUDY_COLUMNS, "series": SERIES_COLUMNS, "instances": INSTANCE_COLUMNS}[args.level]
    if found:
        _emit("\n".join(_row(obj, columns) for obj in found))
    print(f"{len(found)} match(es)", file=sys.stderr)
    return 0


def cmd_wado_metadata(args: argparse.Namespace) -> int:
    from qcedge.connectors.dicomweb import DicomWebClient

    if args.instance and not args.series:
        raise UsageError("--instance needs --series")
    with _client(args, args.url) as client:
        found = DicomWebClient(client).retrieve_metadata(args.study, args.series, args.instance)
    return _emit(json.dumps(found, ensure_ascii=False, indent=1))
