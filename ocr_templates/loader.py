"""Load and save template files, with errors that name the file, field and problem."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from qcedge.ocr_templates.errors import TemplateError
from qcedge.ocr_templates.model import Template


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """Turn a pydantic error location into 'fields[3] (kv) > range'."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            name = node[item].get("name") if isinstance(node, list) and item < len(node) and isinstance(node[item], dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]" + (f" '{name}'" if name else "")]
            node = node[item] if isinstance(node, list) and item < len(node) else None
        elif item in ("value", "table") and parts:  # discriminated-union tags
            continue
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return " > ".join(parts)


def parse_template(data: Any, path: str | Path = "<template>") -> Template:
    """Validate a template given as a mapping (already parsed YAML)."""
    if not isinstance(data, dict):
        raise TemplateError(str(path), "a template is a mapping of keys (id, version, anchors, fields, ...)")
    try:
        template = Template.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise TemplateError(str(path), msg + more, _where(tuple(first["loc"]), data) or None) from None
    return template.model_copy(update={"path": Path(path)}) if isinstance(path, Path) else template


MAX_BYTES = 2_000_000      # a template file is a few KB; anything this big is not one
MAX_DEPTH = 40             # nesting a template never needs (YAML nested thousands deep exhausts the parser)


def parse_yaml_text(raw: bytes, path: str | Path = "<template>") -> Any:
    """The YAML data of a template file, or a TemplateError naming the file: not UTF-8, too big, nested too
    deep, aliases blowing up, not YAML. Every template file enters here."""
    where = str(path)
    if len(raw) > MAX_BYTES:
        raise TemplateError(where, f"{len(raw)} bytes: too big for a template file (at most {MAX_BYTES})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TemplateError(where, f"not UTF-8 text (byte {exc.start}): save the file as UTF-8") from None
    if "\x00" in text:
        raise TemplateError(where, "not a text file (it holds NUL characters)")
    depth = peak = 0
    for ch in text:   # flow nesting ('[[[...', '{{{...') is what exhausts the parser: refuse it up front
        if ch in "[{":
            depth += 1
            peak = max(peak, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    if peak > MAX_DEPTH:
        raise TemplateError(where, f"nested {peak} deep: a template is never nested more than {MAX_DEPTH} deep")
    try:
        data = yaml.load(text, Loader=_SafeNoAliasLoader)
    except RecursionError:
        raise TemplateError(where, f"nested too deep: a template is never nested more than {MAX_DEPTH} deep") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise TemplateError(where, f"not valid YAML: {problem}", at) from None
    if _depth(data) > MAX_DEPTH:
        raise TemplateError(where, f"nested too deep: a template is never nested more than {MAX_DEPTH} deep")
    return data


class _SafeNoAliasLoader(yaml.SafeLoader):
    """SafeLoader without aliases: a template needs none, and '&a [*a, *a, ...]' chains blow up in memory."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in a template",
                                              event.start_mark)
        return super().compose_node(parent, index)


def _depth(data: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(data, dict):
        return max((_depth(v, level + 1) for v in data.values()), default=level + 1)
    if isinstance(data, list):
        return max((_depth(v, level + 1) for v in data), default=level + 1)
    return level


def load_template(path: str | Path) -> Template:
    """Read a template YAML file; its reference PNG must exist beside it."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TemplateError(str(path), f"cannot read the file: {exc.strerror or exc}") from None
    data = parse_yaml_text(raw, path)
    template = parse_template(data, path)
    check_geometry(template, path)
    ref = template.reference_path
    if ref is not None and not ref.is_file():
        raise TemplateError(str(path), f"reference image '{template.reference.image}' not found beside the template", "reference > image")
    return template


def load_templates(folder: str | Path) -> list[Template]:
    """Load every *.yaml template in a folder (a template pack), sorted by id."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TemplateError(str(folder), "not a folder of templates")
    templates = [load_template(p) for p in sorted(folder.glob("*.y*ml")) if p.name != "pack.yaml"]
    if not templates:
        raise TemplateError(str(folder), "no template files (*.yaml) in this folder")
    seen: dict[str, Path | None] = {}
    for t in templates:
        if t.id in seen:
            first = seen[t.id].name if seen[t.id] else "?"
            raise TemplateError(str(t.path or folder), f"template id '{t.id}' is used by {first} too: ids in a "
                                "pack must differ", "id")
        seen[t.id] = t.path
    return sorted(templates, key=lambda t: t.id)


class _FlowList(list):
    """A short list written on one line: boxes, ranges."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))

# keys a person writes first, in this order; the rest follow in model order
_FIRST = ("name", "kind", "label", "box", "x", "w", "type", "unit")


def _ordered(item: dict[str, Any]) -> dict[str, Any]:
    head = {k: item[k] for k in _FIRST if k in item}
    return {**head, **{k: v for k, v in item.items() if k not in head}}


def _box(b: Any) -> Any:
    return _FlowList([b["x"], b["y"], b["w"], b["h"]]) if isinstance(b, dict) and set(b) == set("xywh") else b


def _tidy(data: dict[str, Any]) -> dict[str, Any]:
    for a in data.get("anchors", []):
        a["box"] = _box(a.get("box"))
    for i, f in enumerate(data.get("fields", [])):
        f["box"] = _box(f.get("box"))
        for spec in [f, *f.get("columns", [])]:
            if isinstance(spec.get("range"), list):
                spec["range"] = _FlowList(int(v) if float(v).is_integer() else v for v in spec["range"])
            if isinstance(spec.get("choices"), list) and sum(len(str(c)) for c in spec["choices"]) < 60:
                spec["choices"] = _FlowList(spec["choices"])
        if "columns" in f:
            f["columns"] = [_ordered(c) for c in f["columns"]]
        data["fields"][i] = _ordered(f)
    data["anchors"] = [_ordered(a) for a in data.get("anchors", [])]
    if isinstance(data.get("identity"), list):
        data["identity"] = _FlowList(data["identity"])
    return data


def dump_template(template: Template) -> str:
    """The YAML text of a template, as an integrator would write it by hand.

    Keys at their defaults are left out; a field starts with name, kind, label
    and box; boxes are `[x, y, w, h]` on one line. Loading the text gives the
    same template back.
    """
    data = template.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"path"})
    data = {"schema": template.schema_, **{k: v for k, v in data.items() if k != "schema"}}
    for f, fd in zip(template.fields, data.get("fields", [])):
        if getattr(f, "kind", "value") == "table":
            fd["kind"] = "table"  # always say what a table is
    return yaml.dump(_tidy(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def save_template(template: Template, path: str | Path) -> Path:
    """Write the template's YAML (the reference image is saved by the caller, beside it)."""
    path = Path(path)
    text = dump_template(template)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def check_geometry(template: Template, path: str | Path = "<template>") -> None:
    """Every anchor and field box lies inside the reference image; table columns inside their table."""
    rw, rh = template.reference.width, template.reference.height
    where = str(path)

    def inside(box: Any, place: str) -> None:
        x, y, w, h = box.as_tuple()
        if x + w > rw or y + h > rh:
            raise TemplateError(where, f"box [{x}, {y}, {w}, {h}] reaches outside the {rw}x{rh} reference image",
                                place + " > box")

    for i, a in enumerate(template.anchors):
        inside(a.box, f"anchors[{i}] '{a.name}'")
    for i, f in enumerate(template.fields):
        place = f"fields[{i}] '{f.name}'"
        inside(f.box, place)
        columns = getattr(f, "columns", None)
        if columns:
            for j, c in enumerate(columns):
                if c.x + c.w > f.box.w:
                    raise TemplateError(where, f"column x {c.x} + w {c.w} is wider than the table box ({f.box.w})",
                                        f"{place} > columns[{j}] '{c.name}'")
            if f.header + f.row_height > f.box.h:
                raise TemplateError(where, f"header {f.header} + row_height {f.row_height} is taller than the "
                                    f"table box ({f.box.h}): no row fits", place)
