"""The import direction of docs/architecture.md: a lower part never imports a higher one.

The parts are imported as `qcedge.<part>` (installed, they are subpackages of qcedge); a bare
top-level name (`import capture`) would not exist in an installed environment.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "capture": set(),
    "ocr_templates": set(),
    "qc_client": set(),
    "connectors": {"qc_client"},
    "rpa_flows": {"ocr_templates", "capture"},
    "teaching_mode": {"rpa_flows", "ocr_templates", "capture"},
    "central": {"qc_client"},
}
REPOSITORY_ONLY = {"samples", "benchmarks", "tests"}


def _part(module: str) -> str | None:
    """The part a module name belongs to: a part's name, "qcedge" (composition root), or None (not ours)."""
    names = module.split(".")
    if names[0] != "qcedge":
        return None
    return names[1] if len(names) > 1 and names[1] in ALLOWED else "qcedge"


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_downwards(package):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, module in _imports(path)
        if (part := _part(module)) is not None and part != package and part not in ALLOWED[package]
    ]
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(wrong)


def _python_files() -> list[Path]:
    skip = {".venv", "build", "dist", ".git"}
    return [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts)]


def test_parts_are_imported_under_qcedge_only():
    """`from capture import ...` works in a checkout only; installed, the parts are qcedge.capture ..."""
    bare = set(ALLOWED)
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _python_files()
        for line, module in _imports(path)
        if module.split(".")[0] in bare
        or (module.startswith("qcedge.") and module.split(".")[1] in REPOSITORY_ONLY)
    ]
    assert not wrong, "\n".join(wrong)


def test_installed_code_never_imports_the_repository_only_folders():
    """samples/, benchmarks/ and tests/ are not installed: the kit must not need them."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for package in [*ALLOWED, "qcedge"]
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in REPOSITORY_ONLY
    ]
    assert not wrong, "\n".join(wrong)


def _imports_of(part: str, libraries: set[str]) -> list[str]:
    """Where a part's code imports one of `libraries`, as "file:line imports module"."""
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / part).rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in libraries
    ]


def test_ocr_templates_works_without_qt_display_or_network():
    """ocr_templates is shared by the daemon, GUI, flows and benchmarks: no Qt, no screen, no sockets."""
    wrong = _imports_of("ocr_templates", {"PySide6", "pyautogui", "mss", "zmq", "httpx", "pynetdicom"})
    assert not wrong, "\n".join(wrong)


def test_central_runs_without_capture_ocr_rpa_or_qt():
    """A central site installs no OpenCV, Qt or OCR models: central imports none of them (qcedge -> central)."""
    heavy = {"cv2", "PySide6", "rapidocr", "onnxruntime", "tesserocr", "pyautogui", "mss", "Xlib", "numpy"}
    wrong = _imports_of("central", heavy)
    assert not wrong, "\n".join(wrong)
    # and importing it for real pulls none of them in (qc_client's modules included)
    import subprocess
    import sys

    code = ("import sys, qcedge.central.stores, qcedge.central.pg_store, qcedge.central.pg_local, "
            "qcedge.central.stats, qcedge.central.api, qcedge.central.review, qcedge.qc_client.receiver; "
            f"print(sorted(m for m in {sorted(heavy)!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr[-2000:]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] in ALLOWED:
        parts.insert(0, "qcedge")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports, at the top or inside functions alike."""
    modules = {_module_name(p): p for top in [*ALLOWED, "qcedge", *REPOSITORY_ONLY - {"tests"}]
               for p in (ROOT / top).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(package[:len(package) - node.level + 1] + [node.module or ""]).strip(".") \
                    if node.level else node.module
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    edges |= {target} if target in modules else {base} if base in modules else set()
        graph[name] = edges - {name}
    return graph


def test_no_import_circles():
    """No module reaches itself through imports (a circle breaks on import order and hides a design knot)."""
    graph = _import_graph()
    circles, done = [], set()
    for start in sorted(graph):
        if start in done:
            continue
        reach = _reachable(graph, start)
        if start in reach:
            circle = sorted(m for m in reach if start in _reachable(graph, m))
            circles.append(circle)
            done |= set(circle)
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_no_private_name_is_imported_from_another_module():
    """A `_name` is its module's own business: what another module needs is made public (or moved)."""
    ours = {"qcedge", *REPOSITORY_ONLY}
    wrong = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ours:
                wrong += [f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}.{a.name}"
                          for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert not wrong, "\n".join(wrong)


def test_the_command_line_starts_without_the_heavy_libraries():
    """`qcedge stats` on a central-only site: building the parser loads no OpenCV, numpy, Qt, OCR or DICOM code
    (each command imports what it needs when it runs)."""
    import subprocess
    import sys

    heavy = ["cv2", "numpy", "PySide6", "rapidocr", "onnxruntime", "pydicom", "pynetdicom", "zmq", "httpx", "mss",
             "pyautogui"]
    code = ("import sys, qcedge.cli; qcedge.cli.build_parser(); "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr[-2000:]
