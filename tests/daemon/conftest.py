"""Fixtures for the daemon tests: a real receiver, station configs, a short console session video."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon_helpers import SESSION, Central, Session, station_toml


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    c = Central(tmp_path / "central.sqlite")
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def make_station(tmp_path: Path) -> Callable[..., Path]:
    return lambda endpoint, video, **kw: station_toml(tmp_path, endpoint, video, **kw)


@pytest.fixture(scope="session")
def session_video(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Session:
    import cv2

    manifest = json.loads((samples_dir / "manifest.json").read_text())
    by_path = {f["path"]: f for f in manifest["frames"]}
    video = tmp_path_factory.mktemp("session") / "session.mp4"
    fps = 10
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), fps, (1920, 1080))
    truth: list[dict[str, Any]] = []
    seen: set[str] = set()
    for rel, seconds in SESSION:
        image = cv2.imread(str(samples_dir / "frames" / rel))
        assert image is not None and image.shape[:2] == (1080, 1920), rel
        for _ in range(int(seconds * fps)):
            writer.write(image)
        entry = by_path[f"frames/{rel}"]
        if entry["template_id"] and rel not in seen:
            truth.append(entry)
        seen.add(rel)
    writer.release()
    return Session(video, truth)
