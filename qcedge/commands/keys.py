"""`qcedge keys generate DIR [--name NAME]`: a CURVE key pair for the feed (secret file 0600)."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("keys", help="CURVE keys for the feed", description=__doc__)
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION")
    gen = sub.add_parser("generate", help="write NAME.key (public) and NAME.key_secret (owner-only) in DIR")
    gen.add_argument("dir", help="folder for the key files (created 0700 if missing)")
    gen.add_argument("--name", default="station", help="key name: the station id, or 'server' (default: station)")
    gen.add_argument("--force", action="store_true", help="replace existing key files of that name")
    gen.set_defaults(func=generate)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def generate(args: argparse.Namespace) -> int:
    from qcedge.qc_client.keys import generate_keypair, load_public

    public_path, secret_path = generate_keypair(args.dir, args.name, overwrite=args.force)
    print(f"public key: {public_path}  ({load_public(public_path).decode()})")
    print(f"secret key: {secret_path}  (mode 0600; keep it on this machine, never share it)")
    if args.name == "server":
        print("central: qcedge receive --keys DIR --allow STATION_KEYS_DIR; give stations the server.key file")
    else:
        print(f"copy {public_path.name} into central's allow-list folder (qcedge receive --allow DIR)")
    return 0
