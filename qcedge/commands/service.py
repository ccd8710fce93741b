"""`qcedge service install|uninstall|status --config station.toml`: the daemon as a systemd service.

See docs/service.md (and there, the Windows equivalent).
"""
from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from qcedge.errors import OperationFailed, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("service", help="run the capture daemon as a systemd service (install, uninstall, status)",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="service_command", metavar="ACTION")
    for name, func, text in (("install", install, "write the unit for a station config (and verify it)"),
                             ("uninstall", uninstall, "stop, disable and remove the unit (outbox and config stay)"),
                             ("status", status, "the unit, systemd's view of it, and the daemon's status file")):
        p = actions.add_parser(name, help=text, description=text)
        p.add_argument("--config", "-c", type=Path, required=True, help="station config (TOML)")
        p.add_argument("--unit-dir", type=Path, default=None,
                       help="folder of the unit file (default /etc/systemd/system)")
        if name == "install":
            p.add_argument("--user", help="the account the daemon runs as (default: [service] user, 'qcedge')")
            p.add_argument("--create-user", action="store_true",
                           help="create that account (a system user, no login) if it does not exist (root)")
            p.add_argument("--now", action="store_true",
                           help="also systemctl daemon-reload and enable --now (when systemd runs here)")
        p.set_defaults(func=func)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _load(args: argparse.Namespace):
    from qcedge.config import load_config
    from qcedge.service import SYSTEM_UNIT_DIR, unit_name

    config = load_config(args.config, check_secret=False)  # the secret may be readable by the service user only
    unit_dir = args.unit_dir or SYSTEM_UNIT_DIR
    return config, unit_dir / unit_name(config.station.id), args.unit_dir is None


def _systemctl(*argv: str) -> tuple[int, str]:
    try:
        proc = subprocess.run(["systemctl", *argv], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def _ours(path: Path) -> bool:
    from qcedge.service import MARKER

    try:
        return path.read_text(encoding="utf-8").startswith(MARKER)
    except OSError:
        return False


def install(args: argparse.Namespace) -> int:
    from qcedge.service import render_unit, systemd_running, user_exists, verify_unit

    config, path, system = _load(args)
    user = args.user or config.service.user
    if path.exists() and not _ours(path):
        raise UsageError(f"{path} exists and was not written by qcedge: not replaced (remove it or use --unit-dir)")
    if not user_exists(user):
        if args.create_user:
            _create_user(user)
        else:
            print(f"note: user {user} does not exist; create it with "
                  f"`useradd --system --user-group --no-create-home --shell /usr/sbin/nologin {user}` "
                  f"(or re-run with --create-user)")
    text = render_unit(config, args.config.resolve(), user=user)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o644)
        tmp.replace(path)
    except OSError as exc:
        raise OperationFailed(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote {path}")
    ok, said = verify_unit(path)
    if ok is False:
        raise UsageError(f"{path} does not pass systemd-analyze verify: {said}")
    print("verified with systemd-analyze: no complaints" if ok else f"not verified: {said}")
    folders = sorted({os.path.normpath(p.parent) for p in (config.feed.outbox, config.status.file, config.logging.file,
                                              config.unknown.save_folder) if p is not None})
    print(f"the daemon writes in {', '.join(folders)}: make them belong to {user} "
          f"(install -d -o {user} -g {user} -m 0750 FOLDER); keys and the site secret readable by {user} only")
    if args.now and system and systemd_running():
        for argv in (("daemon-reload",), ("enable", "--now", path.name)):
            rc, out = _systemctl(*argv)
            if rc != 0:
                raise OperationFailed(f"systemctl {' '.join(argv)} failed: {out}")
        print(f"enabled and started {path.name}; `qcedge service status --config {args.config}` shows it")
    else:
        print(f"next: systemctl daemon-reload && systemctl enable --now {path.name}")
    return 0


def _create_user(user: str) -> None:
    cmd = ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", user]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise OperationFailed(f"cannot create user {user}: {exc}") from None
    if proc.returncode != 0:
        raise OperationFailed(f"cannot create user {user}: {proc.stderr.strip() or proc.returncode}")
    print(f"created system user {user}")


def uninstall(args: argparse.Namespace) -> int:
    from qcedge.service import systemd_running

    config, path, system = _load(args)
    if not path.exists():
        print(f"no unit at {path}: nothing to remove")
        return 0
    if not _ours(path):
        raise UsageError(f"{path} was not written by qcedge: not removed")
    if system and systemd_running():
        rc, out = _systemctl("disable", "--now", path.name)
        if rc != 0:
            raise OperationFailed(f"systemctl disable --now {path.name} failed: {out}")
    try:
        path.unlink()
    except OSError as exc:
        raise OperationFailed(f"cannot remove {path}: {exc.strerror or exc}") from None
    if system and systemd_running():
        _systemctl("daemon-reload")
    print(f"removed {path}; the outbox ({config.feed.outbox}), remembered screens and config stay")
    return 0


def status(args: argparse.Namespace) -> int:
    import json

    from qcedge.service import render_unit, systemd_running

    config, path, system = _load(args)
    if not path.exists():
        print(f"unit        not installed ({path})")
        return 1
    current = path.read_text(encoding="utf-8")
    user = next((ln.split("=", 1)[1] for ln in current.splitlines() if ln.startswith("User=")), None)
    same = current == render_unit(config, args.config.resolve(), user=user)
    print(f"unit        {path}" + ("" if _ours(path) else " (not written by qcedge)"))
    print(f"            {current.splitlines()[0].removeprefix('# ')}")
    if not same:
        print("            differs from what `qcedge service install` would write now: re-run install")
    rc = 0
    if system and systemd_running():
        code, out = _systemctl("show", path.name, "-p", "ActiveState,SubState,NRestarts,MainPID,UnitFileState")
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        print(f"systemd     {props.get('ActiveState', '?')} ({props.get('SubState', '?')}), "
              f"{props.get('UnitFileState', '?')}, pid {props.get('MainPID', '?')}, restarts {props.get('NRestarts', '?')}")
        rc = 0 if code == 0 and props.get("ActiveState") == "active" else 1
    else:
        print("systemd     not running on this machine: the unit is written, systemd's view is not known")
    try:
        data = json.loads(config.status.file.read_text(encoding="utf-8"))
        print(f"daemon      {data.get('state', '?')}, qcedge {data.get('version', '?')}, "
              f"updated {data.get('updated_at') or data.get('started_at') or '?'} "
              f"(`qcedge status --config {args.config}` for the rest)")
    except (OSError, ValueError):
        print(f"daemon      no status file at {config.status.file} yet")
    return rc
