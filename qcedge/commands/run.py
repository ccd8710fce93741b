"""`qcedge run --config station.toml`: the capture daemon."""
from __future__ import annotations

import argparse
import logging
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
    from qcedge.cli import UsageError
    from qcedge.config import ConfigError, load_config
    from qcedge.logs import configure

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if args.check:
        from ocr_templates import TemplateError, load_templates

        try:
            templates = load_templates(config.templates.folder)
        except TemplateError as exc:
            raise UsageError(f"{args.config}: [templates] folder: {exc}") from None
        print(f"{args.config}: OK (station {config.station.id} @ {config.station.site}, {len(templates)} templates)")
        return 0
    level = "DEBUG" if args.verbose >= 2 else config.logging.level
    configure(level, config.logging.json_lines, config.logging.file)

    from ocr_templates import TemplateError
    from qc_client.keys import KeyFileError
    from qcedge.daemon import Daemon

    daemon = Daemon(config, file_pace=0.0 if args.fast else None)
    daemon.install_signal_handlers()
    try:
        return daemon.run()
    except TemplateError as exc:
        raise UsageError(f"{args.config}: [templates] folder: {exc}") from None
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    except KeyFileError as exc:
        raise UsageError(f"{args.config}: [feed] server_key / station_key: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - one clear line, the details are in the log
        logging.getLogger("qcedge.daemon").debug("daemon failed", exc_info=True)
        raise UsageError(f"the daemon stopped: {type(exc).__name__}: {exc}") from None
