"""Helpers for the knowledge-base tests: a release source folder, keys, tampering with bundles."""
from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

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
            import io
            dst.addfile(info, io.BytesIO(data))
    return out
