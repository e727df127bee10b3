"""Settings from config files, with their precedence over each other and the environment.

Imported only when a config file exists (otherwise
:func:`autotelemetry.hook.config.load_settings` applies the defaults and the
environment without importing this module), so host CLIs in the common case,
and with an endpoint set in the environment, never pay for the TOML reader.

Precedence, highest first: kill switches (DO_NOT_TRACK, AUTOTELEMETRY_DISABLED)
> other AUTOTELEMETRY_* variables > the per-environment file
(<sys.prefix>/etc/autotelemetry/config.toml) > the per-user file
(<home>/config.toml) > defaults. One exception, for consent: ``enabled = false``
from any source wins over ``true`` from any other. See docs/configuration.md.
"""

import os
import sys

from autotelemetry.hook import config, fs, values

_MAX_CONFIG_BYTES = 1 << 20


def _parse_toml(text: str) -> "dict[str, object]":
    """Parse TOML: the small subset parser first, ``tomllib`` for anything beyond it.

    ``tomllib`` imports ``typing``, ``datetime`` and more, which no host CLI
    should pay for: config files use only the subset (tables, strings,
    numbers, booleans), parsed here with nothing imported. Anything else is
    handed to ``tomllib`` where the stdlib has it (3.11+), so valid TOML is
    never rejected; on 3.9/3.10 it is reported as malformed.
    """
    try:
        return parse_toml_subset(text)
    except ValueError:
        if sys.version_info < (3, 11):
            raise
    import tomllib  # type: ignore[import-not-found, unused-ignore]

    return tomllib.loads(text)


def _toml_string(text: str, i: int, number: int) -> "tuple[str, int]":
    """A basic (``"..."``) or literal (``'...'``) string starting at ``text[i]``."""
    quote = text[i]
    out: "list[str]" = []
    i += 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\" and quote == '"':
            i += 1
            esc = text[i : i + 1]
            simple = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}
            if esc in simple:
                out.append(simple[esc])
            elif esc in ("u", "U"):
                width = 4 if esc == "u" else 8
                try:
                    out.append(chr(int(text[i + 1 : i + 1 + width], 16)))
                except ValueError:
                    raise ValueError(f"line {number}: bad unicode escape") from None
                i += width
            else:
                raise ValueError(f"line {number}: bad escape \\{esc}")
        else:
            out.append(ch)
        i += 1
    raise ValueError(f"line {number}: unterminated string")


def _toml_key(text: str, number: int) -> "list[str]":
    """A dotted key (``cli."my.tool"``) as its parts."""
    parts = []
    i, text = 0, text.strip()
    while i < len(text):
        if text[i] in "\"'":
            part, i = _toml_string(text, i, number)
        else:
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] in "_-"):
                j += 1
            part, i = text[i:j], j
            if not part:
                raise ValueError(f"line {number}: invalid key")
        parts.append(part)
        rest = text[i:].lstrip()
        if not rest:
            break
        if rest[0] != ".":
            raise ValueError(f"line {number}: invalid key")
        text, i = rest[1:].lstrip(), 0
    if not parts:
        raise ValueError(f"line {number}: empty key")
    return parts


