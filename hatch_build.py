"""Ship the start-up hook files at the root of site-packages.

`autotelemetry.pth` (``import _autotelemetry_boot``, for every Python up to
3.17) and `autotelemetry.start` (PEP 829 entry point, Python 3.15+) both
activate the boot; Python 3.15+ ignores the import line when the matching
`.start` file is present, so the boot runs once either way.

The boot itself is shipped as a root module, ``_autotelemetry_boot.py`` (a
copy of ``autotelemetry/hook/boot.py``), so that interpreter start imports one
small module and not the ``autotelemetry`` package; the module registers
itself as ``autotelemetry.hook.boot`` so the process holds one boot and one
state. Editable installs get a two-line shim under that name instead of a copy
(so edits to the source take effect); hatchling's own path `.pth` is named
`_autotelemetry.pth`, so it sorts first and puts the sources on ``sys.path``
before our line runs.
"""

from __future__ import annotations

import shutil
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
BOOT_SOURCE = Path("autotelemetry", "hook", "boot.py")
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
        boot = Path(self._shim_dir, BOOT)
        if version == "editable":
            boot.write_text(EDITABLE_SHIM)
        else:
            boot.write_bytes(Path(self.root, BOOT_SOURCE).read_bytes())
        files[str(boot)] = BOOT
        key = "force_include_editable" if version == "editable" else "force_include"
        build_data.setdefault(key, {}).update(files)

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        shim_dir = getattr(self, "_shim_dir", None)
        if shim_dir:
            shutil.rmtree(shim_dir, ignore_errors=True)
