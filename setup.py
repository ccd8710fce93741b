"""Packaging: the kit's parts are installed as subpackages of `qcedge` (metadata in setup.cfg).

The repository keeps each part in a top-level folder (capture/, ocr_templates/ ...); installed, they
are `qcedge.capture`, `qcedge.ocr_templates` ... so the kit claims no generic top-level name in an
environment. `samples/`, `benchmarks/` and `tests/` are the repository's and are not installed.
"""
from setuptools import find_packages, setup

REPOSITORY_ONLY = {"qcedge", "samples", "benchmarks", "tests", "docs", "scripts"}
PARTS = sorted(p for p in find_packages(exclude=["*.*"]) if p not in REPOSITORY_ONLY)

packages = ["qcedge", *find_packages(include=["qcedge.*"])]
package_dir = {"qcedge": "qcedge"}
for part in PARTS:
    package_dir[f"qcedge.{part}"] = part
    packages += [f"qcedge.{p}" for p in find_packages(include=[part, f"{part}.*"])]

setup(packages=packages, package_dir=package_dir)