def parse_toml_subset(text: str) -> "dict[str, object]":
    """The TOML our config files need, for Pythons without ``tomllib`` (3.9, 3.10).

    Tables (``[cli.mycli]``), ``key = value`` with strings, integers, floats and
    booleans, comments. Anything else raises ``ValueError("line N: ...")``,
    which is reported as a malformed file, exactly as a ``tomllib`` error is.
    """
    root: "dict[str, object]" = {}
    table = root
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            end = line.find("]")
            if line.startswith("[[") or end < 0 or line[end + 1 :].split("#", 1)[0].strip():
                raise ValueError(f"line {number}: invalid table header")
            table = root
            for part in _toml_key(line[1:end], number):
                nxt = table.setdefault(part, {})
                if not isinstance(nxt, dict):
                    raise ValueError(f"line {number}: {part!r} is not a table")
                table = nxt
            continue
        key_text, eq, value_text = line.partition("=")
        if not eq:
            raise ValueError(f"line {number}: expected 'key = value'")
        keys = _toml_key(key_text, number)
        value_text = value_text.strip()
        value: object
        if value_text[:1] in ("'", '"'):
            value, end = _toml_string(value_text, 0, number)
            trailing = value_text[end:].strip()
        else:
            token = value_text.partition("#")[0]
            token, trailing = token.strip(), ""
            if token in ("true", "false"):
                value = token == "true"
            else:
                try:
                    value = int(token.replace("_", ""))
                except ValueError:
                    try:
                        value = float(token.replace("_", ""))
                    except ValueError:
                        raise ValueError(f"line {number}: unsupported value {token!r}") from None
        if trailing and trailing[0] != "#":
            raise ValueError(f"line {number}: unexpected text after the value")
        target = table
        for part in keys[:-1]:
            target = target.setdefault(part, {})  # type: ignore[assignment]
            if not isinstance(target, dict):
                raise ValueError(f"line {number}: {part!r} is not a table")
        if keys[-1] in target:
            raise ValueError(f"line {number}: duplicate key {keys[-1]!r}")
        target[keys[-1]] = value
    return root


def read_config_file(
    path: str, problems: "list[str]", shared: bool = False
) -> "dict[str, object] | None":
    """The parsed file, or ``None`` when it is missing or unusable (then why, in ``problems``).

    Read through the trusted open (:func:`autotelemetry.hook.fs.read_file`): never a
    symlink, a FIFO or a file of another user (``shared``: the per-environment file,
    which root may own), never one writable by group or others.
    """
    try:
        data = fs.read_file(path, _MAX_CONFIG_BYTES, shared)
    except OSError as exc:
        why = exc.strerror if exc.errno == fs.REFUSED else f"cannot be read ({exc.strerror})"
        problems.append(f"{path}: {why}, ignored")
        return None
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8 text, ignored")
        return None
    try:
        return _parse_toml(text)
    except Exception as exc:  # tomllib.TOMLDecodeError or ours
        problems.append(f"{path}: malformed TOML, ignored ({exc})")
        return None


def _coerce(key: str, value: object) -> "tuple[object, str | None]":
    return values.coerce(key, value)


def load_settings(
    environ: "dict[str, str] | os._Environ[str]" = os.environ,
    files: "list[str] | None" = None,
) -> "config.Settings":
    """Read every source and apply the documented precedence. Never raises."""
    settings = config.new_settings(config.config_files(environ) if files is None else files)
    # Lowest precedence first, so each later source overrides.
    for path in reversed(settings.files):
        # The first of two files is the per-environment one (root may own it).
        data = read_config_file(path, settings.problems, settings.ranks.get(path) == 2)
        if not data:
            continue
        for key, value in data.items():
            if key == "cli":
                if not isinstance(value, dict):
                    settings.problems.append(f"{path}: 'cli' must be a table of [cli.NAME] tables")
                    continue
                for pattern, table in value.items():
                    if not isinstance(table, dict):
                        settings.problems.append(f"{path}: [cli.{pattern}] must be a table")
                        continue
                    for k, v in table.items():
                        if k not in config.PER_CLI_KEYS:
                            settings.problems.append(
                                f"{path}: [cli.{pattern}] {k!r} ignored: only "
                                + ", ".join(config.PER_CLI_KEYS)
                                + " can be set per CLI"
                            )
                            continue
                        v, why = _coerce(k, v)
                        if why:
                            settings.problems.append(f"{path}: [cli.{pattern}] {k} {why}, ignored")
                        else:
                            settings.clis.insert(0, (pattern, k, v, path))
                continue
            if key not in config.DEFAULTS:
                settings.problems.append(f"{path}: unknown setting {key!r} ignored")
                continue
            value, why = _coerce(key, value)
            if why:
                settings.problems.append(f"{path}: {key} {why}, ignored")
                continue
            if key == "enabled" and settings.values["enabled"] is False and value:
                continue  # false wins
            settings.values[key] = value
            settings.sources[key] = path
    config.apply_environment(settings, environ)
    return settings
