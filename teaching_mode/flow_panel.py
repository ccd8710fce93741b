"""Flows: record clicks and keys on the live screen into steps, edit them, replay step by step, save.

Steps are plain mappings of the flow YAML (`rpa_flows` model, schema qcedge.flow/1),
validated with `rpa_flows.loader.parse_flow` on every save and before every replay.
Replay runs each step through `rpa_flows.player.Player` (with all its safety checks) as
a one-step flow that carries the expected screen of the steps before it.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QSplitter, QVBoxLayout,
                               QWidget)

from qcedge.teaching_mode.canvas import Canvas
from qcedge.teaching_mode.flow_steps import FLOW_SCHEMA, describe_step, images_of, step_alone, target_of
from qcedge.teaching_mode.privacy import make_temp
from qcedge.teaching_mode.recorder import InputEvent, StepBuilder, XInputRecorder
from qcedge.teaching_mode.workers import Job

log = logging.getLogger(__name__)


class FlowPanel(QWidget):
    """The Flow tab: steps list, step editor, preview of the screen with the current step's target."""

    _recorded = Signal(object)

    def __init__(self, window: QWidget) -> None:
        super().__init__()
        self.main = window
        self.flow_path: Path | None = None
        self._tmp = make_temp("qcedge-flow-")
        self.flow_dir = self._tmp
        self.data: dict[str, Any] = {"schema": FLOW_SCHEMA, "id": "new_flow", "title": "", "steps": []}
        self.boxes: list[list[int] | None] = []
        self.current = 0
        self.recorder: XInputRecorder | None = None
        self.builder: StepBuilder | None = None
        self.job: Job | None = None
        self.variables: dict[str, Any] = {}
        self._own_rect = (0, 0, 0, 0)
        self._build()
        self._recorded.connect(self._on_recorded)
        self.refresh()

    # layout ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        top = QHBoxLayout()
        self.id_edit = QLineEdit(self.data["id"])
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText(self.tr("title"))
        self.new_btn = QPushButton(self.tr("New flow"))
        self.open_btn = QPushButton(self.tr("Open flow…"))
        self.save_btn = QPushButton(self.tr("Save flow…"))
        self.record_btn = QPushButton(self.tr("Record"))
        self.record_btn.setCheckable(True)
        self.record_btn.setToolTip(self.tr("Record clicks and keys on the screen (Ctrl+R); clicks in this window are ignored"))
        self.step_btn = QPushButton(self.tr("Step"))
        self.step_btn.setToolTip(self.tr("Replay the highlighted step (F10)"))
        self.run_btn = QPushButton(self.tr("Run to end"))
        self.restart_btn = QPushButton(self.tr("Rewind"))
        self.dry = QCheckBox(self.tr("dry run"))
        for w in (QLabel(self.tr("Flow id")), self.id_edit, self.title_edit, self.new_btn, self.open_btn, self.save_btn,
                  self.record_btn, self.step_btn, self.run_btn, self.restart_btn, self.dry):
            top.addWidget(w)
        outer.addLayout(top)
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.steps = QListWidget()
        self.steps.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        ll.addWidget(self.steps)
        row = QHBoxLayout()
        self.up_btn = QPushButton("▲")
        self.down_btn = QPushButton("▼")
        self.del_btn = QPushButton(self.tr("Delete step"))
        self.wait_btn = QPushButton(self.tr("Add wait before"))
        self.wait_btn.setToolTip(self.tr("Wait until this step's target appears (instead of a fixed delay)"))
        for w in (self.up_btn, self.down_btn, self.del_btn, self.wait_btn):
            row.addWidget(w)
        ll.addLayout(row)
        split.addWidget(left)
        mid = QWidget()
        ml = QVBoxLayout(mid)
        ml.setContentsMargins(0, 0, 0, 0)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText(self.tr("The selected step as YAML"))
        ml.addWidget(self.editor, 1)
        self.apply_btn = QPushButton(self.tr("Apply step"))
        ml.addWidget(self.apply_btn)
        self.patch = QLabel()
        self.patch.setMinimumHeight(40)
        ml.addWidget(self.patch)
        self.status = QLabel()
        self.status.setWordWrap(True)
        ml.addWidget(self.status)
        split.addWidget(mid)
        self.preview = Canvas()
        self.preview.setMinimumWidth(240)
        split.addWidget(self.preview)
        split.setSizes([360, 360, 480])
        outer.addWidget(split, 1)

        self.new_btn.clicked.connect(self.new_flow)
        self.open_btn.clicked.connect(self.open_dialog)
        self.save_btn.clicked.connect(self.save_dialog)
        self.record_btn.toggled.connect(self.set_recording)
        self.step_btn.clicked.connect(self.step_once)
        self.run_btn.clicked.connect(self.run_to_end)
        self.restart_btn.clicked.connect(self.rewind)
        self.up_btn.clicked.connect(lambda: self._move(-1))
        self.down_btn.clicked.connect(lambda: self._move(1))
        self.del_btn.clicked.connect(self._delete)
        self.wait_btn.clicked.connect(self._add_wait)
        self.apply_btn.clicked.connect(self._apply)
        self.steps.currentRowChanged.connect(self._selected)
        self.id_edit.editingFinished.connect(lambda: self.data.__setitem__("id", self.id_edit.text().strip() or "flow"))
        self.title_edit.editingFinished.connect(lambda: self.data.__setitem__("title", self.title_edit.text().strip()))
        for keys, slot in (("Ctrl+R", self.record_btn.toggle), ("F10", self.step_once)):
            sc = QShortcut(QKeySequence(keys), self.main)
            sc.activated.connect(slot)

    # list ---------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        row = self.steps.currentRow()
        self.steps.blockSignals(True)
        self.steps.clear()
        for i, step in enumerate(self.data["steps"]):
            item = QListWidgetItem(f"{i + 1}. {describe_step(step)}")
            if i == self.current:
                item.setBackground(QBrush(QColor(255, 225, 170)))
                item.setToolTip(self.tr("next step to replay"))
            self.steps.addItem(item)
        self.steps.blockSignals(False)
        if self.data["steps"]:
            self.steps.setCurrentRow(min(max(row, 0), len(self.data["steps"]) - 1))
        self.step_btn.setEnabled(bool(self.data["steps"]) and self.current < len(self.data["steps"]))

    def _selected(self, row: int) -> None:
        if not 0 <= row < len(self.data["steps"]):
            self.editor.clear()
            self.patch.clear()
            return
        step = self.data["steps"][row]
        self.editor.setPlainText(yaml.safe_dump(step, sort_keys=False, allow_unicode=True, default_flow_style=None))
        t = target_of(step)
        img = t.get("image") if t else None
        if isinstance(img, list):
            img = img[0]
        if img and (self.flow_dir / img).is_file():
            self.patch.setPixmap(QPixmap(str(self.flow_dir / img)))
        else:
            self.patch.clear()

    def _apply(self) -> None:
        row = self.steps.currentRow()
        if not 0 <= row < len(self.data["steps"]):
            return
        try:
            step = yaml.safe_load(self.editor.toPlainText())
            if not isinstance(step, dict):
                raise ValueError(self.tr("a step is a mapping with one action key"))
            self._validate({**self.data, "steps": [step]})
        except Exception as exc:  # noqa: BLE001 - shown to the integrator
            self.status.setText(self.tr("Not applied: %1").replace("%1", str(exc)))
            return
        self.data["steps"][row] = step
        self.status.setText(self.tr("Step %1 changed").replace("%1", str(row + 1)))
        self.refresh()

    def _move(self, d: int) -> None:
        row = self.steps.currentRow()
        new = row + d
        steps = self.data["steps"]
        if 0 <= row < len(steps) and 0 <= new < len(steps):
            steps[row], steps[new] = steps[new], steps[row]
            self.boxes[row], self.boxes[new] = self.boxes[new], self.boxes[row]
            self.refresh()
            self.steps.setCurrentRow(new)

    def _delete(self) -> None:
        row = self.steps.currentRow()
        if 0 <= row < len(self.data["steps"]):
            del self.data["steps"][row]
            del self.boxes[row]
            self.current = min(self.current, len(self.data["steps"]))
            self.refresh()

    def _add_wait(self) -> None:
        row = self.steps.currentRow()
        if not 0 <= row < len(self.data["steps"]):
            return
        t = target_of(self.data["steps"][row])
        if not t or "image" not in t:
            self.status.setText(self.tr("Only a step with an image target can be waited for"))
            return
        self.data["steps"].insert(row, {"name": f"wait for step {row + 1}", "wait": {"appear": {"image": t["image"]},
                                                                                  "timeout": 10}})
        self.boxes.insert(row, None)
        self.refresh()

    # files --------------------------------------------------------------------------------------------
    def _validate(self, data: dict[str, Any]):
        from qcedge.rpa_flows.loader import parse_flow

        return parse_flow(data, self.flow_dir / f"{data.get('id', 'flow')}.yaml")

    def new_flow(self) -> None:
        self.set_recording(False)
        self.flow_path, self.flow_dir = None, self._tmp
        self.data = {"schema": FLOW_SCHEMA, "id": "new_flow", "title": "", "steps": []}
        self.boxes, self.current, self.variables = [], 0, {}
        self.id_edit.setText("new_flow")
        self.title_edit.clear()
        self.refresh()

    def open_flow(self, path: str | Path) -> bool:
        from qcedge.rpa_flows.loader import load_flow

        path = Path(path)
        try:
            load_flow(path)
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except Exception as exc:  # noqa: BLE001 - rpa_flows.FlowError names the step
            self.status.setText(self.tr("Cannot open the flow: %1").replace("%1", str(exc)))
            return False
        self.flow_path, self.flow_dir = path, path.parent
        self.data = data
        self.boxes = [None] * len(data["steps"])
        self.current, self.variables = 0, {}
        self.id_edit.setText(str(data.get("id", "")))
        self.title_edit.setText(str(data.get("title", "")))
        self.refresh()
        return True

    def save_flow(self, path: str | Path) -> bool:
        path = Path(path)
        if path.suffix.lower() not in (".yaml", ".yml"):
            path = path / f"{self.data.get('id', 'flow')}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.resolve() != self.flow_dir.resolve():
            for rel in images_of(self.data):
                src, dst = self.flow_dir / rel, path.parent / rel
                if src.is_file() and not dst.exists():
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dst)
        data = {"schema": FLOW_SCHEMA, **{k: v for k, v in self.data.items() if k != "schema"}}
        old_dir, self.flow_dir = self.flow_dir, path.parent
        try:
            self._validate(data)
        except Exception as exc:  # noqa: BLE001
            self.flow_dir = old_dir
            self.status.setText(self.tr("The flow is not valid: %1").replace("%1", str(exc)))
            return False
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None),
                        encoding="utf-8")
        self.flow_path = path
        self.status.setText(self.tr("Saved %1").replace("%1", str(path)))
        return True

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open a flow"), "", self.tr("Flows (*.yaml *.yml)"))
        if path:
            self.open_flow(path)

    def save_dialog(self) -> None:
        default = str(self.flow_path or f"{self.data.get('id', 'flow')}.yaml")
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Save the flow"), default, self.tr("Flows (*.yaml)"))
        if path:
            self.save_flow(path)

    # recording ------------------------------------------------------------------------------------------
    def set_recording(self, on: bool) -> None:
        if on and self.recorder is None:
            g = self.main.frameGeometry()
            self._own_rect = (g.x(), g.y(), g.width(), g.height())
            self.builder = StepBuilder(self.flow_dir, prefix=self.data.get("id") or "step")
            self.builder.steps = self.data["steps"]
            self.builder.boxes = self.boxes
            try:
                self.recorder = XInputRecorder(self._recorded.emit, ignore=self._own).start()
            except Exception as exc:  # noqa: BLE001 - no display, no RECORD extension
                self.recorder = None
                self.status.setText(self.tr("Cannot record: %1").replace("%1", str(exc)))
                self.record_btn.blockSignals(True)
                self.record_btn.setChecked(False)
                self.record_btn.blockSignals(False)
                return
            self.status.setText(self.tr("Recording: click and type in the program; press Record again to stop"))
        elif not on and self.recorder is not None:
            self.recorder.stop()
            self.recorder = None
            self.status.setText(self.tr("Recorded %1 steps").replace("%1", str(len(self.data["steps"]))))
        self.record_btn.blockSignals(True)
        self.record_btn.setChecked(self.recorder is not None)
        self.record_btn.blockSignals(False)

    def _own(self, x: int, y: int) -> bool:
        ox, oy, w, h = self._own_rect
        return ox <= x < ox + w and oy <= y < oy + h

    def _on_recorded(self, ev: InputEvent) -> None:
        if self.builder is None:
            return
        self.builder.add(ev)
        if ev.kind == "click" and ev.screen is not None:
            self.preview.set_image(ev.screen)
            box = self.boxes[-1] if self.boxes else None
            self.preview.show_marker(box)
            if box is not None:
                self.preview.show_around(box)
        self.refresh()
        self.steps.setCurrentRow(len(self.data["steps"]) - 1)

    # replay -----------------------------------------------------------------------------------------------
    def rewind(self) -> None:
        self.current, self.variables = 0, {}
        self.refresh()

    def _one_step_flow(self, index: int) -> Any:
        """Step `index` alone, carrying the expected screen of the steps before it."""
        return self._validate({**self.data, "steps": [step_alone(self.data["steps"], index)]})

    def _locate(self, index: int, screen: np.ndarray) -> list[int] | None:
        t = target_of(self.data["steps"][index])
        if not t or "image" not in t:
            return None
        from qcedge.rpa_flows.locate import find_image

        images = [str(self.flow_dir / p) for p in ([t["image"]] if isinstance(t["image"], str) else t["image"])]
        m = find_image(screen, images, threshold=float(t.get("threshold") or 0.85))
        return list(m.box) if m.found else None

    def step_once(self, then_continue: bool = False) -> Job | None:
        if self.job is not None or self.current >= len(self.data["steps"]):
            return None
        index = self.current
        try:
            flow = self._one_step_flow(index)
        except Exception as exc:  # noqa: BLE001
            self.status.setText(self.tr("Step %1 is not valid: %2").replace("%1", str(index + 1)).replace("%2", str(exc)))
            return None
        self.steps.setCurrentRow(index)
        self.refresh()
        try:
            from qcedge.rpa_flows.screen import LiveScreen

            screen = LiveScreen()
            shot = screen.grab()
            screen.close()
            self.preview.set_image(shot)
            where = self._locate(index, shot)
            self.preview.show_marker(where)
            if where is not None:
                self.preview.show_around(where)
        except Exception as exc:  # noqa: BLE001 - the replay itself reports what is wrong
            log.debug("no preview of the screen: %s", exc)
        dry = self.dry.isChecked()
        variables = dict(self.variables)

        def work(job: Job) -> Any:
            from qcedge.rpa_flows.player import Player

            player = Player(flow, dry_run=dry, failsafe=True)
            try:
                return player.run(variables=variables)
            finally:
                player.close()

        self.status.setText(self.tr("Running step %1…").replace("%1", str(index + 1)))
        self.job = Job(work, self)
        self.job.finished.connect(lambda result: self._step_done(index, result, then_continue))
        self.job.failed.connect(lambda msg: self._step_done(index, None, False, msg))
        self.job.start()
        return self.job

    def _step_done(self, index: int, result: Any, then_continue: bool, error: str = "") -> None:
        self.job = None
        ok = result is not None and result.ok
        item = self.steps.item(index)
        if ok:
            self.variables.update(result.variables)
            self.current = index + 1
            msg = self.tr("Step %1 done").replace("%1", str(index + 1))
        else:
            msg = self.tr("Step %1 failed: %2").replace("%1", str(index + 1)).replace(
                "%2", error or (result.message if result is not None else ""))
        self.refresh()
        item = self.steps.item(index)
        if item is not None:
            item.setBackground(QBrush(QColor(215, 245, 215) if ok else QColor(255, 205, 205)))
        self.status.setText(msg)
        self.last_result = result
        if ok and then_continue and self.current < len(self.data["steps"]):
            self.step_once(then_continue=True)

    def run_to_end(self) -> None:
        self.step_once(then_continue=True)

    def busy(self) -> bool:
        return self.job is not None

    def shutdown(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()
            self.recorder = None
        shutil.rmtree(self._tmp, ignore_errors=True)
