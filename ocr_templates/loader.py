"""Load and save template files, with errors that name the file, field and problem."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ocr_templates.errors import TemplateError
from ocr_templates.model import Template


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


def load_template(path: str | Path) -> Template:
    """Read a template YAML file; its reference PNG must exist beside it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(str(path), f"cannot read the file: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise TemplateError(str(path), f"not valid YAML: {getattr(exc, 'problem', exc)}", where) from None
    template = parse_template(data, path)
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
    return sorted(templates, key=lambda t: t.id)


def dump_template(template: Template) -> str:
    """The YAML text of a template, as an integrator would write it by hand."""
    data = template.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"path"})
    data = {"schema": template.schema_, **{k: v for k, v in data.items() if k != "schema"}}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_template(template: Template, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(dump_template(template), encoding="utf-8")
    return path
