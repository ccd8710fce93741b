"""Record a flow through the teaching window on a real X display, then replay it step by step
after the target program's window has moved. Run by test_teach_flow.py (QT_QPA_PLATFORM=xcb).

    python flow_e2e_driver.py OUT_DIR
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from qcedge.teaching_mode.app import make_app  # noqa: E402
from qcedge.teaching_mode.main_window import MainWindow  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import driver_events  # noqa: E402
from driver_events import pump, until, xdo  # noqa: E402

app = make_app(language="en")
TARGET = Path(__file__).with_name("flow_target_app.py")


def click_at(x: int, y: int) -> None:
    xdo("mousemove", str(x), str(y), "click", "1")


def click(widget) -> None:
    p = widget.mapToGlobal(widget.rect().center())
    click_at(p.x(), p.y())


def start_target(x: int, y: int, out: Path) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, str(TARGET), str(x), str(y), str(out)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the target program did not start")
    return proc, json.loads(line)


def main() -> int:
    out_dir = Path(sys.argv[1])
    confirmed = out_dir / "confirmed.txt"
    win = MainWindow(live_ocr=False, quiet_errors=True)
    win.move(700, 0)
    win.resize(1200, 1000)
    win.show()
    until(lambda: win.windowHandle() is not None and win.windowHandle().isExposed(), 10, "the window")
    panel = win.flow_panel
    driver_events.status = panel.status.text  # time-out messages show the flow panel's status line
    win.bottom_tabs.setCurrentWidget(panel)
    panel.id_edit.setText("ris_confirm")
    panel.id_edit.editingFinished.emit()
    pump(0.2)

    target, where = start_target(40, 60, confirmed)
    try:
        click(panel.record_btn)
        until(lambda: panel.recorder is not None, 5, "recording to start")
        pump(0.4)  # a screen snapshot exists before the first click
        click_at(*where["field"])
        xdo("type", "--delay", "20", "CT123")
        pump(0.3)
        click_at(*where["button"])
        until(lambda: len(panel.data["steps"]) >= 3, 5, "three recorded steps")
        click(panel.record_btn)  # in our own window: ends recording, is not recorded
        until(lambda: panel.recorder is None, 5, "recording to stop")
        recorded = json.loads(json.dumps(panel.data["steps"]))
        if not confirmed.is_file() or "confirmed CT123" not in confirmed.read_text():
            raise SystemExit("the recorded clicks did not reach the program")
        flow_path = out_dir / "flow" / "ris_confirm.yaml"
        if not panel.save_flow(flow_path):
            raise SystemExit("saving the flow failed: " + panel.status.text())
    finally:
        target.terminate()
        target.wait(5)
    confirmed.unlink()

    # the program comes back somewhere else on the screen; the flow is reopened and replayed
    target, moved = start_target(260, 420, confirmed)
    replay = []
    try:
        panel.new_flow()
        if not panel.open_flow(flow_path):
            raise SystemExit("reopening the flow failed: " + panel.status.text())
        for i in range(len(panel.data["steps"])):
            click(panel.step_btn)
            until(lambda: panel.job is not None or panel.current != i, 5, f"step {i + 1} to start")
            until(lambda: panel.job is None, 40, f"step {i + 1} to finish")
            marker = panel.preview.marker.rect() if panel.preview.marker.isVisible() else None
            replay.append({"current": panel.current, "status": panel.status.text(),
                           "marker": [marker.x(), marker.y(), marker.width(), marker.height()] if marker else None})
            if panel.current != i + 1:
                break
        until(lambda: confirmed.is_file() and "confirmed" in confirmed.read_text(), 5, "the replayed Confirm click")
        result = confirmed.read_text(encoding="utf-8").strip()
    finally:
        target.terminate()
        target.wait(5)
    print(json.dumps({"recorded": recorded, "flow": str(flow_path), "replay": replay, "confirmed": result,
                      "moved": moved}, ensure_ascii=False))
    win.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
