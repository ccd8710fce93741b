"""`qcedge run --config station.toml`: the capture daemon."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the capture daemon with a station config",
                       description="Watch the configured source, read taught screens, and send records to central. "
                                   "Stops cleanly on SIGTERM/SIGINT. See docs/station.md.")
    p.add_argument("--config", "-c", type=Path, required=True, help="station config (TOML)")
    p.add_argument("--check", action="store_true", help="only validate the config (and load the templates), then exit")
    p.add_argument("--fast", action="store_true",
                   help="a file source is read as fast as it decodes (pace = 0), whatever [source] pace says")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qcedge.config import check_paths, load_config
    from qcedge.errors import UsageError
    from qcedge.logs import configure

    config = load_config(args.config)  # a ConfigError names the file and the key
    problems = check_paths(config)
    if problems:
        raise UsageError("\n".join(problems))
    if args.check:
        from qcedge.ocr_templates import TemplateError, load_templates

        try:
            templates = load_templates(config.templates.folder)
        except TemplateError as exc:
            raise UsageError(f"{args.config}: [templates] folder: {exc}") from None
        print(f"{args.config}: OK (station {config.station.id} @ {config.station.site}, {len(templates)} templates)")
        return 0
    level = "DEBUG" if args.verbose >= 2 else config.logging.level
    try:
        configure(level, config.logging.json_lines, config.logging.file)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{args.config}: [logging] file: cannot open {config.logging.file}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    write_starting_status(config, args.config)

    from qcedge.ocr_templates import TemplateError
    from qcedge.qc_client.keys import KeyFileError
    from qcedge.daemon import Daemon

    daemon = Daemon(config, file_pace=0.0 if args.fast else None)
    daemon.install_signal_handlers()
    # The errors below gain the config key they come from; any other ends the command as qcedge.errors
    # says (a failed operation exits 1, a bug 3 with its trace logged).
    try:
        return daemon.run()
    except TemplateError as exc:
        raise UsageError(f"{args.config}: [templates] folder: {exc}") from None
    except KeyFileError as exc:
        raise UsageError(f"{args.config}: [feed] server_key / station_key: {exc}") from None
    except OSError as exc:
        key = _key_of(config, exc.filename)
        if key is None:
            raise
        raise UsageError(f"{args.config}: {key}: {exc.strerror or type(exc).__name__}: {exc.filename}") from None


def _key_of(config, filename: object) -> str | None:
    """The config key whose path an OSError is about (the file itself or a folder on its way)."""
    if not isinstance(filename, (str, bytes, Path)) or not filename:
        return None
    failed = Path(filename.decode(errors="replace") if isinstance(filename, bytes) else filename)
    keys = [("[feed] outbox", config.feed.outbox), ("[status] file", config.status.file),
            ("[logging] file", config.logging.file), ("[unknown] save_folder", config.unknown.save_folder),
            ("[templates] folder", config.templates.folder)]
    for key, path in keys:
        if path is not None and (failed == path or failed in path.parents or path in failed.parents):
            return key
    return None


def write_starting_status(config, where: Path) -> None:
    """Write a first status file ("starting") so `qcedge status` has something to read; a status
    file that cannot be written stops the start with one line."""
    import os
    from datetime import datetime, timezone

    from qcedge.errors import UsageError
    from qcedge.health import write_status

    try:
        write_status(config.status.file, {"schema": "qcedge.status/1", "station": config.station.id,
                                          "site": config.station.site, "pid": os.getpid(), "state": "starting",
                                          "started_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds")})
    except (OSError, ValueError) as exc:
        raise UsageError(f"{where}: [status] file: cannot write {config.status.file}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
