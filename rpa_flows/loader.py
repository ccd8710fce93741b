"""Load flow files with errors that name the file, the step (number and name) and the problem."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rpa_flows.errors import FlowError
from rpa_flows.model import (
    ACTIONS, ClickStep, CheckStep, Condition, DoubleClickStep, Flow, ForEachStep, IfStep, ReadStep,
    RightClickStep, ScreenDef, Target, TypeStep, WaitStep, _Step, action_of,
)

_TAGS = set(ACTIONS) | {"invalid"}


def _step_label(index: int, step: Any) -> str:
    name = step.get("name") if isinstance(step, dict) else getattr(step, "name", None)
    return f"step {index + 1}" + (f" '{name}'" if name else "")


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """A pydantic error location as "step 3 'loop' > step 2 'save' > click > region"."""
    parts: list[str] = []
    node = data
    prev: Any = None
    skip_tag = False
    for item in loc:
        if skip_tag and isinstance(item, str) and item in _TAGS:
            skip_tag = False  # the discriminated-union tag after a step index
            prev = item
            continue
        skip_tag = False
        if isinstance(item, int):
            elem = node[item] if isinstance(node, list) and item < len(node) else None
            if prev in ("steps", "then", "else_", "else"):
                if parts and parts[-1] == "steps":
                    parts.pop()
                parts.append(_step_label(item, elem))
                skip_tag = True
            else:
                parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
            node = elem
        else:
            key = {"if_": "if", "else_": "else", "as_": "as", "not_": "not"}.get(str(item), str(item))
            if key in ("function-before", "function-after", "tagged-union") or (parts and parts[-1] == key):
                prev = item
                continue
            parts.append(key)
            node = node.get(key) if isinstance(node, dict) else None
        prev = item
    return " > ".join(p for p in parts if p)


def parse_flow(data: Any, path: str | Path = "<flow>") -> Flow:
    """Validate a flow given as a mapping (parsed YAML)."""
    if not isinstance(data, dict):
        raise FlowError(path, "a flow is a mapping with id, settings, screens, vars and steps")
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = f"unknown key '{first['loc'][-1]}'"
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise FlowError(path, msg + more, _where(tuple(first["loc"]), data) or None) from None
    if str(path) != "<flow>":
        flow = flow.model_copy(update={"path": Path(path)})
    check_references(flow)
    return flow


def load_flow(path: str | Path) -> Flow:
    """Read and validate a flow YAML file, and check that the files and screens it names exist."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowError(path, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise FlowError(path, f"not valid YAML: {getattr(exc, 'problem', exc)}", where) from None
    return parse_flow(data, path)


# -- walking ------------------------------------------------------------------------

def walk(steps: list[_Step], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, _Step, int]]:
    """Every step with its label ("step 3 'loop' > step 2 'save'") and nesting depth."""
    for i, step in enumerate(steps):
        label = (prefix + " > " if prefix else "") + _step_label(i, step)
        yield label, step, depth
        if isinstance(step, IfStep):
            yield from walk(step.then, label + " > then", depth + 1)
            yield from walk(step.else_, label + " > else", depth + 1)
        elif isinstance(step, ForEachStep):
            yield from walk(step.steps, label, depth + 1)


def targets_of(step: _Step) -> Iterator[tuple[str, Target | ScreenDef]]:
    """(key, target) pairs a step names, for reference checks and dry-run drawing."""
    if step.expect is not None:
        yield "expect", step.expect
    if isinstance(step, (ClickStep, DoubleClickStep, RightClickStep)):
        yield action_of(step), getattr(step, action_of(step))
        if step.verify is not None:
            yield from (("verify", t) for t in _condition_targets(step.verify))
    elif isinstance(step, TypeStep) and step.into is not None:
        yield "into", step.into
    elif isinstance(step, WaitStep):
        w = step.wait
        for key in ("appear", "vanish"):
            if getattr(w, key) is not None:
                yield f"wait > {key}", getattr(w, key)
        if w.until is not None:
            yield from (("wait > until", t) for t in _condition_targets(w.until))
    elif isinstance(step, (IfStep, CheckStep)):
        cond = step.if_ if isinstance(step, IfStep) else step.check
        yield from (("if" if isinstance(step, IfStep) else "check", t) for t in _condition_targets(cond))
    elif isinstance(step, ReadStep) and step.read.target is not None:
        yield "read", step.read.target


