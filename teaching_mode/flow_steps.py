"""Flow steps as plain mappings of the flow YAML (schema qcedge.flow/1): described, targeted, replayed alone.

No Qt: the Flow tab (flow_panel) shows and edits them.
"""
from __future__ import annotations

import copy
from typing import Any

import yaml

FLOW_SCHEMA = "qcedge.flow/1"
INPUT_KEYS = ("click", "double_click", "right_click")


def describe_step(step: dict[str, Any]) -> str:
    """One line for the step list: '3. click anchors/x.png (+4,0)'."""
    for key in INPUT_KEYS:
        if key in step:
            t = step[key]
            if isinstance(t, dict):
                what = t.get("image") or t.get("text") or t.get("template") or t.get("point")
                off = t.get("offset")
                extra = f" ({off[0]:+d},{off[1]:+d})" if off else ""
                return f"{key.replace('_', ' ')} {what}{extra}"
            return f"{key.replace('_', ' ')} {t}"
    if "type" in step:
        return f"type «{step['type']}»"
    if "hotkey" in step:
        keys = step["hotkey"]
        return "keys " + (keys if isinstance(keys, str) else "+".join(keys))
    action = next((k for k in step if k not in ("name", "expect")), "?")
    return f"{action} {yaml.safe_dump(step[action], default_flow_style=True, allow_unicode=True).strip()}"


def target_of(step: dict[str, Any]) -> dict[str, Any] | None:
    """What a click or typing step acts on (image, text, template or point); None for other steps."""
    for key in INPUT_KEYS:
        if key in step and isinstance(step[key], dict):
            return step[key]
    if "type" in step and isinstance(step.get("into"), dict):
        return step["into"]
    return None


def images_of(flow: dict[str, Any]) -> list[str]:
    """Every image a flow's steps and screens name (paths relative to the flow's folder)."""
    out: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "image":
                    out.extend([v] if isinstance(v, str) else list(v))
                else:
                    visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)

    visit(flow.get("steps", []))
    visit(flow.get("screens", {}))
    return out


def step_alone(steps: list[dict[str, Any]], index: int) -> dict[str, Any]:
    """A copy of step `index` that carries the expected screen of the steps before it (replayed on its own)."""
    step = copy.deepcopy(steps[index])
    if "expect" not in step:
        for earlier in reversed(steps[:index]):
            if "expect" in earlier:
                step["expect"] = copy.deepcopy(earlier["expect"])
                break
    return step
