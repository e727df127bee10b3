"""Activate autotelemetry at interpreter start where its .pth file is not processed.

Python processes ``.pth`` files only in site directories. When autotelemetry
is importable some other way (on PYTHONPATH, a ``pip install --target``
directory, an image's custom path), copy this file into a directory on
``sys.path``:

    autotelemetry sitecustomize > DIR/sitecustomize.py

(or ``cp sitecustomize_template/sitecustomize.py DIR/`` from a source
checkout). Only one module named ``sitecustomize`` is ever imported, so this
one then runs the next ``sitecustomize`` found further down ``sys.path`` (the
one you or your distribution already had), exactly as if it had been imported
directly: its errors are reported by ``site`` as usual.

Activation is idempotent: if the .pth hook also ran, nothing happens twice.
Cheap: ``os`` and ``sys`` only, plus importlib's machinery when chaining.
"""

import os
import sys

try:
    try:  # the root module of an installed wheel: no package import at start
        import _autotelemetry_boot
    except ImportError:  # a source checkout on sys.path
        import autotelemetry.hook.boot as _autotelemetry_boot

    _autotelemetry_boot.activate()
except Exception:  # never break interpreter start
    pass


def _chain() -> None:
    """Execute the next sitecustomize on sys.path, in this module's namespace."""
    here = os.path.dirname(os.path.abspath(__file__))
    paths = []
    for entry in sys.path:
        try:
            if os.path.abspath(entry or os.getcwd()) != here:
                paths.append(entry)
        except (TypeError, ValueError, OSError):
            continue
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("sitecustomize", paths)
    if spec is None or spec.loader is None or spec.origin == __file__:
        return
    code = spec.loader.get_code("sitecustomize")  # type: ignore[attr-defined]
    if code is None:
        return
    namespace = globals()
    namespace["__file__"] = spec.origin
    namespace["__spec__"] = spec
    namespace["__loader__"] = spec.loader
    exec(code, namespace)


_chain()
