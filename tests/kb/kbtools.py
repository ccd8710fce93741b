"""Helpers for the knowledge-base tests (and bench_kb): a release source folder, a station that runs a
release, its station.toml, tampering with bundles."""
from __future__ import annotations

import io
import json
import shutil
import tarfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def make_source(folder: Path, rules_extra: str = "") -> Path:
    """templates/ (the sample pack) and rules.yaml (the sample rules)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SAMPLES / "templates", folder / "templates",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (folder / "rules.yaml").write_text((SAMPLES / "rules" / "rules.yaml").read_text(encoding="utf-8") + rules_extra,
                                       encoding="utf-8")
    return folder


def rewrite_bundle(bundle: Path, out: Path, change) -> Path:
    """Copy a bundle's members through `change(name, data) -> data | None` (None drops the member)."""
    with tarfile.open(bundle) as src, tarfile.open(out, "w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            data = change(m.name, data)
            if data is None:
                continue
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return out


def install_release(store: Any, bundle: Path, public_key: Any) -> Any:
    """Make `bundle` the current release of a station's ReleaseStore, as if fetched and applied earlier."""
    manifest, staging = store.stage(bundle, public_key)
    store.place(manifest, staging)
    store.activate(manifest)
    return manifest


def write_station_config(path: Path, *, station: str, site: str, source: dict[str, Any], templates: dict[str, Any],
                         endpoint: str | list[str], **tables: dict[str, Any]) -> Path:
    """A station.toml: [station], [source], [templates], [feed] (outbox var/outbox.sqlite) and any other
    tables given (kb=..., status=...). Values are text, numbers, booleans, paths or lists of them."""
    config = {"station": {"id": station, "site": site}, "source": source, "templates": templates,
              "feed": {"endpoint": endpoint, "outbox": "var/outbox.sqlite"}, **tables}
    lines = []
    for table, values in config.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {json.dumps(str(v) if isinstance(v, Path) else v)}" for key, v in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wait_until(cond: Callable[[], Any], timeout: float = 60.0, what: str = "condition", interval: float = 0.05) -> Any:
    """The first true value of `cond()` within `timeout` seconds; AssertionError naming `what` if none comes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up waiting for {what}")


def station_state(folder: Path) -> dict:
    """A station's knowledge-base state.json as it is now ({} while there is none, or mid-write)."""
    try:
        return json.loads((folder / "state.json").read_text())
    except (OSError, ValueError):
        return {}
