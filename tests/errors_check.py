"""What every part promises of its errors (qcedge.errors): one root, two kinds, one definition each."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

from qcedge.errors import ROOTS, root


def error_classes(part: str) -> dict[str, type[BaseException]]:
    """Every public exception class defined in the part's modules, by qualified name."""
    package = importlib.import_module("qcedge" if part == "qcedge" else f"qcedge.{part}")
    names = [package.__name__]
    if part != "qcedge":  # qcedge's own modules are its top level; the parts are checked on their own
        names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    else:
        names += [f"qcedge.{m.name}" for m in pkgutil.iter_modules(package.__path__[:1])]
        names += [f"qcedge.commands.{m.name}" for m in pkgutil.iter_modules(importlib.import_module(
            "qcedge.commands").__path__)]
    found: dict[str, type[BaseException]] = {}
    for name in names:
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == name
                    and not attr.startswith("_")):
                found[f"{name}.{attr}"] = obj
    return found


def problems(part: str) -> list[str]:
    """What is wrong with a part's errors; empty when all is as qcedge.errors says."""
    assert part in ROOTS, f"{part} has no root in qcedge.errors.ROOTS"
    base = root(part)
    classes = error_classes(part)
    wrong = [f"{name} does not derive from {base.__name__}" for name, cls in classes.items()
             if not issubclass(cls, base)]
    short: dict[str, list[str]] = {}
    for name in classes:
        short.setdefault(name.rsplit(".", 1)[1], []).append(name)
    wrong += [f"{short_name} is defined {len(where)} times: {', '.join(where)}"
              for short_name, where in short.items() if len(where) > 1]
    return wrong
