"""Changing what is recorded: allowlist lines, ``enabled``, the install id.

The tool side's writers of the files the host side reads (``allowlist``,
``config.toml``, ``install_id``). Every file is read and replaced through the
trusted open (:mod:`autotelemetry.hook.fs`): read only when it is ours, replaced
atomically (an unpredictable name beside it, then a rename), so a host CLI starting
meanwhile reads the old or the new file, never half of one.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from autotelemetry.hook import allowlist, config, fs, identity


class ConsentError(ValueError):
    """A request that cannot be carried out as asked: the message says why, ``param`` where."""

    def __init__(self, message: str, param: str = "NAME") -> None:
        super().__init__(message)
        self.param = param


def scope_file(scope: str | None) -> str:
    """The allowlist file for ``--env``/``--user`` (default: env inside a venv, else user)."""
    explicit = os.environ.get("AUTOTELEMETRY_ALLOWLIST")
    if explicit and scope is None:
        return os.path.abspath(explicit)
    if scope is None:
        scope = "env" if sys.prefix != sys.base_prefix else "user"
    if scope == "env":
        return os.path.join(identity.env_config_dir(), "allowlist")
    return os.path.join(identity.home_dir(), "allowlist")


def _shared(path: str) -> bool:
    """Whether root may own ``path`` (every file outside the per-user home)."""
    home = identity.home_dir()
    return os.path.dirname(path) != home


def read_lines(path: str) -> list[str]:
    """The lines of one of our files (the trusted open: a file that is not ours raises
    the refusal of :mod:`autotelemetry.hook.fs`, never read and never rewritten)."""
    data = fs.read_file(path, 1 << 20, _shared(path))
    if data is None:
        return []
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text; fix or remove it") from None


def write_lines(path: str, lines: list[str], mode: int = 0o644) -> None:
    """Replace ``path`` atomically with ``lines`` (:func:`autotelemetry.hook.fs.write_file`:
    an unpredictable temporary name, created exclusively, then renamed)."""
    fs.write_file(path, "".join(line + "\n" for line in lines).encode("utf-8"), mode)


def _first_token(line: str) -> str:
    words = line.split("#", 1)[0].split()
    return words[0] if words else ""


def allow(name: str, excludes: tuple[str, ...] = (), scope: str | None = None) -> str:
    """Allowlist ``name`` (with ``!exclude`` subcommands); returns what was done."""
    if not name.strip():
        raise ConsentError("NAME must not be empty")
    why = allowlist.pattern_problem(name)
    if why:
        raise ConsentError(why)
    for sub in excludes:
        if not sub or any(ch.isspace() or ch == "#" for ch in sub):
            raise ConsentError("no spaces or '#'; use ':' between levels", "--exclude")
    path = scope_file(scope)
    lines = read_lines(path)
    existing = [i for i, line in enumerate(lines) if _first_token(line) == name]
    if existing and not excludes:
        return f"{name} is already allowlisted in {path}"
    if existing:
        old = lines[existing[0]].split("#", 1)[0].split()[1:]
        merged = [*old, *(f"!{x}" for x in excludes if f"!{x}" not in old)]
        lines[existing[0]] = " ".join([name, *merged])
        write_lines(path, lines)
        return f"updated {name} in {path}: {lines[existing[0]]}"
    directory = os.path.dirname(path)
    if directory == identity.home_dir():
        fs.private_dir(directory)
    else:  # per-environment (or AUTOTELEMETRY_ALLOWLIST): readable by every user of it
        os.makedirs(directory, mode=0o755, exist_ok=True)
    write_lines(path, [*lines, " ".join([name, *(f"!{x}" for x in excludes)])])
    return f"allowlisted {name} in {path}"


@dataclass
class Denied:
    paths: list[str]  # the files consulted
    removed: list[str]  # the files NAME was removed from
    still: allowlist.AllowEntry | None  # another source that still allowlists NAME


def deny(name: str, scope: str | None = None) -> Denied:
    """Remove ``name`` from the allowlist file(s) (every file without a scope)."""
    paths = [scope_file(scope)] if scope else identity.allowlist_files()
    removed = []
    for path in paths:
        lines = read_lines(path)
        kept = [line for line in lines if _first_token(line) != name]
        if len(kept) != len(lines):
            write_lines(path, kept)
            removed.append(path)
    return Denied(paths, removed, allowlist.is_allowlisted(name, allowlist.load_allowlist()))


def set_user_setting(key: str, value: str) -> str:
    """Set a top-level ``key = value`` in the per-user config, keeping everything else."""
    home = fs.private_dir(identity.home_dir())
    path = os.path.join(home, config.CONFIG_FILE)
    lines = read_lines(path)
    first_table = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), None)
    top = lines if first_table is None else lines[:first_table]
    for i, line in enumerate(top):
        if line.split("=", 1)[0].strip() == key and "=" in line:
            lines[i] = f"{key} = {value}"
            break
    else:
        lines.insert(0 if first_table is None else first_table, f"{key} = {value}")
        if first_table is None and len(lines) == 1:
            lines.insert(0, "# autotelemetry user settings (see docs/configuration.md)")
    write_lines(path, lines, mode=0o600)
    return path


def reset_install_id() -> str:
    """A new random install id for this user; returns it."""
    from autotelemetry.hook import recorder

    home = fs.private_dir(identity.home_dir())
    return recorder.write_install_id(home)


__all__ = [
    "ConsentError",
    "Denied",
    "allow",
    "deny",
    "read_lines",
    "reset_install_id",
    "scope_file",
    "set_user_setting",
    "write_lines",
]