def _condition_targets(cond: Condition) -> Iterator[Target | ScreenDef]:
    for key in ("visible", "not_visible"):
        if getattr(cond, key) is not None:
            yield getattr(cond, key)
    for sub in (cond.all or []) + (cond.any or []) + ([cond.not_] if cond.not_ else []):
        yield from _condition_targets(sub)


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n] + "..."


def _is_file(p: Path) -> bool:
    try:
        return p.is_file()
    except (OSError, ValueError):  # name too long, NUL byte
        return False


def check_references(flow: Flow) -> None:
    """Named screens exist; image and template files exist; template fields exist."""
    from ocr_templates import TemplateError, load_template

    path = flow.path or "<flow>"
    templates: dict[str, Any] = {}

    def check_target(t: Target | ScreenDef, where: str) -> None:
        if isinstance(t, ScreenDef):
            if t.ref is not None and t.ref not in flow.screens:
                known = ", ".join(sorted(flow.screens)) or "none defined"
                raise FlowError(path, f"unknown screen '{t.ref}' (screens: {known})", where)
            for sub in t.all + t.none:
                check_target(sub, where)
            return
        if t.kind == "screen":
            if t.screen not in flow.screens:
                known = ", ".join(sorted(flow.screens)) or "none defined"
                raise FlowError(path, f"unknown screen '{t.screen}' (screens: {known})", where)
        for img in t.images:
            if "${" in img:
                continue  # named by a variable: checked when the step runs
            if not _is_file(flow.resolve(img)):
                raise FlowError(path, f"anchor image '{_short(img)}' not found (looked in {_short(str(flow.resolve(img)), 120)})",
                                where)
        if t.template is not None:
            if t.template not in templates:
                try:
                    templates[t.template] = load_template(flow.resolve(t.template))
                except TemplateError as exc:
                    raise FlowError(path, f"template: {exc}", where) from None
            tpl = templates[t.template]
            if t.field is not None and t.field not in {f.name for f in tpl.fields}:
                names = ", ".join(f.name for f in tpl.fields)
                raise FlowError(path, f"template '{tpl.id}' has no field '{t.field}' (fields: {names})", where)

    for name, screen in flow.screens.items():
        check_target(screen, f"screens > {name}")
        if screen.ref is not None:
            raise FlowError(path, "a screen definition lists targets; it cannot name another screen", f"screens > {name}")
    for label, step, _ in walk(flow.steps):
        for key, t in targets_of(step):
            check_target(t, f"{label} > {key}")
        if isinstance(step, ReadStep) and step.read.template is not None:
            check_target(Target(template=step.read.template), f"{label} > read")
            tpl = templates[step.read.template]
            for f in step.read.fields or []:
                if f not in {x.name for x in tpl.fields}:
                    raise FlowError(path, f"template '{tpl.id}' has no field '{f}'", f"{label} > read > fields")


def unguarded_input_steps(flow: Flow) -> list[str]:
    """Input steps that may run with no expected screen known (neither `expect` on the step
    nor an earlier `expect` / screen wait in the same or an enclosing block)."""
    out: list[str] = []

    def visit(steps: list[_Step], prefix: str, guarded: bool) -> bool:
        for i, step in enumerate(steps):
            label = (prefix + " > " if prefix else "") + _step_label(i, step)
            if step.expect is not None:
                guarded = True
            if isinstance(step, WaitStep) and step.wait.appear is not None:
                guarded = True
            if action_of(step) in ("click", "double_click", "right_click", "type", "hotkey") and not guarded:
                out.append(label)
            if isinstance(step, IfStep):
                a = visit(step.then, label + " > then", guarded)
                b = visit(step.else_, label + " > else", guarded)
                guarded = a and b
            elif isinstance(step, ForEachStep):
                visit(step.steps, label, guarded)
        return guarded

    visit(flow.steps, "", False)
    return out
