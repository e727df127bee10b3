"""Why our state is refused, and the exact command that fixes it (`status`, `doctor`, errors).

The host side refuses a home, a state directory or a file that is not ours
(:mod:`autotelemetry.hook.fs`) and says nothing: it must not write to the host's
stderr. This module looks at the same paths the same way, read-only, and turns each
refusal into a sentence and a fix the user can paste. Tool side only.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

from autotelemetry.hook import fs, spool

#: The directories under the home, each refused like the home itself.
SUBDIRS = (spool.SPOOL_DIR, spool.QUARANTINE_DIR, spool.EVICTIONS_DIR)


@dataclass(frozen=True)
class Finding:
    """One path that is not ours: what is wrong, what it means, and the fix."""

    path: str
    why: str
    effect: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path} {self.why}: {self.effect}; fix: {self.fix}"


def fix(path: str, why: str, *, directory: bool = False, home: bool = False) -> str:
    """The command that makes ``path`` (refused because it ``why``) usable again."""
    q = shlex.quote(path)
    if "writable" in why:
        if directory:
            return (
                f"check {q} for files you did not create (`autotelemetry doctor` lists the ones "
                f"not yours), then `chmod go-w {q}`"
            )
        return f"`chmod go-w {q}`"
    if home:
        if "symlink" in why:
            return f"set AUTOTELEMETRY_HOME to the directory itself, or `rm {q}` (one is created)"
        if "owned by" in why:
            return "set AUTOTELEMETRY_HOME to a directory of your own (unset: the default)"
        return f"`mv {q} {q}.old`, or set AUTOTELEMETRY_HOME to a directory of your own"
    if "larger than" in why:
        return f"shorten {q} or remove it"
    # A symlink, FIFO, device or another user's file inside our own directory: it was
    # planted (nothing of ours is any of these); removing the entry is always safe.
    return f"`rm {'-r ' if directory else ''}{q}` (autotelemetry never created it)"


def _finding(path: str, why: str, *, directory: bool, home: bool = False) -> Finding:
    if home:
        effect = "refused, nothing is recorded or sent"
    elif directory:
        effect = "refused, nothing is written there"
    else:
        effect = "refused, never read or written"
    return Finding(path, why, effect, fix(path, why, directory=directory, home=home))


def home_findings(home: str) -> list[Finding]:
    """The home and its subdirectories, checked as the host checks them (read-only)."""
    try:
        st = os.lstat(home)
    except FileNotFoundError:
        return []  # created private by the first recorded run
    except OSError as exc:
        return [Finding(home, f"cannot be examined ({exc.strerror})", "nothing is recorded", "")]
    why = fs.refusal(st, True)
    if why is not None:
        return [_finding(home, why, directory=True, home=True)]
    found = []
    for name in SUBDIRS:
        path = os.path.join(home, name)
        try:
            why = fs.refusal(os.lstat(path), True)
        except OSError:
            continue
        if why is not None:
            found.append(_finding(path, why, directory=True))
    return found


def foreign_entries(home: str) -> list[Finding]:
    """Entries of the home and its state directories that are not ours (planted ones).

    Our own files are regular files of ours that others cannot write; anything else
    (a symlink, a FIFO, a device, another user's file) is refused wherever it is
    used. The quarantine is left out: what is set aside there is counted apart.
    """
    found: list[Finding] = []
    subdirs = {os.path.join(home, name) for name in (spool.SPOOL_DIR, spool.EVICTIONS_DIR)}
    for directory in (home, *sorted(subdirs)):
        try:
            if directory != home and fs.refusal(os.lstat(directory), True) is not None:
                continue  # a refused state directory is reported as such, never entered
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.path in subdirs or entry.name == spool.QUARANTINE_DIR:
                continue  # checked as directories (home_findings)
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            is_dir = (st.st_mode & 0o170000) == 0o040000
            why = fs.refusal(st, directory=is_dir)
            if why is None and not is_dir and st.st_nlink != 1:
                why = "has other hard links"  # never written in place (fs.open_file)
            if why is not None:
                found.append(_finding(entry.path, why, directory=is_dir))
    return found


def explain(exc: OSError) -> str:
    """One line for a refusal (``errno == fs.REFUSED``) met by a command: what, why, the fix."""
    path = str(exc.filename)
    directory = os.path.isdir(path) and not os.path.islink(path)
    home = os.path.abspath(path) == os.path.abspath(_home())
    return str(_finding(path, str(exc.strerror), directory=directory, home=home))


def _home() -> str:
    from autotelemetry.hook import identity

    return identity.home_dir()


__all__ = ["SUBDIRS", "Finding", "explain", "fix", "foreign_entries", "home_findings"]
