"""`qcedge kb`: knowledge-base releases (template packs + rules), signed at central, pushed to stations.

    qcedge kb keys DIR                                   make the Ed25519 signing key (DIR/kb.ed25519, 0600) and kb.pub
    qcedge kb build SRC --key K --version N [--target site=A] [--out F]   sign SRC (templates/, rules.yaml) into a bundle
    qcedge kb verify BUNDLE --public-key kb.pub          check a bundle as a station would
    qcedge kb publish BUNDLE --kb DIR                    make it the release central offers
    qcedge kb status --kb DIR                            which station runs which version, what it refused and why
    qcedge kb rollback --kb DIR [--to N]                 offer the previous release again

Central serves DIR with `qcedge receive --kb DIR` (docs/kb.md).
"""
from __future__ import annotations

import argparse
import getpass
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from qcedge.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("kb", help="knowledge-base releases: keys, build, publish, status, rollback",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="kb_command", metavar="ACTION", required=True)
    k = sub.add_parser("keys", help="make the signing key pair")
    k.add_argument("folder")
    k.add_argument("--name", default="kb")
    k.set_defaults(func=run_keys)
    b = sub.add_parser("build", help="sign a folder (templates/, rules.yaml) into a release bundle")
    b.add_argument("source")
    b.add_argument("--key", required=True, help="the signing key (kb.ed25519, owner-only)")
    b.add_argument("--version", type=int, required=True, help="release version (integer, higher than the last)")
    b.add_argument("--who", default=None, help="who builds it (default: the user)")
    b.add_argument("--note", default="")
    b.add_argument("--target", action="append", default=[], metavar="KIND=A,B",
                   help="site=..., station=..., modality=... (globs); default: every station")
    b.add_argument("--out", help="bundle file (default kb-VERSION.tar)")
    b.add_argument("--no-check", action="store_true", help="skip matching each template against its reference")
    b.set_defaults(func=run_build)
    v = sub.add_parser("verify", help="check a bundle as a station would (signature, hashes, templates, rules)")
    v.add_argument("bundle")
    v.add_argument("--public-key", required=True)
    v.set_defaults(func=run_verify)
    pub = sub.add_parser("publish", help="make a bundle the release central offers")
    pub.add_argument("bundle")
    pub.add_argument("--kb", required=True, help="central's knowledge-base folder")
    pub.add_argument("--who", default=None)
    pub.set_defaults(func=run_publish)
    st = sub.add_parser("status", help="which station runs which release")
    st.add_argument("--kb", required=True)
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=run_status)
    rb = sub.add_parser("rollback", help="offer the release published before the current one again")
    rb.add_argument("--kb", required=True)
    rb.add_argument("--to", type=int, default=None, help="a given published version")
    rb.add_argument("--who", default=None)
    rb.set_defaults(func=run_rollback)


def _validator(release: Path, manifest) -> None:
    from qcedge.kb import validate_release

    validate_release(release, manifest)


def run_keys(args: argparse.Namespace) -> int:
    from qcedge.central.kb import generate_signing_key

    secret, public = generate_signing_key(args.folder, args.name)  # KbError (a key there already): exit 2
    print(f"signing key {secret} (keep it at central, owner-only); public key {public} (give it to stations)")
    return 0


def run_build(args: argparse.Namespace) -> int:
    from qcedge.central.kb import build_release, parse_targets

    if args.version < 1:
        raise UsageError("--version must be >= 1")
    out = Path(args.out or f"kb-{args.version}.tar")
    build_release(args.source, out, args.key, version=args.version, who=args.who or getpass.getuser(),
                  targets=parse_targets(args.target), note=args.note, validate=None if args.no_check else _validator)
    print(f"release {args.version} built and signed: {out}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    import tempfile

    from qcedge.qc_client.kb import KbError, load_public_key, unpack, verify_release

    try:
        with tempfile.TemporaryDirectory(prefix="kb-verify-") as tmp:
            folder = Path(tmp) / "r"
            unpack(args.bundle, folder)
            manifest = verify_release(folder, load_public_key(args.public_key))
            _validator(folder, manifest)
    except KbError as exc:  # the reason alone does not say that the bundle is refused
        raise KbError(f"refused: {exc}") from None
    print(f"release {manifest.version} ({len(manifest.files)} files, by {manifest.who}, {manifest.created}) is good")
    return 0


@contextmanager
def _central(folder: str) -> Iterator[Any]:
    """Central's knowledge-base folder, closed on leaving."""
    from qcedge.central.kb import KbCentral

    if not Path(folder).is_dir():
        raise UsageError(f"--kb {folder}: not a folder")
    kb = KbCentral(folder)
    try:
        yield kb
    finally:
        kb.close()


def run_publish(args: argparse.Namespace) -> int:
    with _central(args.kb) as kb:
        manifest = kb.publish(args.bundle, args.who or getpass.getuser())
    print(f"release {manifest.version} published: stations get it with their next heartbeat")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    with _central(args.kb) as kb:
        version = kb.rollback(args.who or getpass.getuser(), args.to)
    print(f"rolled back: release {version} is offered again")
    return 0


def run_status(args: argparse.Namespace) -> int:
    with _central(args.kb) as kb:
        cur = kb.current()
        rows = kb.status()
    if args.json:
        print(json.dumps({"current": cur and cur["version"], "stations": [vars(r) for r in rows]}, indent=1))
        return 0
    print(f"current release: {cur['version'] if cur else 'none'}")
    print(f"{'station':<20} {'runs':>5}  {'applied':<25} {'refused':>7}  reason")
    for r in rows:
        print(f"{r.station:<20} {str(r.version or '-'):>5}  {r.applied_at or '-':<25} {str(r.refused or '-'):>7}  "
              f"{r.refused_reason or ''}".rstrip())
    return 0
