"""Ship the start-up hook files at the root of site-packages.

`autotelemetry.pth` (an ``import`` line, for every Python up to 3.17) and
`autotelemetry.start` (PEP 829 entry point, Python 3.15+) both activate
`autotelemetry._boot`; Python 3.15+ ignores the import line when the
matching `.start` file is present, so the boot runs once either way.
Editable installs get the same two files (hatchling's own path `.pth` is
named `_autotelemetry.pth`, so it sorts first and puts the sources on
``sys.path`` before our line runs).
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

HOOK_FILES = {
    "autotelemetry/_hook/autotelemetry.pth": "autotelemetry.pth",
    "autotelemetry/_hook/autotelemetry.start": "autotelemetry.start",
}


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        key = "force_include_editable" if version == "editable" else "force_include"
        build_data.setdefault(key, {}).update(HOOK_FILES)
