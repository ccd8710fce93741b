"""`qcedge dashboard`: the QC group's web dashboard on central's store (see docs/central.md).

    qcedge dashboard --db DB --users users.toml [--bind 127.0.0.1:8080] [--secret-file FILE] [--rules R]
                     [--personal hide|reviewers|all] [--tls-cert CERT --tls-key KEY]
    qcedge dashboard adduser NAME --users users.toml --role admin|reviewer|viewer [--site HOSPITAL]

The password of `adduser` is asked for on the terminal (or read from one line of stdin with
--password-stdin); the users file keeps only its scrypt hash. The session cookie is signed with
the secret in --secret-file (default: the users file's name + .secret, created with mode 0600).
"""
from __future__ import annotations

import argparse
import sys

from qcedge.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("dashboard", help="the QC group's web dashboard (login, overview, review, rectification)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", nargs="?", choices=("serve", "adduser"), default="serve")
    p.add_argument("name", nargs="?", help="adduser: the user's name (right after adduser)")
    p.add_argument("--db", default="central.sqlite", help="SQLite file or PostgreSQL URL (default central.sqlite)")
    p.add_argument("--users", required=True, help="users file (TOML, scrypt password hashes)")
    p.add_argument("--bind", default="127.0.0.1:8080", help="HOST:PORT to serve on (default 127.0.0.1:8080)")
    p.add_argument("--secret-file", help="session-signing secret (default: USERS.secret, created if missing)")
    p.add_argument("--rules", help="rules file: dose percentiles beside the reference levels it names")
    p.add_argument("--personal", choices=("hide", "reviewers", "all"), default="hide",
                   help="who sees personal fields, as the station sent them (hashed stays hashed); default hide")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (the session cookie is then Secure)")
    p.add_argument("--tls-key", help="the certificate's key")
    p.add_argument("--role", choices=("admin", "reviewer", "viewer"), help="adduser: the user's role")
    p.add_argument("--site", help="adduser: a viewer's hospital (site)")
    p.add_argument("--password-stdin", action="store_true", help="adduser: read the password from stdin")
    p.set_defaults(func=run)


def _adduser(args: argparse.Namespace) -> int:
    import getpass

    from qcedge.central.web.users import add_user

    if not args.name or not args.role:
        raise UsageError("adduser needs NAME and --role")
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    add_user(args.users, args.name, args.role, password, site=args.site)
    print(f"{args.name} ({args.role}) written to {args.users}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "adduser":
        return _adduser(args)
    from qcedge.central.stores import open_store
    from qcedge.central.web.app import create_app, serve
    from qcedge.central.web.users import Users, load_secret
    from qcedge.qc_client.rules import load_rules

    host, _, port = args.bind.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--bind {args.bind}: give HOST:PORT, e.g. 127.0.0.1:8080")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    users = Users.load(args.users)
    secret = load_secret(args.secret_file or args.users + ".secret")
    rules = load_rules(args.rules) if args.rules else None
    store = open_store(args.db)
    app = create_app(store, users, secret, rules=rules, personal=args.personal, secure_cookie=bool(args.tls_cert))
    scheme = "https" if args.tls_cert else "http"
    print(f"serving the dashboard on {scheme}://{host}:{port}/", flush=True)
    try:
        serve(app, host, int(port), certfile=args.tls_cert, keyfile=args.tls_key)
    finally:
        store.close()
    return 0
