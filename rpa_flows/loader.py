"""Load flow files with errors that name the file, the step (number and name) and the problem."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from qcedge.rpa_flows.errors import FlowError
from qcedge.rpa_flows.locators import TARGET_TAGS, Locator, ScreenLocator, TemplateLocator
from qcedge.rpa_flows.model import (
    ACTIONS, ClickStep, CheckStep, Condition, DoubleClickStep, Flow, ForEachStep, IfStep, ReadStep,
    RightClickStep, ScreenDef, Step, TypeStep, WaitStep, action_of, step_label,
)

_TAGS = set(ACTIONS) | {"invalid"}


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
                parts.append(step_label(item, elem))
                skip_tag = True
            else:
                parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
            node = elem
        else:
            key = {"if_": "if", "else_": "else", "as_": "as", "not_": "not"}.get(str(item), str(item))
            if key in ("function-before", "function-after", "tagged-union") or key in TARGET_TAGS or (
                    parts and parts[-1] == key):
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
    check_shape(data, path)
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = first["msg"].removeprefix("Value error, ").splitlines()[0][:300]
        if first["type"] == "extra_forbidden":
            msg = f"unknown key '{first['loc'][-1]}'"
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise FlowError(path, msg + more, _where(tuple(first["loc"]), data) or None) from None
    if str(path) != "<flow>":
        flow = flow.model_copy(update={"path": Path(path)})
    check_references(flow)
    return flow


MAX_BYTES = 2_000_000  # a flow file is hand-written YAML: far below this
MAX_DEPTH = 40  # mappings/lists nested deeper than this are refused (a flow needs ~10)
MAX_NODES = 200_000  # values in the parsed file (YAML aliases can multiply a small file)


def decode_text(raw: bytes, path: str | Path) -> str:
    """UTF-8 (a BOM is allowed) or a FlowError naming the file and the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        hint = " (it looks like UTF-16)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise FlowError(path, f"not UTF-8 text{hint}: byte 0x{raw[exc.start]:02x} at offset {exc.start}; "
                              "save the file as UTF-8") from None


def check_shape(data: Any, path: str | Path) -> None:
    """Refuse data nested too deeply or too big before anything recursive looks at it."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise FlowError(path, f"the file holds more than {MAX_NODES} values (YAML aliases?); a flow is far smaller")
        if depth > MAX_DEPTH:
            raise FlowError(path, f"nested more than {MAX_DEPTH} levels deep; split the flow or flatten it")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
            stack.extend((k, depth + 1) for k in node if isinstance(k, (tuple, list, dict)))
        elif isinstance(node, (list, tuple)):
            stack.extend((v, depth + 1) for v in node)


def load_flow(path: str | Path) -> Flow:
    """Read and validate a flow YAML file, and check that the files and screens it names exist."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise FlowError(path, f"cannot read the file: {getattr(exc, 'strerror', None) or exc}") from None
    if len(raw) > MAX_BYTES:
        raise FlowError(path, f"the file is larger than {MAX_BYTES // 1_000_000} MB; a flow file is far smaller")
    text = decode_text(raw, path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = str(getattr(exc, "problem", None) or exc).splitlines()[0][:200]
        raise FlowError(path, f"not valid YAML: {problem}", where) from None
    except RecursionError:
        raise FlowError(path, "not valid YAML: nested too deeply") from None
    return parse_flow(data, path)


# -- walking ------------------------------------------------------------------------

def walk(steps: list[Step], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Step, int]]:
    """Every step with its label ("step 3 'loop' > step 2 'save'") and nesting depth."""
    for i, step in enumerate(steps):
        label = (prefix + " > " if prefix else "") + step_label(i, step)
        yield label, step, depth
        if isinstance(step, IfStep):
            yield from walk(step.then, label + " > then", depth + 1)
            yield from walk(step.else_, label + " > else", depth + 1)
        elif isinstance(step, ForEachStep):
            yield from walk(step.steps, label, depth + 1)


def targets_of(step: Step) -> Iterator[tuple[str, Locator | ScreenDef]]:
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


def _condition_targets(cond: Condition) -> Iterator[Locator | ScreenDef]:
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
    from qcedge.ocr_templates import TemplateError, load_template

    path = flow.path or "<flow>"
    templates: dict[str, Any] = {}

    def check_target(t: Locator | ScreenDef, where: str) -> None:
        if isinstance(t, ScreenDef):
            if t.ref is not None and t.ref not in flow.screens:
                known = ", ".join(sorted(flow.screens)) or "none defined"
                raise FlowError(path, f"unknown screen '{t.ref}' (screens: {known})", where)
            for sub in t.all + t.none:
                check_target(sub, where)
            return
        if isinstance(t, ScreenLocator):
            if t.screen not in flow.screens:
                known = ", ".join(sorted(flow.screens)) or "none defined"
                raise FlowError(path, f"unknown screen '{t.screen}' (screens: {known})", where)
        for img in t.images:
            if "${" in img:
                continue  # named by a variable: checked when the step runs
            if not _is_file(flow.resolve(img)):
                raise FlowError(path, f"anchor image '{_short(img)}' not found (looked in {_short(str(flow.resolve(img)), 120)})",
                                where)
        if isinstance(t, TemplateLocator):
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
    check_screen_cycles(flow)
    for i, handler in enumerate(flow.on_screen):
        check_target(handler.screen, f"on_screen > {handler.label(i)} > screen")
        for label, step, _ in walk(handler.steps, f"on_screen > {handler.label(i)}"):
            for key, t in targets_of(step):
                check_target(t, f"{label} > {key}")
    for label, step, _ in walk(flow.steps):
        for key, t in targets_of(step):
            check_target(t, f"{label} > {key}")
        if isinstance(step, ReadStep) and step.read.template is not None:
            check_target(TemplateLocator(template=step.read.template), f"{label} > read")
            tpl = templates[step.read.template]
            for f in step.read.fields or []:
                if f not in {x.name for x in tpl.fields}:
                    raise FlowError(path, f"template '{tpl.id}' has no field '{f}'", f"{label} > read > fields")


def _screen_refs(sd: ScreenDef) -> set[str]:
    refs = {sd.ref} if sd.ref else set()
    return refs | {t.screen for t in sd.all + sd.none if isinstance(t, ScreenLocator)}


def check_screen_cycles(flow: Flow) -> None:
    """A screen that names itself, directly or through others (a excludes b, b excludes a), can never be
    decided: refuse it here instead of recursing forever at run time."""
    path = flow.path or "<flow>"
    graph = {name: _screen_refs(sd) for name, sd in flow.screens.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in graph:
        if state.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        trail = [start]
        state[start] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                state[node] = 2
                stack.pop()
                trail.pop()
                continue
            nxt = todo.pop()
            if state.get(nxt) == 1:
                loop = trail[trail.index(nxt):] + [nxt]
                raise FlowError(path, f"screens refer to each other in a loop: {' -> '.join(loop)}; a screen "
                                      "cannot be defined by itself", f"screens > {nxt}")
            if nxt in graph and not state.get(nxt):
                state[nxt] = 1
                trail.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))


def unguarded_input_steps(flow: Flow) -> list[str]:
    """Input steps that may run with no expected screen known (neither `expect` on the step
    nor an earlier `expect` / screen wait in the same or an enclosing block)."""
    out: list[str] = []

    def visit(steps: list[Step], prefix: str, guarded: bool) -> bool:
        for i, step in enumerate(steps):
            label = (prefix + " > " if prefix else "") + step_label(i, step)
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
