"""${var} substitution: variables from the command line, records and earlier steps."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qcedge.rpa_flows.errors import RpaError, RunInputError
from qcedge.rpa_flows.model import VAR_RE


class VariableError(RpaError, KeyError):
    """A ${name} that no variable, record field or earlier step gives (bad input). A KeyError too, so
    `except KeyError` keeps working; unlike KeyError, `str()` is the message without quotes."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown variable '${{{name}}}' (known: {', '.join(sorted(known)) or 'none'})")

    def __str__(self) -> str:
        return str(self.args[0])


def lookup(variables: Mapping[str, Any], name: str) -> Any:
    """`a.b.c`: nested keys of mappings (records) or list indexes."""
    head, *rest = name.split(".")
    if head not in variables:
        raise VariableError(name, list(variables))
    value = variables[head]
    for part in rest:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            known = list(value) if isinstance(value, Mapping) else []
            raise VariableError(name, [f"{head}.{k}" for k in known] or list(variables))
    return value


def substitute(text: str, variables: Mapping[str, Any]) -> str:
    """Replace every ${name} (or ${rec.field}); `$${` stays a literal `${`. Values become strings."""
    if "$" not in text:
        return text
    parts = text.split("$${")
    out = []
    for part in parts:
        out.append(VAR_RE.sub(lambda m: _str(lookup(variables, m.group(1))), part))
    return "${".join(out)


def resolve_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """A whole-value reference `${x}` gives x itself (a list stays a list); other strings are substituted."""
    if isinstance(value, str):
        m = VAR_RE.fullmatch(value.strip())
        if m:
            return lookup(variables, m.group(1))
        return substitute(value, variables)
    return value


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def parse_var_args(items: list[str]) -> dict[str, str]:
    """--var k=v pairs."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise RunInputError(f"--var '{item}' is not NAME=VALUE")
        out[key.strip()] = value
    return out


def _read_text(path: Path, private: bool = False) -> str:
    """A UTF-8 file's text (a BOM is allowed); `private`: refuse a file other users may read or change."""
    import os
    import stat

    try:
        st = path.stat()
        raw = path.read_bytes()
    except OSError as exc:
        raise RunInputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if private and os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RunInputError(f"{path}: other users can read or change this file (mode {stat.S_IMODE(st.st_mode):o}); "
                            f"run: chmod 600 {path}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RunInputError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None


def _json(text: str, path: Path, line: int | None = None) -> Any:
    """Parsed JSON (a whole file, or `line` of it), or a RunInputError naming the file and the line."""
    where = f"{path}" if line is None else f"{path}: line {line}"
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunInputError(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}" if line is None
                            else f"{where} is not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise RunInputError(f"{where}: JSON nested too deeply") from None


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Records from a JSON list of objects or from JSON lines (one object a line)."""
    path = Path(path)
    text = _read_text(path)
    if text.lstrip().startswith("["):
        data = _json(text, path)
        if not isinstance(data, list):
            raise RunInputError(f"{path}: records are a JSON list of objects or JSON lines")
    else:
        data = [_json(line, path, n)
                for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    for n, rec in enumerate(data, 1):
        if not isinstance(rec, dict):
            raise RunInputError(f"{path}: record {n} is not a JSON object")
    return data


def load_var_file(path: str | Path) -> dict[str, str]:
    """NAME=VALUE lines (blank lines and # comments skipped) from a file only its owner can read:
    secrets kept out of the command line (where `ps` shows them) and out of the flow."""
    path = Path(path)
    text = _read_text(path, private=True)
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise RunInputError(f"{path}: line {n} is not NAME=VALUE")  # the line itself may hold a secret
        out[key.strip()] = value
    return out


def vars_from_env(items: list[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """--var-env NAME=ENVVAR: the variable NAME takes the value of the environment variable ENVVAR
    (NAME alone: ENVVAR is NAME too)."""
    import os

    environ = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for item in items:
        name, _, env = item.partition("=")
        name, env = name.strip(), (env or name).strip()
        if not name.isidentifier() or not env:
            raise RunInputError(f"--var-env '{item}' is not NAME or NAME=ENVVAR")
        if env not in environ:
            raise RunInputError(f"--var-env {name}: the environment variable {env} is not set")
        out[name] = environ[env]
    return out


def done_records(log: str | Path) -> set[str]:
    """Digests of the records a previous run saved (`record_done` events of its run.jsonl)."""
    path = Path(log)
    if path.is_dir():
        path = path / "run.jsonl"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RunInputError(f"{path}: cannot read the run log: {exc.strerror or exc}") from None
    done: set[str] = set()
    for n, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
        if '"record_done"' not in line:
            continue
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise RunInputError(f"{path}: line {n} is not a run-log event") from None
        if isinstance(event, dict) and event.get("event") == "record_done" and isinstance(event.get("digest"), str):
            done.add(event["digest"])
    return done


def record_digest(where: str, item: Any) -> str:
    """A record's identity in the run log: a hash, never its values (they are patient data)."""
    import hashlib

    body = json.dumps(item, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(f"{where}\n{body}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
