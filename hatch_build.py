"""Ship the start-up hook at the root of site-packages, and the built hot modules.

`autotelemetry.pth` (``import _autotelemetry_boot``, for every Python up to
3.17) and `autotelemetry.start` (PEP 829 entry point, Python 3.15+) both
activate the boot; Python 3.15+ ignores the import line when the matching
`.start` file is present, so the boot runs once either way.

The host side's hot path is shipped as modules built from the sources in
``autotelemetry/hook/`` by ``tools/amalgamate.py`` (the boot; the allowlist
decision; one recording module per framework), so that a host CLI loads a few
small modules and never the ``autotelemetry`` package; each registers itself
under its sources' names, so the process holds one copy of each module and its
state. Only the boot, which the ``.pth`` line imports, sits at the root; the
others are in ``autotelemetry/built/``, off ``sys.path``, loaded by the boot
(``amalgamate.destination``). Editable installs get only a shim for the boot (the sources are
used, so edits take effect); hatchling's own path `.pth` sorts first and puts
the sources on ``sys.path`` before our line runs.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: File name at the site-packages root -> its content.
HOOK_FILES = {
    "autotelemetry.pth": "import _autotelemetry_boot\n",
    "autotelemetry.start": "_autotelemetry_boot:activate\n",
}
BOOT = "_autotelemetry_boot.py"
EDITABLE_SHIM = '''"""Editable install of autotelemetry: the boot lives in the source tree."""

import sys

try:  # a moved or broken source tree must not break every interpreter start
    from autotelemetry.hook import boot

    sys.modules[__name__] = boot
    boot.activate()
except Exception:
    pass
'''


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        # From a temporary directory: force-including autotelemetry/hook/boot.py itself
        # would move it out of the package instead of copying it.
        self._shim_dir = tempfile.mkdtemp(prefix="autotelemetry-build-")
        files = {}
        for name, text in HOOK_FILES.items():
            Path(self._shim_dir, name).write_text(text)
            files[str(Path(self._shim_dir, name))] = name
        if version == "editable":
            Path(self._shim_dir, BOOT).write_text(EDITABLE_SHIM)
            files[str(Path(self._shim_dir, BOOT))] = BOOT
        else:
            sys.path.insert(0, str(Path(self.root, "tools")))
            try:
                import amalgamate
            finally:
                sys.path.pop(0)
            for name, text in amalgamate.build_all(Path(self.root)).items():
                Path(self._shim_dir, name + ".py").write_text(text, encoding="utf-8")
                files[str(Path(self._shim_dir, name + ".py"))] = amalgamate.destination(name)
        key = "force_include_editable" if version == "editable" else "force_include"
        build_data.setdefault(key, {}).update(files)

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        shim_dir = getattr(self, "_shim_dir", None)
        if shim_dir:
            shutil.rmtree(shim_dir, ignore_errors=True)
