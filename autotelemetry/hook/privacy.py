"""The privacy boundary for crash data: every captured string is sanitised here.

A crash message keeps only text the program itself contains (docs/privacy.md,
SPEC law 3). :func:`message` does, in this order:

1. **secrets**, on the raw text (:func:`redact`): private-key blocks, URL
   credentials, bearer/basic headers, JWTs, vendor and cloud keys,
   ``password=``/``token=``/``key=``-style pairs, e-mail addresses, long hex and
   base64 runs. Nothing typed can change what these rules match: they see the
   text exactly as the program made it;
2. **paths and the user name** (:func:`strip_paths`): prefixes and
   site-packages → placeholders, home → ``~``, login name → ``<user>``;
3. **typed and environment values** (:class:`Typed`, the second belt): every
   command-line value, whole and in parts, in the shapes a message may show it
   (cased, URL-encoded, base64, ``repr()``-quoted, a path's directory ...), and
   the environment's values → ``<value>``;
4. **the positive rule** (:func:`keep_program_text`): the text is split into
   tokens; a token survives only if the program contains it (:func:`vocabulary`:
   the string constants and names of the code on the traceback and of the modules
   it belongs to, CPython's fixed error texts, ``os.strerror`` texts, exception
   and class names). Every other token becomes ``<value>``; consecutive ones merge;
5. **truncation**, last (:func:`truncate`), so a cut can never expose anything.

Imported only when a crash happens (never on a host CLI's normal path), so it
may use ``re`` (already loaded by Click and argparse); every pattern is compiled
on first use, and every lookup is lazy: the cheap sources of program text are
asked first, and a module's code is walked only for tokens nothing else knew.
"""

import os
import sys

from autotelemetry.hook import namespace

TYPE_CHECKING = False

#: Largest stored exception message, in UTF-8 bytes (marker included).
MESSAGE_LIMIT = 1024
#: Largest stored stack (the frames' text, estimated as stored), in bytes.
STACK_LIMIT = 4096
#: Most frames stored per exception (the innermost ones).
FRAME_LIMIT = 50
#: Raw text scanned for secrets; longer input is cut first, at a token boundary.
SCAN_LIMIT = 64 * 1024
#: Text the positive rule reads (after redaction): far more than can be stored.
KEEP_LIMIT = 8 * 1024

TRUNCATED = "…[truncated]"
USER = "<user>"
#: What every token the program did not write becomes (consecutive ones merge).
VALUE = "<value>"
#: Typed values and their parts shorter than this are left to the positive rule alone.
TYPED_MIN_LENGTH = 3
#: Environment values shorter than this are not scrubbed as whole values (``1``, ``C``).
ENV_MIN_LENGTH = 4

_cache: "dict[str, object]" = {}

# --- tokens -------------------------------------------------------------------------

#: A token is a run of letters, digits, ``_`` and any non-ASCII character; every
#: other ASCII character (whitespace, punctuation, control) separates tokens.
SEPARATORS = frozenset(map(chr, range(128))).difference(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
)
#: str.translate table: every separator → NUL (so one split finds every token).
_TO_NUL = dict.fromkeys(map(ord, SEPARATORS), 0)
#: Our own placeholders, which the positive rule keeps as they are.
PLACEHOLDERS = frozenset(
    ["<value>", "<user>", "<site-packages>", "<stdlib>", "<prefix>", "<python>", "<redacted>"]
    + ["<redacted:%s>" % kind for kind in ("private-key", "jwt", "api-key", "aws", "google")]
    + ["<redacted:%s>" % kind for kind in ("github", "gitlab", "slack", "email", "hex", "base64")]
)


def _pattern(name: str, source: str, flags: int = 0) -> object:
    pattern = _cache.get(name)
    if pattern is None:
        import re

        pattern = _cache[name] = re.compile(source, flags)
    return pattern


def tokens(text: str) -> "list[str]":
    """The tokens of ``text``, in order (separators dropped)."""
    return [t for t in text.translate(_TO_NUL).split("\0") if t]


def _placeholders(text: str) -> "list[tuple[int, int]]":
    """(start, end) of every placeholder of ours in ``text``, in order."""
    found: "list[tuple[int, int]]" = []
    i = text.find("<")
    while i >= 0:
        j = text.find(">", i)
        if j < 0:
            break
        if text[i : j + 1] in PLACEHOLDERS:
            found.append((i, j + 1))
            i = text.find("<", j + 1)
        else:
            i = text.find("<", i + 1)
    return found


def _spans(text: str) -> "list[tuple[int, int]]":
    """(start, end) of every token and of every placeholder of ours, in order.

    No regular expression: ``translate`` and ``split`` run in C, where compiling
    a token pattern cost more than tokenising a whole message.
    """
    protected = _placeholders(text)
    out: "list[tuple[int, int]]" = []
    pos = 0
    k = 0
    for piece in text.translate(_TO_NUL).split("\0"):
        if piece:
            end = pos + len(piece)
            while k < len(protected) and protected[k][1] <= pos:
                k += 1
            if k < len(protected) and protected[k][0] < end:
                if not out or out[-1] != protected[k]:
                    out.append(protected[k])  # a token inside a placeholder: the whole of it
            else:
                out.append((pos, end))
            pos = end
        pos += 1
    return out


def _occurs(token: str, text: str) -> bool:
    """Whether ``token`` is a whole token of ``text`` (both lower-cased)."""
    i = text.find(token)
    n = len(token)
    while i >= 0:
        if (i == 0 or text[i - 1] in SEPARATORS) and (
            i + n == len(text) or text[i + n] in SEPARATORS
        ):
            return True
        i = text.find(token, i + 1)
    return False


# --- paths and user name ------------------------------------------------------------


def _site_dirs() -> "list[str]":
    ends = ("site-packages", "dist-packages")
    dirs = [p for p in sys.path if p and p.rstrip("/\\").endswith(ends)]
    try:
        import site

        dirs += list(getattr(site, "getsitepackages", list)())
        user = getattr(site, "getusersitepackages", lambda: None)()
        if user:
            dirs.append(user)
    except Exception:
        pass
    return dirs


def _prefixes() -> "list[tuple[str, str]]":
    """(path, placeholder) pairs, longest path first so the most specific wins.

    Computed once per process: a crash event scrubs dozens of strings, and
    resolving real paths each time made crash capture cost tens of milliseconds.
    """
    cached = _cache.get("prefixes")
    if cached is None:
        cached = _cache["prefixes"] = _compute_prefixes()
    return cached  # type: ignore[return-value]


def _compute_prefixes() -> "list[tuple[str, str]]":
    pairs = [(d, "<site-packages>") for d in _site_dirs()]
    pairs.append((os.path.dirname(os.__file__), "<stdlib>"))
    for value in (sys.prefix, sys.exec_prefix, os.environ.get("VIRTUAL_ENV")):
        if value:
            pairs.append((value, "<prefix>"))
    for value in (sys.base_prefix, sys.base_exec_prefix):
        if value:
            pairs.append((value, "<python>"))
    for home in _homes():
        pairs.append((home, "~"))
    # Resolved too (a symlinked home or prefix shows in messages as either form),
    # but only these: resolving costs, and the site and stdlib directories lie under
    # the prefixes.
    resolve = {*_homes(), sys.prefix, sys.base_prefix}
    seen = {}
    for path, placeholder in pairs:
        for variant in {path, _resolved(path)} if path in resolve else (path,):
            variant = variant.rstrip("/\\")
            if len(variant) > 1 and variant not in seen:
                seen[variant] = placeholder
    return sorted(seen.items(), key=lambda item: -len(item[0]))


def _resolved(path: str) -> str:
    """``os.path.realpath(path)``, from the kernel where it can say.

    ``realpath`` walks every component in Python (~0.15M instructions for a prefix);
    on Linux an ``O_PATH`` descriptor (which opens nothing: no read, no wait on a FIFO)
    names the same resolved path through ``/proc/thread-self/fd`` in a few system
    calls. A path that does not exist, or no ``/proc``, falls back to ``realpath``.
    """
    flag = getattr(os, "O_PATH", 0)
    if flag:
        try:
            fd = os.open(path, flag | os.O_CLOEXEC)
        except (OSError, ValueError):
            pass
        else:
            try:
                # The calling thread's descriptor table (a thread may have its own:
                # unshare(CLONE_FILES)); /proc/self is the thread group leader's.
                try:
                    target = os.readlink("/proc/thread-self/fd/%d" % fd)
                except OSError:
                    target = os.readlink("/proc/self/fd/%d" % fd)
                opened = os.fstat(fd)
                if target.startswith("/") and not target.endswith(" (deleted)"):
                    found = os.stat(target)
                    # Only the kernel's name for this very file, never another's.
                    if (found.st_dev, found.st_ino) == (opened.st_dev, opened.st_ino):
                        return target
            except OSError:
                pass
            finally:
                os.close(fd)
    return os.path.realpath(path)


def _homes() -> "list[str]":
    cached = _cache.get("homes")
    if cached is None:
        cached = _cache["homes"] = _compute_homes()
    return cached  # type: ignore[return-value]


def _compute_homes() -> "list[str]":
    homes = [os.environ.get("HOME"), os.environ.get("USERPROFILE")]
    try:
        homes.append(os.path.expanduser("~"))
    except Exception:
        pass
    entry = _passwd()
    if entry is not None:
        homes.append(entry[1])
    return [h for h in homes if h and h not in ("/", "\\")]


def _passwd() -> "tuple[str, str] | None":
    if "passwd" not in _cache:
        value = None
        try:
            import pwd

            record = pwd.getpwuid(os.getuid())
            value = (record.pw_name, record.pw_dir)
        except Exception:
            pass
        _cache["passwd"] = value
    return _cache["passwd"]  # type: ignore[return-value]


def usernames() -> "list[str]":
    """The login names of this process (environment and account database)."""
    names = [os.environ.get(k) for k in ("USER", "LOGNAME", "USERNAME")]
    entry = _passwd()
    if entry is not None:
        names.append(entry[0])
    for home in _homes():
        names.append(os.path.basename(home.rstrip("/\\")))
    # Names shorter than 3 characters would erase ordinary words; they identify little.
    return sorted({n for n in names if n and len(n) >= 3}, key=len, reverse=True)


def strip_paths(text: str) -> str:
    """Prefixes and site-packages → placeholders, home → ``~``, user name → ``<user>``."""
    for path, placeholder in _prefixes():
        if path in text:
            text = text.replace(path, placeholder)
    lowered = _cache.get("user_names")
    if lowered is None:
        names = usernames()
        # None: some name is not ASCII, so only the regex knows its case variants.
        lowered = [n.lower() for n in names] if all(n.isascii() for n in names) else None
        _cache["user_names"] = lowered if names else []
    if lowered == []:
        return text
    if lowered is None or not text.isascii():  # Unicode case mappings: the regex decides
        return _user_pattern().sub(USER, text)  # type: ignore[attr-defined]
    lower = text.lower()
    for name in lowered:  # type: ignore[attr-defined]
        if name in lower:
            # Compiled only when a name occurs: most strings hold none, and the
            # case-insensitive pattern costs more to compile than a crash to build.
            return _user_pattern().sub(USER, text)  # type: ignore[attr-defined]
    return text


def _user_pattern() -> object:
    pattern = _cache.get("user_pattern")
    if pattern is None:
        import re

        names = usernames()
        pattern = _cache["user_pattern"] = re.compile(
            "|".join(re.escape(n) for n in names), re.IGNORECASE
        )
    return pattern


# --- secrets ------------------------------------------------------------------------

_KEYS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"auth(?:orization)?|credentials?|private[_-]?key|session(?:[_-]?id)?|cookie|signature|sig"
)
_PAIR_VALUE = r"(?:\"[^\"]*(?:\"|\Z)|'[^']*(?:'|\Z)|[^\s,;&)\]}]+)"
_B64 = r"A-Za-z0-9+/_-"
_KEY_TRIGGERS: "tuple[str, ...]" = (
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "credential",
    "session",
)
_KEY_TRIGGERS += ("cookie", "sig")

#: (pattern, replacement, triggers, needs), applied in order. A rule runs only when
#: one of its lower-case triggers occurs in the text and, for each string in
#: ``needs``, one of that string's characters does; ``None`` triggers: when a long run
#: of the kind named in ``needs`` does. Compiling a pattern costs more than the rest
#: of a crash event, so a crash compiles only the few its text can need (a module
#: named ``exampleargparse`` holds "pass" but no ``=``: no pair rule is compiled).
_SPACE = " \t\n\r\x0b\x0c"
_GITLAB: "tuple[str, ...]" = (
    "glpat-",
    "gldt-",
    "glrt-",
    "glptt-",
    "glcbt-",
    "glsoat-",
    "glft-",
    "glimt-",
)
_GITLAB += ("glagent-", "gloas-")
_RULES: "tuple[tuple[str, str, tuple[str, ...] | None, tuple[str, ...]], ...]" = (
    (
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
        r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        "<redacted:private-key>",
        ("private key",),
        ("-",),
    ),
    # scheme://user:password@host → scheme://***@host (a password may hold an @)
    (r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/]+@", r"\1***@", ("://",), ("@",)),
    (
        r"(?i)\b(bearer|basic|digest|token|negotiate)(\s+)"
        r"(?!(?:bearer|basic|digest|token|negotiate)\b)[A-Za-z0-9._~+/=-]{4,}",
        r"\1\2<redacted>",
        ("bearer", "basic", "digest", "token", "negotiate"),
        (_SPACE,),
    ),
    (
        r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?|eyJ[A-Za-z0-9_-]{8,}",
        "<redacted:jwt>",
        ("eyj",),
        ("J",),
    ),
    (
        r"(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]+|whsec_[A-Za-z0-9]+",
        "<redacted:api-key>",
        ("_live_", "_test_", "whsec_"),
        ("_",),
    ),
    (
        r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{12,}",
        "<redacted:aws>",
        ("akia", "asia", "agpa", "aida", "aroa", "aipa", "anpa", "anva", "abia", "acca"),
        ("A",),
    ),
    (
        r"AIza[0-9A-Za-z_-]{20,}|ya29\.[0-9A-Za-z_-]{20,}",
        "<redacted:google>",
        ("aiza", "ya29."),
        ("A.",),
    ),
    (
        r"(?:gh[pousr]_[A-Za-z0-9]{8,}|github_pat_[A-Za-z0-9_]{8,})",
        "<redacted:github>",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        ("_",),
    ),
    (
        r"gl(?:pat|dt|rt|ptt|cbt|soat|ft|imt|agent|oas)-[A-Za-z0-9_-]{8,}",
        "<redacted:gitlab>",
        _GITLAB,
        ("-",),
    ),
    (r"xox[abposre]-[A-Za-z0-9-]{6,}", "<redacted:slack>", ("xox",), ("-",)),
    (
        r"(?i)hooks\.slack\.com/services/[A-Za-z0-9/_-]+",
        "hooks.slack.com/<redacted:slack>",
        ("hooks.slack.com",),
        ("/",),
    ),
    (
        r"sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}|npm_[A-Za-z0-9]{16,}|pypi-[A-Za-z0-9_-]{16,}"
        r"|hf_[A-Za-z0-9]{16,}|SG\.[\w-]{16,}\.[\w-]{16,}|do[opr]_v1_[a-f0-9]{16,}"
        r"|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{16,}",
        "<redacted:api-key>",
        ("sk-", "npm_", "pypi-", "hf_", "sg.", "_v1_", "shpat_", "shpss_", "shpca_", "shppa_"),
        ("-_.",),
    ),
    # password=..., "token": "...", api_key: ..., --secret=...
    (
        r"(?i)([A-Za-z0-9_.-]*(?:" + _KEYS + r")[A-Za-z0-9_.-]*[\"']?\s*[=:]\s*)" + _PAIR_VALUE,
        r"\1<redacted>",
        _KEY_TRIGGERS,
        ("=:",),
    ),
    # key=..., AccountKey=... (a bare "key" only before "=": "key: x" is too common)
    (r"(?i)([A-Za-z0-9_.-]*key[\"']?\s*=\s*)" + _PAIR_VALUE, r"\1<redacted>", ("key",), ("=",)),
    # --password hunter2 (an option name, then its value as the next word)
    (
        r"(?i)(--?[A-Za-z0-9_.-]*(?:" + _KEYS + r"|key)[A-Za-z0-9_.-]*\s+)(?![-<])\S+",
        r"\1<redacted>",
        _KEY_TRIGGERS,
        ("-", _SPACE),
    ),
    (
        r"[A-Za-z0-9._%+<>-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
        "<redacted:email>",
        ("@",),
        (".",),
    ),
    (r"(?<![0-9A-Za-z_])[0-9a-fA-F]{32,}(?![0-9A-Za-z_])", "<redacted:hex>", None, ("hex",)),
    (
        r"(?<![" + _B64 + r"])(?=[" + _B64 + r"]*[0-9])(?=[" + _B64 + r"]*[A-Z])"
        r"(?=[" + _B64 + r"]*[a-z])[A-Za-z0-9+_-][" + _B64 + r"]{31,}={0,2}",
        "<redacted:base64>",
        None,
        ("base64",),
    ),
)
#: Runs at least this long (between whitespace) let the hex/base64 rules run.
_LONG_RUN = 32
_HEX = "0123456789abcdefABCDEF"
_DIGITS = "0123456789"


def _long_runs(text: str, kind: str) -> bool:
    """Whether ``text`` has a whitespace-free piece that may hold a long hex/base64 run."""
    for piece in text.split():
        if len(piece) < _LONG_RUN:
            continue
        if kind == "hex":
            if sum(map(piece.count, _HEX)) >= _LONG_RUN:
                return True
        elif piece.lower() != piece and piece.upper() != piece:
            for digit in _DIGITS:
                if digit in piece:
                    return True
    return False


def _rule(index: int) -> object:
    import re

    return _pattern("rule%d" % index, _RULES[index][0], re.DOTALL)


def redact(text: str) -> str:
    """Replace every secret-looking substring with a ``<redacted…>`` placeholder."""
    lower = text.lower()
    for index, (_, replacement, triggers, needs) in enumerate(_RULES):
        if triggers is None:
            if not _long_runs(text, needs[0]):
                continue
        else:
            # The characters a match needs first (a few tests, most names fail one),
            # then the triggers. Plain loops: no any(<generator>), cheap when short.
            missing = False
            for chars in needs:
                for c in chars:
                    if c in text:
                        break
                else:
                    missing = True
                    break
            if missing:
                continue
            for trigger in triggers:
                if trigger in lower:
                    break
            else:
                continue
        new = _rule(index).sub(replacement, text)  # type: ignore[attr-defined]
        if new != text:
            text, lower = new, new.lower()
    return text


# --- what the user typed (the second belt) ------------------------------------------------


def read_regular(path: str, limit: int) -> "bytes | None":
    """The first ``limit`` bytes of a regular file, never blocking (a FIFO is refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError, TypeError):
        return None
    try:
        import stat as _stat

        st = os.fstat(fd)
        if not _stat.S_ISREG(st.st_mode):
            return None
        chunks = []
        size = 0
        while size < min(limit, st.st_size):
            chunk = os.read(fd, min(limit, st.st_size) - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_argfile(path: str) -> "list[str]":
    """An ``@file``'s lines (argparse's ``fromfile_prefix_chars``), never blocking."""
    data = read_regular(path, 1 << 16)
    return data.decode("utf-8", "replace").splitlines() if data else []


def _percent(value: str, plus: bool) -> str:
    out = []
    for byte in value.encode("utf-8", "surrogatepass"):
        c = chr(byte)
        if c.isascii() and (c.isalnum() or c in "-._~/"):
            out.append(c)
        elif c == " " and plus:
            out.append("+")
        else:
            out.append("%%%02X" % byte)
    return "".join(out)


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _base64(data: bytes) -> str:
    """Base64 without padding (no ``binascii``: a shared library to load costs more)."""
    out = []
    for i in range(0, len(data) - 2, 3):
        n = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2]
        out.append(_ALPHABET[n >> 18] + _ALPHABET[(n >> 12) & 63])
        out.append(_ALPHABET[(n >> 6) & 63] + _ALPHABET[n & 63])
    rest = len(data) % 3
    if rest:
        tail = data[len(data) - rest :] + b"\0\0"
        n = (tail[0] << 16) | (tail[1] << 8) | tail[2]
        digits = _ALPHABET[n >> 18] + _ALPHABET[(n >> 12) & 63] + _ALPHABET[(n >> 6) & 63]
        out.append(digits[: rest + 1])
    return "".join(out)


def _forms(value: str) -> "list[str]":
    """The shapes in which a message may show ``value``."""
    forms = [value, strip_paths(value)]
    quoted = repr(value)[1:-1]
    forms.append(quoted)
    forms.append(_percent(value, False))
    forms.append(_percent(value, True))
    b64 = _base64(value.encode("utf-8", "surrogatepass"))
    forms += [b64, b64.replace("+", "-").replace("/", "_")]
    if "/" in value or os.sep in value:
        directory = os.path.dirname(value.rstrip("/"))
        forms += [directory, strip_paths(directory)]
        if not os.path.isabs(value):
            try:
                absolute = os.path.abspath(value)
                forms += [absolute, os.path.dirname(absolute), strip_paths(absolute)]
            except Exception:
                pass
    return [f for f in forms if len(f) >= TYPED_MIN_LENGTH]


def _is_name(text: str) -> bool:
    return text.replace("-", "").replace("_", "").isalnum()


#: Interpreter options that take the next word as their argument.
_OPTION_ARGUMENTS = ("-X", "-W", "--check-hash-based-pycs")


def _program_arguments() -> "list[str]":
    """The program's arguments as the interpreter got them (``sys.orig_argv``, 3.10+):
    after the interpreter's options and the script (``-m mod``, ``-c cmd``), which are
    not values the user gave the program."""
    orig = getattr(sys, "orig_argv", None) or []
    i = 1
    while i < len(orig):
        word = orig[i]
        if word in ("-c", "-m"):
            return list(orig[i + 2 :])
        if word in _OPTION_ARGUMENTS:
            i += 2
        elif word[:1] == "-" and word != "-":
            if word[1:2] in ("c", "m"):  # -mmod, -ccmd
                return list(orig[i + 1 :])
            i += 1
        else:  # the script (or "-", standard input)
            return list(orig[i + 1 :])
    return []


def argv_values(argv: "list[str] | None" = None) -> "tuple[list[str], list[str]]":
    """Every value the command line may hold, as (whole values, values to split into parts).

    ``--name=V`` gives ``V`` (and the whole token, whose parts would include the
    name); ``-xV`` gives ``xV`` and ``V``; ``++name=V`` (custom prefix characters)
    gives ``name=V`` and ``V``; ``@file`` gives its path, and its lines count as arguments;
    everything after ``--`` counts whole; a bare ``--name`` counts whole (the CLI's
    own option names are exempt as names, :class:`Typed`). Comma lists and
    ``KEY=VALUE`` halves are parts.
    """
    if argv is None:
        # What the interpreter was given too: a runner that rewrites sys.argv for the job
        # it runs (as runpy, pdb and coverage do) must not take the typed values away.
        argv = list(sys.argv[1:])
        argv += [t for t in _program_arguments() if t not in argv]
    queue = list(argv)
    wholes: "list[str]" = []
    values: "list[str]" = []
    names_allowed = True
    files = 0
    while queue:
        token = queue.pop(0)
        if not isinstance(token, str) or not token:
            continue
        if names_allowed and token == "--":
            names_allowed = False
            continue
        head = token[0]
        if names_allowed and not head.isalnum() and len(token) > 1:
            stripped = token.lstrip(head)
            name, eq, value = stripped.partition("=")
            if head == "@":
                values.append(token[1:])
                if files < 8:  # its lines are arguments too (a file may name another)
                    files += 1
                    queue[:0] = _read_argfile(token[1:])
            elif eq:
                wholes += [token, stripped]
                values.append(value)
            elif (
                len(token) - len(stripped) >= 2 and name.replace("-", "").replace("_", "").isalnum()
            ):
                # --long-name: an option name, or a value shaped like one (``--name
                # --x-y``, an unknown option): whole, unless the CLI registered it (the
                # flags :class:`Typed` is given as names). Never split: its words are
                # the CLI's vocabulary too.
                wholes += [token, stripped]
            else:
                values += [token, stripped, stripped[1:]]  # -xVALUE, -5, -value
        else:
            values.append(token)
    keep = TYPED_MIN_LENGTH
    return [v for v in wholes + values if len(v) >= keep], [v for v in values if len(v) >= keep]


def _environ_values(environ: "dict[str, str] | os._Environ[str] | None") -> "list[str]":
    if environ is not None:
        return list(environ.values())
    raw = getattr(os.environ, "_data", None)  # POSIX: the bytes, decoded in one C call each
    if type(raw) is dict:
        try:
            return [v.decode("utf-8", "surrogateescape") for v in raw.values()]
        except Exception:
            pass
    return list(os.environ.values())


class Typed:
    """What the user typed and the environment holds, to scrub from a message.

    Whole values (in every form of :func:`_forms`) are replaced wherever they occur
    as whole tokens; their parts (split at every separator: comma lists, ``KEY=VALUE``
    halves, path components, lines) are replaced as tokens by the positive rule.
    """

    def __init__(
        self,
        argv: "list[str] | None" = None,
        environ: "dict[str, str] | os._Environ[str] | None" = None,
        names: "list[str] | tuple[str, ...]" = (),
    ) -> None:
        values, split = argv_values(argv)
        wholes: "set[str]" = set()
        parts: "set[str]" = set()
        for value in values:
            for form in _forms(value):
                wholes.add(form.lower())
        for value in split:
            for part in tokens(value):
                # A part that is one of CPython's own words ("file" of a typed
                # "file.txt") stays where a message has it: "No such file or directory".
                if len(part) >= TYPED_MIN_LENGTH and not _phrase(part.lower()):
                    parts.add(part.lower())
        paths = []
        for value in _environ_values(environ):
            if len(value) >= ENV_MIN_LENGTH:
                wholes.add(value.lower())
                if "/" in value:
                    paths.append(value)
        # The CLI's own command names (from the command event: canonical names it
        # registered) are names, not values: typed, they may still be shown.
        own = {n.lower() for n in names}
        flags = [n for n in own if len(n) > 1 and not n[0].isalnum()]
        own |= {n.lstrip(n[0]) for n in flags}  # --dry-run: dry-run too
        # argparse takes an unambiguous prefix of a long option (--dry for --dry-run)
        for value in values:
            low = value.lower()
            if low[:2] == "--" and any(f.startswith(low) for f in flags):
                own |= {low, low[2:]}
        #: Longest first, so a value containing another is replaced whole.
        self.wholes = sorted(wholes - own, key=len, reverse=True)
        self.parts = parts - own
        self._own = own
        self._paths = paths
        self._name_parts: "set[str] | None" = None

    def name_parts(self) -> "set[str]":
        """The parts that a name loses (:meth:`strip_name`): the typed values' parts and,
        for names only, the parts of environment values that are paths
        (``APP_SETTINGS=/srv/acme_prod.py`` names a module ``acme_prod``). Built on first
        use: most crashes have no name from outside the program."""
        if self._name_parts is None:
            found = set(self.parts)
            for value in self._paths:
                for part in tokens(value):
                    if len(part) >= TYPED_MIN_LENGTH and not _phrase(part.lower()):
                        found.add(part.lower())
            self._name_parts = found - self._own
        return self._name_parts

    def strip(self, text: str) -> str:
        """Every whole value (at token boundaries, any case) → ``<value>``.

        Our placeholders are left whole (a typed ``user`` must not split ``<user>``).
        """
        lower = text.lower()
        if len(lower) != len(text):  # a case mapping changed lengths ("İ"): char by char
            lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        protected = _placeholders(text)
        spans: "list[tuple[int, int]]" = []
        for value in self.wholes:
            start = lower.find(value)
            n = len(value)
            while start >= 0:
                end = start + n
                left = start == 0 or value[0] in SEPARATORS or lower[start - 1] in SEPARATORS
                right = end == len(lower) or value[-1] in SEPARATORS or lower[end] in SEPARATORS
                if left and right:
                    for p_start, p_end in protected:
                        if p_start < end and start < p_end:
                            break
                    else:
                        spans.append((start, end))
                start = lower.find(value, start + 1)
        if not spans:
            return text
        spans.sort()
        out = []
        pos = 0
        for start, end in spans:
            if end <= pos:
                continue
            if start < pos:
                start = pos
            else:
                out.append(text[pos:start])
                out.append(VALUE)
            pos = end
        out.append(text[pos:])
        return "".join(out)

    def strip_name(self, text: str) -> str:
        """:meth:`strip`, then every token that is a part of a typed value → ``<value>``.

        For names of code from outside the program (:func:`program_file`): a module
        imported by a typed name, a plugin file named after a typed path's stem.
        """
        text = self.strip(text)
        parts = self.name_parts()
        if not parts:
            return text
        out = []
        pos = 0
        for start, end in _spans(text):
            token = text[start:end].lower()
            # A name joins words with "_": a typed acme-corp names acme_corp_plugin too.
            if token[0] != "<" and (token in parts or any(p in parts for p in token.split("_"))):
                out.append(text[pos:start])
                out.append(VALUE)
                pos = end
        out.append(text[pos:])
        return "".join(out)


def typed_here(names: "tuple[str, ...]" = ()) -> Typed:
    """This process's :class:`Typed` (``sys.argv`` and ``os.environ``), built once.

    ``names``: the command's own names (``("db", "migrate")``), exempt from the belt.
    """
    key = "typed" + "\0".join(names)
    typed = _cache.get(key)
    if typed is None:
        typed = _cache[key] = Typed(names=names)
    return typed  # type: ignore[return-value]


# --- what the program contains (the positive rule) --------------------------------------


def _code_type() -> type:
    return type(_code_type.__code__)


#: The program text of some code objects (:func:`program_text`): their lower-cased names,
#: and their strings joined, lower-cased. A pair, not a class: defining a class costs
#: every crash ~70k instructions (docs/performance.md).
if TYPE_CHECKING:
    ProgramText = tuple[set[str], str]


def program_text(codes: "list[object]", trusted: "object") -> "ProgramText":
    """The names and strings of ``codes`` and the code objects they hold, where ``trusted``
    says the code was compiled from the program's source (not from data)."""
    code_type = _code_type()
    names: "set[str]" = set()
    strings: "list[str]" = []
    stack = list(codes)
    seen: "set[int]" = set()
    while stack:
        code = stack.pop()
        if id(code) in seen:
            continue
        seen.add(id(code))
        if not trusted(code.co_filename):  # type: ignore[attr-defined,operator]
            continue  # compiled from data (<string>, a template): not the program's
        names.update(code.co_names)  # type: ignore[attr-defined]
        names.update(code.co_varnames)  # type: ignore[attr-defined]
        names.update(code.co_freevars)  # type: ignore[attr-defined]
        names.update(code.co_cellvars)  # type: ignore[attr-defined]
        strings.append(getattr(code, "co_qualname", None) or code.co_name)  # type: ignore[attr-defined]
        consts = list(code.co_consts)  # type: ignore[attr-defined]
        while consts:
            const = consts.pop()
            kind = type(const)
            if kind is str:
                strings.append(const)
            elif kind is code_type:
                stack.append(const)
            elif kind is int:
                if -(10**12) < const < 10**12:
                    names.add(str(const))
            elif kind is tuple or kind is frozenset:
                consts.extend(const)
    lowered = set()
    for name in names:
        lowered.add(name.lower())
    return lowered, "\n".join(strings).lower()


def text_holds(text: "ProgramText", pending: "set[str]") -> "set[str]":
    """The tokens of ``pending`` that ``text`` holds (as a name, or inside a string)."""
    names, strings = text
    found = set()
    for token in pending:
        if token in names or _occurs(token, strings):
            found.add(token)
    return found


def _source_file(filename: object) -> bool:
    """Code compiled from a Python source file (or frozen stdlib), not from data."""
    if not isinstance(filename, str) or not filename:
        return False
    if filename.startswith("<"):
        return filename.startswith("<frozen ")
    if filename.endswith((".py", ".pyw")):
        return True
    main = _cache.get("main_file")
    return isinstance(main, str) and os.path.abspath(filename) == main


def program_source(filename: object) -> bool:
    """Code compiled from a source file of the program: :func:`program_file`, or beside
    a ``__main__`` script (its project's modules), whose constants and names are text."""
    return _source_file(filename) and program_file(filename, siblings=True)


def _namespace(module: object) -> "dict[str, object]":
    """A module's namespace (``TypeError`` for anything that is not a real module)."""
    namespace = getattr(module, "__dict__", None)
    if type(namespace) is not dict:
        raise TypeError("not a module")
    return namespace


def _class_dict(cls: type) -> "dict[str, object]":
    # type's own descriptor: a metaclass's __getattribute__ never runs.
    return type.__dict__["__dict__"].__get__(cls, type)


def _class_codes(cls: type, out: "list[object]", seen: "set[int]") -> None:
    """The code objects of a class's functions (methods, properties, nested classes)."""
    if id(cls) in seen:
        return
    seen.add(id(cls))
    function = type(_code_type)
    for value in list(_class_dict(cls).values()):
        kind = type(value)
        if kind is staticmethod or kind is classmethod:
            value, kind = value.__func__, type(value.__func__)  # type: ignore[attr-defined]
        if kind is function:
            out.append(value.__code__)  # type: ignore[attr-defined]
        elif kind is property:
            for f in (value.fget, value.fset, value.fdel):  # type: ignore[attr-defined]
                if type(f) is function:
                    out.append(f.__code__)
        elif issubclass(kind, type):
            _class_codes(value, out, seen)  # type: ignore[arg-type]


def _class_name(cls: object) -> str:
    try:
        return type.__dict__["__name__"].__get__(cls, type)
    except Exception:
        return ""


#: Items of a module-level dict, list or tuple looked into (dispatch tables of functions).
CONTAINER_ITEMS = 256


def _module_text(name: str) -> "ProgramText | None":
    """Program text of a module: its own functions and classes (also those in a
    module-level dict/list/tuple, such as a dispatch table) and, while it is still
    running at top level in some thread (a script, a module being imported), its
    ``<module>`` code with every constant and lambda. Cached per module.
    """
    texts = _cache.setdefault("modules", {})
    if name in texts:  # type: ignore[operator]
        return texts[name]  # type: ignore[index]
    module = sys.modules.get(name)
    text = None
    if module is not None:
        function = type(_code_type)
        codes: "list[object]" = []
        names: "list[str]" = []
        seen: "set[int]" = set()
        try:
            namespace = _namespace(module)
            members = list(namespace.items())
        except Exception:
            namespace, members = None, []
        for key, value in members:
            kind = type(value)
            if kind is function:
                if value.__module__ == name:
                    codes.append(value.__code__)  # type: ignore[attr-defined]
                    names.append(key)
            elif issubclass(kind, type):
                if _class_dict(value).get("__module__") == name:  # type: ignore[arg-type]
                    _class_codes(value, codes, seen)  # type: ignore[arg-type]
                    names.append(key)
            else:
                # A dispatch table, or an object holding a function: a Click command
                # (``@click.command`` binds the Command, its callback is an attribute).
                items = _held(value, kind)
                for item in items[:CONTAINER_ITEMS]:
                    if type(item) is function and item.__module__ == name:
                        codes.append(item.__code__)
        if namespace is not None:
            codes += _running_module_code(namespace)
        text = program_text(codes, program_source)
        for each in names:
            text[0].add(each.lower())
    texts[name] = text  # type: ignore[index]
    return text


#: Largest module source read to rule tokens out before walking the module's code.
SOURCE_LIMIT = 4 << 20


def _module_names(name: str) -> "set[str]":
    """Lower-cased names of the functions and classes a module defines (cached)."""
    cached = _cache.setdefault("module_names", {})
    if name in cached:  # type: ignore[operator]
        return cached[name]  # type: ignore[index]
    names: "set[str]" = set()
    function = type(_code_type)
    try:
        for key, value in list(_namespace(sys.modules.get(name)).items()):
            kind = type(value)
            if kind is function:
                if value.__module__ == name:
                    names.add(key.lower())
            elif issubclass(kind, type) and _class_dict(value).get("__module__") == name:  # type: ignore[arg-type]
                names.add(key.lower())
    except Exception:
        pass
    cached[name] = names  # type: ignore[index]
    return names


def _module_source(name: str) -> "bytes | None":
    """A module's source file (or ``.pyc``), lower-cased: a cheap filter before the walk.

    A value is in no module; walking a large one (``click.core``) to learn that cost
    about five million instructions, a substring test of its file a few thousand.
    ``None`` (no file, unreadable, frozen): only the walk can tell.
    """
    sources = _cache.setdefault("sources", {})
    if name in sources:  # type: ignore[operator]
        return sources[name]  # type: ignore[index]
    data = None
    module = sys.modules.get(name)
    try:
        namespace = _namespace(module)
        path = namespace.get("__file__")
        if not isinstance(path, str) and name == "__main__":
            path = _cache.get("main_file")
        if isinstance(path, str) and (_source_file(path) or path.endswith(".pyc")):
            data = read_regular(path, SOURCE_LIMIT)
            if data is not None and len(data) >= SOURCE_LIMIT:
                data = None  # a cut file could rule out what its rest holds
    except Exception:
        data = None
    if data is not None:
        data = data.lower()
    sources[name] = data  # type: ignore[index]
    return data


_GETSET = type(type.__dict__["__dict__"])


def _held(value: object, kind: type) -> "list[object]":
    """The items of a dict/list/tuple, or the attributes of an instance, read without
    running any of the program's code (no ``__getattr__``, no property)."""
    if kind is dict:
        return list(value.values())  # type: ignore[attr-defined]
    if kind is list or kind is tuple:
        return list(value)  # type: ignore[call-overload]
    for klass in type.__dict__["__mro__"].__get__(kind, type):
        descriptor = _class_dict(klass).get("__dict__")
        if descriptor is not None:
            if type(descriptor) is not _GETSET:
                return []
            namespace = descriptor.__get__(value, kind)  # type: ignore[attr-defined]
            return list(namespace.values()) if type(namespace) is dict else []
    return []


def _running_module_code(namespace: "dict[str, object]") -> "list[object]":
    """The ``<module>`` code of ``namespace`` if some thread is still running it."""
    out: "list[object]" = []
    try:
        frames = list(sys._current_frames().values())
    except Exception:
        return out
    for frame in frames:
        depth = 0
        while frame is not None and depth < 4 * FRAME_LIMIT:
            if frame.f_globals is namespace and frame.f_code.co_name == "<module>":
                out.append(frame.f_code)
            frame = frame.f_back  # type: ignore[assignment]
            depth += 1
    return out


def _phrase(token: str) -> bool:
    """Whether ``token`` is a word of CPython's fixed error texts (:data:`PHRASES`)."""
    words = PHRASES.get(token[0])
    return words is not None and "\n" + token + "\n" in words


def _strerror_words(exceptions: "list[BaseException]") -> "set[str]":
    """The ``os.strerror`` texts of the exceptions' errnos, as this C library words them.

    (Every text of the C library the table was generated with is in :data:`PHRASES`;
    this adds the words of another C library for the errors actually raised.)
    """
    words: "set[str]" = set()
    for exc in exceptions:
        code = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
        if type(code) is int:
            words.add(str(code))
            try:
                words.update(t.lower() for t in tokens(os.strerror(code)))
            except (ValueError, OverflowError):
                pass
    return words


def _chain(exc: BaseException, limit: int = 10) -> "list[BaseException]":
    out = [exc]
    current = exc
    while len(out) <= limit:
        nxt = current.__cause__ or current.__context__
        if nxt is None or any(nxt is e for e in out):
            break
        out.append(nxt)
        current = nxt
    return out


#: What :func:`vocabulary` asks about: the exception, its traceback, and the module names of
#: the traceback's frames once walked. A record and a closure, not a class: defining a class
#: costs every crash ~70k instructions (docs/performance.md).
if TYPE_CHECKING:
    from typing import Callable, Protocol

    Known = Callable[[set[str]], set[str]]

    class Vocabulary(Protocol):
        exc: "BaseException | None"
        tb: object
        module_names: "list[str] | None"


def vocabulary(exc: "BaseException | None" = None, tb: "object | None" = None) -> "Known":
    """What the program itself contains: a function from lower-cased tokens to those of
    them the program holds, asking lazily, cheapest source first.

    1. fixed words: CPython's error texts and the names of builtins (:data:`PHRASES`),
       the exception's classes and modules (and its chain's, and the class of
       an ``AttributeError``'s object);
    2. the code on the traceback (and on the chained exceptions' tracebacks), with
       its nested code, and the exception classes' methods;
    3. ``os.strerror`` texts and errno names;
    4. the modules of those frames and classes: their functions' and classes' code
       (walked once per module, only while some token is still unknown).

    Only code compiled from Python source files counts (not ``<string>``: code
    built from data at run time is data).
    """
    vocab = namespace.Record(exc=exc, tb=tb, module_names=None)

    def known_here(words: "set[str]") -> "set[str]":
        return known(vocab, words)

    return known_here


def known(vocab: "Vocabulary", words: "set[str]") -> "set[str]":
    """The subset of ``words`` (lower-cased tokens) that the program contains."""
    pending = set(words)
    found: "set[str]" = set()
    for stage in (_fixed_words, _frame_words, _module_words):
        if not pending:
            break
        try:
            hit = stage(vocab, pending)
        except Exception:
            continue  # a source that cannot be read knows nothing
        found |= hit
        pending -= hit
    return found


def _exceptions_of(vocab: "Vocabulary") -> "list[BaseException]":
    return _chain(vocab.exc) if vocab.exc is not None else []


def _classes_of(vocab: "Vocabulary") -> "list[type]":
    classes: "list[type]" = []
    for exc in _exceptions_of(vocab):
        for cls in type(exc).__mro__:
            if cls not in classes:
                classes.append(cls)
        obj = getattr(exc, "obj", None) if isinstance(exc, AttributeError) else None
        if obj is not None:
            for cls in type(obj).__mro__:
                if cls not in classes:
                    classes.append(cls)
    return classes


def _fixed_words(vocab: "Vocabulary", pending: "set[str]") -> "set[str]":
    names: "set[str]" = set()
    for cls in _classes_of(vocab):
        names.add(_class_name(cls).lower())
        module = _class_dict(cls).get("__module__")
        if isinstance(module, str):
            names.update(module.lower().split("."))
    errors = _strerror_words(_exceptions_of(vocab))
    return {t for t in pending if t in names or t in errors or _phrase(t)}


def _tracebacks_of(vocab: "Vocabulary") -> "list[object]":
    out = []
    if vocab.tb is not None:
        out.append(vocab.tb)
    for exc in _exceptions_of(vocab):
        tb = exc.__traceback__
        if tb is not None and all(tb is not t for t in out):
            out.append(tb)
    return out


def _frame_codes(vocab: "Vocabulary") -> "tuple[list[object], list[str]]":
    codes: "list[object]" = []
    modules: "list[str]" = []
    for tb in _tracebacks_of(vocab):
        steps = 0
        while tb is not None and steps < 4 * FRAME_LIMIT:
            frame = tb.tb_frame  # type: ignore[attr-defined]
            codes.append(frame.f_code)
            name = frame.f_globals.get("__name__")
            if isinstance(name, str) and name not in modules:
                modules.append(name)
            tb = tb.tb_next  # type: ignore[attr-defined]
            steps += 1
    return codes, modules


def _frame_words(vocab: "Vocabulary", pending: "set[str]") -> "set[str]":
    codes, vocab.module_names = _frame_codes(vocab)
    seen: "set[int]" = set()
    for cls in _classes_of(vocab):
        _class_codes(cls, codes, seen)
    return text_holds(program_text(codes, program_source), pending)


def _module_words(vocab: "Vocabulary", pending: "set[str]") -> "set[str]":
    names = list(vocab.module_names or _frame_codes(vocab)[1])
    for cls in _classes_of(vocab):
        module = _class_dict(cls).get("__module__")
        if isinstance(module, str) and module not in names and module != "builtins":
            names.append(module)
    found: "set[str]" = set()
    for name in names:
        if not program_module(name, siblings=True):
            continue  # a user's plugin or config: its names and constants are data
        # Numbers count only where the failing code itself has them (stage 2).
        wanted = {t for t in pending - found if not t.isdigit()}
        own = _module_names(name)  # names bound in it (also classes made in C)
        hit = {t for t in wanted if t in own}
        found |= hit
        wanted -= hit
        source = _module_source(name)
        if source is not None:  # what the file does not hold, its code cannot
            wanted = {t for t in wanted if t.encode("utf-8", "surrogatepass") in source}
        if not wanted:
            continue
        text = _module_text(name)
        if text is not None:
            found |= text_holds(text, wanted)
        if len(found) == len(pending):
            break
    return found


def keep_program_text(
    text: str, vocabulary: "Known | None" = None, typed: "set[str] | None" = None
) -> str:
    """Every token the program did not write → ``<value>`` (consecutive ones merge).

    ``vocabulary(words)`` (:func:`vocabulary`) says which lower-cased tokens the program
    contains (none given: only CPython's fixed texts, :func:`_phrase`);
    ``typed`` are tokens the user typed, replaced even when the program has them.
    Our placeholders stay; separators stay, except between two replaced tokens.
    """
    typed = typed or set()
    spans = _spans(text)
    words = set()
    for start, end in spans:
        if text[start] != "<":
            words.add(text[start:end].lower())
    words -= typed
    if not words:
        found: "set[str]" = set()
    elif vocabulary is None:  # CPython's fixed texts only (no code to read)
        found = set()
        for word in words:
            if _phrase(word):
                found.add(word)
    else:
        found = vocabulary(words)
    out: "list[str]" = []
    pos = 0
    last_value = False
    for start, end in spans:
        g = text[start:end]
        if g[0] == "<":
            is_value = g == VALUE
        else:
            low = g.lower()
            is_value = low in typed or low not in found
        if is_value:
            if not last_value:
                out.append(text[pos:start])
                out.append(VALUE)
        else:
            out.append(text[pos:start])
            out.append(g)
        last_value = is_value
        pos = end
    out.append(text[pos:])
    return "".join(out)


def scrub(text: str) -> str:
    """Secrets, then paths and user name: what a name of code goes through.

    (Module, function and type names are the program's own; they are not put
    through the positive rule, only cleaned of paths, user name and secrets.)
    Remembered per text: a traceback repeats the same few names many times.
    """
    done = _cache.setdefault("scrubbed", {})
    out = done.get(text)  # type: ignore[attr-defined]
    if out is None:
        out = done[text] = redact(strip_paths(redact(text)))  # type: ignore[index]
    return out


# --- truncation ---------------------------------------------------------------------


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, marker included, never splitting a character."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    marker = TRUNCATED.encode("utf-8")
    room = max(0, limit - len(marker))
    head = data[:room].decode("utf-8", "ignore")
    return head + TRUNCATED if limit >= len(marker) else head


def _precut(text: str, scan_limit: int) -> str:
    """Cut overlong text, dropping the token the cut may have split.

    Whatever straddles the cut (possibly half a secret, too short for its
    pattern to recognise) is removed: the cut moves back to the last whitespace.
    """
    if len(text) <= scan_limit:
        return text
    head = text[:scan_limit]
    for i in range(len(head) - 1, -1, -1):
        if head[i].isspace():
            return head[:i]
    return ""


def message(
    text: str,
    limit: int = MESSAGE_LIMIT,
    scan_limit: int = SCAN_LIMIT,
    vocabulary: "Known | None" = None,
    typed: "Typed | None" = None,
) -> str:
    """A stored exception message: secrets, paths, typed values, the positive rule, truncated.

    ``vocabulary`` (default: CPython's fixed texts only) says which tokens the
    program contains; ``typed`` (default: this process's ``sys.argv`` and
    environment) what the user typed.
    """
    text = strip_paths(redact(_precut(text, scan_limit)))
    cut = len(text) > KEEP_LIMIT
    if cut:
        text = _precut(text, KEEP_LIMIT)
    typed = typed if typed is not None else typed_here()
    text = keep_program_text(typed.strip(text), vocabulary, typed.parts)
    if cut:
        text += TRUNCATED
    return truncate(text, limit)


def exception_message(
    exc: BaseException, tb: "object | None" = None, names: "tuple[str, ...]" = ()
) -> str:
    """``str(exc)``, sanitised against what the code on ``tb`` (and around it) contains.

    ``names`` are the command's own names (its path without the program), which
    the typed-value belt leaves alone: a subcommand is a name the CLI registered.

    An exception whose ``__str__`` raises gets the placeholder the interpreter
    itself prints (``<exception str() failed>``).
    """
    try:
        text = str(exc)
    except BaseException:
        text = "<exception str() failed>"
    if not isinstance(text, str):
        return "<exception str() failed>"
    if text == "<exception str() failed>":
        return text
    program = vocabulary(exc, tb if tb is not None else exc.__traceback__)
    return message(text, vocabulary=program, typed=typed_here(names))


def note_main_file(path: "str | None") -> None:
    """The ``__main__`` script's absolute path, whose code counts as source (no ``.py``)."""
    if path:
        _cache["main_file"] = os.path.abspath(path)


def _roots() -> "list[tuple[str, str]]":
    roots = _cache.get("roots")
    if roots is None:
        pairs = [(d, "") for d in _site_dirs()]
        pairs.append((os.path.dirname(os.__file__), "<stdlib>/"))
        pairs += [(p, "<prefix>/") for p in (sys.prefix, sys.exec_prefix) if p]
        pairs += [(p, "<python>/") for p in (sys.base_prefix, sys.base_exec_prefix) if p]
        stripped = [(r.rstrip("/\\"), label) for r, label in pairs]
        roots = _cache["roots"] = [(r, label) for r, label in stripped if r]
    return roots  # type: ignore[return-value]


def note_program_code(paths: "list[str]") -> None:
    """The application's own packages and modules outside site-packages (an editable
    install, a source checkout): their code is the program's (:func:`program_file`)."""
    _cache["app_paths"] = [os.path.abspath(p) for p in paths if p]
    for key in [k for k in _cache if k.startswith("program\0")]:
        del _cache[key]


def program_file(filename: object, siblings: bool = False) -> bool:
    """Whether code from ``filename`` is the program's own.

    The frozen stdlib; a file under site-packages, the stdlib or a prefix; the
    ``__main__`` script; the application's packages (:func:`note_program_code`);
    with ``siblings``, also a file under a ``__main__`` script's directory (a script
    project's modules: their text counts, but their names, which a file the program
    was told to run there shares, still get the typed-value belt). Anything else is
    a file the program was told to run, import or read (a user's config written in
    Python, a plugin, a job): its constants are data, and its names (module,
    function, file) may be what the user typed.
    """
    if not isinstance(filename, str) or not filename:
        return False
    if filename.startswith("<"):
        return filename.startswith("<frozen ")
    key = "program\0%s\0%s" % (siblings, filename)
    known = _cache.get(key)
    if known is None:
        path = os.path.abspath(filename)
        main = _cache.get("main_file")
        apps = _cache.get("app_paths") or ()
        known = (
            path == main
            or any(path.startswith(root + os.sep) for root, _ in _roots())
            or any(path == app or path.startswith(app + os.sep) for app in apps)  # type: ignore[attr-defined]
        )
        if siblings and not known and isinstance(main, str) and main.endswith((".py", ".pyw")):
            known = path.startswith(os.path.dirname(main) + os.sep)
        _cache[key] = known
    return known  # type: ignore[return-value]


def module_file(name: str) -> "str | None":
    """The ``__file__`` of module ``name`` if it is loaded, read without running its code."""
    try:
        path = _namespace(sys.modules.get(name)).get("__file__")
    except Exception:
        return None
    return path if isinstance(path, str) else None


def program_module(name: str, siblings: bool = False) -> bool:
    """Whether module ``name`` is the program's (:func:`program_file` of its file; a
    module built into the interpreter is; one with no file, made at run time, is not)."""
    if name in ("builtins", "__main__"):
        return True
    path = module_file(name)
    if path is None:
        return name.split(".")[0] in sys.builtin_module_names
    return program_file(path, siblings)


def code_name(text: str, own: bool, names: "tuple[str, ...]" = ()) -> str:
    """A name of code (module, function, type): :func:`scrub`; and, for code from outside
    the program (``own`` false), the typed-value belt, whole values and their parts
    (:meth:`Typed.strip_name`). ``names``: the command's own names, exempt."""
    text = scrub(text)
    return text if own else typed_here(names).strip_name(text)


def relative_file(
    filename: str, module: "str | None" = None, script_dir: "str | None" = None
) -> str:
    """A frame's file, never absolute and never naming the working directory.

    Relative to site-packages, the stdlib (``<stdlib>/``), the prefixes
    (``<prefix>/``, ``<python>/``); else the module's own path (``pkg/mod.py`` for
    module ``pkg.mod``); else relative to the script's directory; else the file's
    base name. A file outside the program (:func:`program_file`: one it was told to
    run or import) also loses every typed value and part of one (:func:`code_name`).
    """
    key = "file\0%s\0%s\0%s" % (filename, module, script_dir)
    done = _cache.get(key)
    if done is None:
        done = _cache[key] = _relative_file(filename, module, script_dir)
    return done  # type: ignore[return-value]


def _relative_file(filename: str, module: "str | None", script_dir: "str | None") -> str:
    if not filename or filename.startswith("<"):
        return scrub(filename) if filename else "<unknown>"
    path = os.path.abspath(filename)
    best = None
    for root, label in _roots():
        if path.startswith(root + os.sep) and (best is None or len(root) > len(best[0])):
            best = (root, label)
    if best is not None:
        return scrub((best[1] + path[len(best[0]) + 1 :]).replace("\\", "/"))
    own = program_file(path)
    posix = path.replace("\\", "/")
    if module and module != "__main__" and not module.startswith("<"):
        stem = module.replace(".", "/")
        ext = os.path.splitext(posix)[1]
        for candidate in (stem + ext, stem + "/__init__" + ext):
            if posix.endswith("/" + candidate):
                return code_name(candidate, own)
    if script_dir:
        root = script_dir.rstrip("/\\")
        if path.startswith(root + os.sep):
            return code_name(path[len(root) + 1 :].replace("\\", "/"), own)
    return code_name(os.path.basename(path), own)


def limit_frames(frames: "list[dict]") -> "tuple[list[dict], int]":
    """Keep the innermost frames within :data:`FRAME_LIMIT` and :data:`STACK_LIMIT`.

    Returns the kept frames (innermost last) and how many were left out.
    """
    kept: list[dict] = []
    size = 0
    for frame in reversed(frames):
        # As stored (compact JSON): {"key":"value",...} plus the list's comma.
        cost = 2 + sum(
            len(k) + 4 + len(str(v).encode("utf-8", "surrogatepass")) + 2 for k, v in frame.items()
        )
        if len(kept) >= FRAME_LIMIT or size + cost > STACK_LIMIT:
            break
        kept.append(frame)
        size += cost
    kept.reverse()
    return kept, len(frames) - len(kept)


# --- CPython's fixed error texts: generated by tools/cpython_phrases.py, do not edit ---
#: CPython versions whose C sources were scanned for :data:`PHRASES`.
PHRASE_SOURCES = ("3.11.2", "3.13.5")
#: CPython's own error-message words, lower-cased, by first character (one string per
#: character, a word per line: ``"\n" + word + "\n" in PHRASES[word[0]]``). Strings,
#: not a frozenset: a few dozen constants load in a few thousand instructions, where
#: a frozenset of the same words cost about six million at import.
PHRASES = {
    "0": "\n0x\n0x110000\n0x3412\n0x78563412\n0xefcdab9078563412\n",
    "1": "\n1d\n1st\n",
    "2": "\n2nd\n",
    "3": "\n32kb\n3rd\n",
    "_": (
        "\n_\n__abc_tpflags__\n__aenter__\n__aexit__\n__aiter__\n__all__\n__anext__\n"
        "__annotations__\n__await__\n__bases__\n__bool__\n__buffer__\n__build_class__\n"
        "__bytes__\n__cause__\n__class__\n__classcell__\n__classdictcell__\n__code__\n"
        "__complex__\n__context__\n__copy__\n__ctypes_from_outparam__\n__debug__\n"
        "__deepcopy__\n__defaults__\n__dict__\n__dir__\n__divmod__\n__doc__\n__exit__\n"
        "__float__\n__format__\n__fspath__\n__future__\n__get__\n__getformat__\n__getnewargs__\n"
        "__getnewargs_ex__\n__hash__\n__import__\n__index__\n__init__\n__int__\n__itemsize__\n"
        "__kwdefaults__\n__len__\n__length_hint__\n__loader__\n__main__\n__match_args__\n"
        "__module__\n__mro_entries__\n__name__\n__new__\n__newobj__\n__notes__\n__objclass__\n"
        "__package__\n__prepare__\n__qualname__\n__reduce__\n__reduce_ex__\n__replace__\n"
        "__repr__\n__round__\n__set_name__\n__setstate__\n__sizeof__\n__slotnames__\n__slots__\n"
        "__slotsname__\n__spec__\n__str__\n__subclasses__\n__subclasshook__\n__traceback__\n"
        "__trunc__\n__type_params__\n__weaklistoffset__\n__weakref__\n_abc_data\n_abc_impl\n"
        "_align_\n_anonymous_\n_argtypes_\n_array_reconstructor\n_buffer_wrapper\n"
        "_bufferediobase\n_bytesiobuffer\n_ccall_callback\n_cdata\n_children\n_compat_pickle\n"
        "_creturn_callback\n_csv\n_curses\n_decimal\n_decode_filter_properties\n"
        "_deque_iterator\n_deque_reverse_iterator\n_dyld_shared_cache_contains_path\n"
        "_element_iterator\n_excepthookargs\n_extension_cache\n_extension_registry\n_fields_\n"
        "_fix_co_filename\n_flags_\n_flatten\n_generate_suggestions\n_grouper\n_handle\n"
        "_heapify_max\n_heappop_max\n_heapreplace_max\n_imp\n_incompleteinputerror\n"
        "_inverted_registry\n_iobase\n_is_interned\n_iterdump\n_length_\n_local\n_localdummy\n"
        "_log_traceback\n_lru_cache_wrapper\n_lru_list_elem\n_make_cancelled_error\n"
        "_memory_release\n_normal_dist_inv_cdf\n_override_frozen_modules_for_tests\n"
        "_override_multi_interp_extensions_check\n_pack_\n_pointer\n_py_bit_length\n"
        "_py_bswap16\n_py_bswap32\n_py_bswap64\n_py_normalize_encoding\n_py_popcount32\n"
        "_pycapsule_settraverse\n_pyerr_chainexceptions\n_pyerr_setfrompystatus\n"
        "_pyerr_setobject\n_pylong\n_pyreturn_callback\n_pyst_getscope\n_pystart_callback\n"
        "_pytime_t\n_pyunicode_formatlong\n_pyunicode_new\n_rawiobase\n_register_code\n"
        "_remove_dead_weakref\n_restype_\n_runningloopholder\n_sc_clk_tck\n"
        "_set_alpn_protocols\n_showwarnmsg\n_simplecdata\n_slotnames\n_spawn_pthread_waiter\n"
        "_ssl\n_sslcontext\n_sslsocket\n_step\n_stginfo_\n_tee\n_tee_dataobject\n"
        "_test_structmemberstype_newapi\n_textiobase\n_thread\n_threadhandle\n_tkinter\n"
        "_tuplegetter\n_type_\n_windowsconsoleio\n_wrap_bio\n_wrap_socket\n"
    ),
    "a": (
        "\na\nabort\nabs\nabsolute\nabstract\naccept\nacceptable\naccepts\naccess\naccessing\n"
        "accumulate\naclose\nacquire\nacquired\naction\nactivate\nactivate_stack_trampoline\n"
        "active\nactual\nadapt\nadd\nadd_dll_directory\naddch\nadderrorinfo\naddnstr\naddress\n"
        "address_as_bytes\naddresses\naddstr\nadpcm2lin\nadvertise\naf_alg\naf_can\naf_hyperv\n"
        "af_inet\naf_inet6\naf_netlink\naf_packet\naf_qipcrtr\naf_tipc\naf_unix\naf_vsock\nafter\n"
        "again\naggregate\nahead\naiter\naix\nalaw2lin\nalgset\nalias\naliases\nalignment\nall\n"
        "allocate\nallocated\nallocators\nallowed\nalphanumeric\nalready\nalso\nalternate\nan\n"
        "analysis\nancillary\nand\nanext\nanext_awaitable\nannassign\nannotated\nannotation\n"
        "annotations\nanode\nanother\nany\napartment\napi\nappear\nappend\napply\narbitrary\nare\n"
        "arg\nargcount\narglist\nargs\nargtypes\nargument\narguments\nargv\narithmeticerror\n"
        "around\narray\narray_buffer_getbuf\narrayiterator\narrays\nas\nas_integer_ratio\nascii\n"
        "ascii_decode\nascii_encode\nasend\nassert\nassertionerror\nassign\nassigned\n"
        "assignment\nassignments\nassoc\nassociated\nassoclen\nassumed\nast\nasync\n"
        "async_generator\nasync_generator_asend\nasync_generator_athrow\n"
        "async_generator_wrapped_value\nasyncfor\nasyncfunctiondef\nasynchronous\nasyncwith\n"
        "at\natexit\nathrow\nattached\nattempt\nattempted\nattempting\nattr\nattrgetter\nattrib\n"
        "attribute\nattributeerror\nattributes\naudit\naugassign\naugmented\nauth\nauthorizer\n"
        "autocommit\nautomatic\navailable\naverages\navg\navgpp\navoid\navoided\nawait\nawaited\n"
        "awaittype\naware\naway\n"
    ),
    "b": (
        "\nb\nb2a_base64\nb2a_hex\nb2a_qp\nb2a_uu\nbackend\nbackslash\nbackup\nbackwards\nbad\n"
        "badly\nband\nbare\nbarry\nbase\nbase64\nbaseexception\nbaseexceptiongroup\n"
        "baseexceptions\nbases\nbasic\nbasicsize\nbasicstatictype\nbatch\nbatched\nbcj\nbdfl\nbe\n"
        "because\nbeen\nbefore\nbeginning\nbeing\nbetween\nbeyond\nbias\nbidirectional\nbig\n"
        "bigger\nbin\nbinaries\nbinary\nbinbytes\nbind_textdomain_codeset\nbinding\nbindings\n"
        "bindtextdomain\nbinop\nbinstring\nbinunicode\nbio\nbit\nbits\nbivariant\nblake2b\n"
        "blake2s\nblob\nblobopen\nblock\nblocking\nblockingioerror\nbluetooth\nbody\nbom\n"
        "bookkeeping\nbool\nboolop\nboom\nboth\nbottom\nbound\nboundaries\nbounds\nbox\nbreakpoint\n"
        "breakpointhook\nbroken\nbrokenpipeerror\nbstr\nbt\nbuf\nbuffer\nbuffer_callback\n"
        "bufferedrandom\nbufferedreader\nbufferedrwpair\nbufferedwriter\nbuffererror\n"
        "buffering\nbuffers\nbuffersize\nbuffertype\nbuflen\nbug\nbugs\nbuild\n"
        "build_const_key_map\nbuilding\nbuilt\nbuiltin\nbuiltin_function_or_method\n"
        "builtin_method\nbuiltins\nbusy\nbusywaitinterval\nbut\nby\nbyref\nbyte\n"
        "byte_array_object_converter\nbytearray\nbytearray8\nbytearray_getbuffer\n"
        "bytearray_iterator\nbytecode\nbyteorder\nbytes\nbytes_iterator\n"
        "bytes_object_converter\nbytesio\nbytesiobuf_getbuffer\nbyteswap\nbyteswarning\n"
        "bz2compressor\nbz2decompressor\n"
    ),
    "c": (
        "\nc\nc_char_p\nc_fds_to_keep\nc_raise\nc_return\nc_void_p\nc_wchar_p\ncache_tag\ncadata\n"
        "cafile\ncalculated\ncalendar\ncall\ncall_tracing\ncallable\ncallable_iterator\n"
        "callableproxytype\ncallback\ncalled\ncalling\ncalls\ncan\ncanceled\ncandidates\ncannot\n"
        "capath\ncapsule\ncapture\ncapturing\ncargobject\ncase\ncases\ncast\ncasts\ncatching\n"
        "category\ncause\ncaused\ncauses\ncb_type\ncdata\ncell\ncells\ncenter\ncert\ncert_none\n"
        "certfile\ncertificate\ncfg\ncfield\ncfuncptr\nchain\nchance\nchange\nchanged\nchangelist\n"
        "changing\nchannel\nchannelid\nchannels\nchar\nchar_converter\ncharacter\ncharacters\n"
        "characters_written\ncharmap_build\ncharmap_decode\ncharmap_encode\ncheck\n"
        "check_bytes_find_large\ncheck_hostname\nchecks\nchflags\nchgat\nchild\n"
        "childprocesserror\nchr\nchtype\ncipher\ncircular\nclass\nclassdef\nclasses\nclassmethod\n"
        "classmethod_descriptor\ncleaning\nclear\ncleared\nclk_id\nclock\nclocks_per_sec\n"
        "clone_f1\nclone_f2\nclone_with_conv_f1\nclone_with_conv_f2\nclose\nclosed\nclosefd\n"
        "closelog\nclosing\nclosure\nclosures\ncls\ncmp_contig\ncmpop\ncmsg_firsthdr\ncmsg_len\n"
        "cmsg_nxthdr\ncmsg_space\nco_cellvars\nco_code\nco_consts\nco_exceptiontable\n"
        "co_filename\nco_freevars\nco_linetable\nco_name\nco_names\nco_nlocals\nco_qualname\n"
        "co_varnames\ncode\ncode_page_decode\ncode_page_encode\ncodec\ncodecs\ncodelike\n"
        "coefficient\ncoercion\ncol_offset\ncollected\ncolor\ncolor_pairs\ncolors\ncolumn\ncom\n"
        "combination\ncombinations\ncombinations_with_replacement\ncombined\ncombining\ncome\n"
        "comerror\ncomes\ncomma\ncommand\ncommands\ncomment\ncomments\ncommunication\n"
        "comparators\ncompare\ncomparing\ncomparison\ncompilation\ncompile\ncompiled\ncompiler\n"
        "compiler_cleandoc\ncompiler_lookup_arg\ncompiling\ncomplain\ncomplete_statement\n"
        "completed\ncomplex\ncompliant\ncomponent\ncomprehension\ncompress\ncompressed\n"
        "compression\ncompresslevel\ncompressor\nconcat\nconcatenate\nconcurrent\ncondition\n"
        "config\nconfiguration\nconflict\nconflicts\nconjunction\nconnected\nconnectex\n"
        "connection\nconnectionabortederror\nconnectionerror\nconnectionrefusederror\n"
        "connectionreseterror\nconnectpipe\nconsider\nconsole\nconst\nconstant\nconstants\n"
        "constraint\nconstraints\nconstruct\nconstructing\nconstruction\nconstructor\nconsumer\n"
        "contain\ncontainer\ncontainernogc\ncontaining\ncontains\ncontext\ncontext_expr\n"
        "contextmanager\ncontextvar\ncontextvars\ncontiguity\ncontiguous\ncontrol\nconversion\n"
        "convert\nconverted\ncookie\ncopy\ncopyreg\ncopyright\ncoroutine\ncoroutine_wrapper\n"
        "correctly\ncorrupt\ncorrupted\ncost\ncould\ncouldn\ncount\ncounting_executor\ncpu\n"
        "cpython\ncrash\ncrc32\ncrc_hqx\ncreate\ncreate_aggregate\ncreate_collation\n"
        "create_function\ncreate_module\ncreate_window_function\ncreatecommand\ncreated\n"
        "createevent\ncreatejunction\ncreateprocess\ncreating\ncreation\ncredits\ncross\ncrypt\n"
        "csi\ncthunkobject\nctx\nctype\nctype_type\nctypes\ncur\ncurrent\ncurrently\ncursor\n"
        "cursors\ncurve\ncustom\ncycle\ncyclic\n"
    ),
    "d": (
        "\nd\ndata\ndatabase\ndatatype\ndate\ndatetime\ndatetimes\nday\ndays\ndbm\ndcgettext\n"
        "deadlock\ndeallocated\ndeallocation\ndeallocator\ndebug\ndec_hash\n"
        "dec_sequence_as_str\ndecimal\ndeclaration\ndeclared\ndecode\ndecoded\ndecoder\n"
        "decoding\ndecomposition\ndecompress\ndecorator_list\ndecrefed\ndecrement_count\ndeep\n"
        "deepcopy\ndeeply\ndef\ndefault\ndefaultaction\ndefaultdict\ndefaults\ndeferred\ndefine\n"
        "defined\ndefinition\ndel\ndelattr\ndelch\ndelete\ndeletecommand\ndeleted\ndeleter\n"
        "deleting\ndeletion\ndelimiter\ndelivery\ndelta\ndemo\ndenied\ndenormal\ndependencies\n"
        "deprecationwarning\ndeprkwdinit\ndeprkwdinitnoinline\ndeprkwdnew\ndeprstarinit\n"
        "deprstarinitnoinline\ndeprstarnew\ndepth\ndeque\nderive\nderived\nderiving\nderwin\n"
        "descripter\ndescriptor\ndescriptors\ndeserialize\ndesired\ndestination\ndestroy\n"
        "destroying\ndestruction\ndetach\ndetached\ndetaching\ndetails\ndetected\ndetermine\n"
        "deterministic\ndev\ndev_t\ndevice\ndevpoll\ndgettext\ndialect\ndict\ndict_itemiterator\n"
        "dict_items\ndict_keyiterator\ndict_keys\ndict_reverseitemiterator\n"
        "dict_reversekeyiterator\ndict_reversevalueiterator\ndict_valueiterator\n"
        "dict_values\ndictcomp\ndictionary\ndictremover\ndid\ndidn\ndied\ndiffer\ndifferent\n"
        "differs\ndigest_size\ndigestmod\ndigit\ndigits\ndim\ndimension\ndimensional\ndimensions\n"
        "dir\ndir_fd\ndirective\ndirectly\ndirectories\ndirectory\ndisable\ndisabled\ndisallowed\n"
        "discontinuous\ndisk\ndispatch_table\ndisplay\ndisplayhook\ndivide\ndivision\ndivmod\n"
        "dklen\ndlclose\ndlopen\ndml\ndo\ndoc\ndocstringnosignaturetest\n"
        "docstringunrepresentablesignaturetest\ndocumenting\ndoes\ndoesn\ndomain\ndon\ndone\n"
        "dot\ndots\ndouble\ndouble_format\ndown\ndriver\ndropped\ndropwhile\ndst\ndt\ndue\n"
        "duplicate\nduring\ndynamically\n"
    ),
    "e": (
        "\ne\ne2big\neacces\neach\neaddrinuse\neaddrnotavail\neadv\neafnosupport\neagain\nealready\n"
        "east_asian_width\nebade\nebadf\nebadfd\nebadmsg\nebadr\nebadrqc\nebadslt\nebfont\nebusy\n"
        "ecanceled\nechild\nechrng\necomm\neconnaborted\neconnrefused\neconnreset\nedeadlock\n"
        "edestaddrreq\nedit\nedom\nedotdot\nedquot\neexist\nefault\nefbig\neffect\nehostdown\n"
        "ehostunreach\neidrm\neilseq\neinprogress\neintr\neinval\neio\neisconn\neisdir\neisnam\n"
        "either\nekeyexpired\nekeyrejected\nekeyrevoked\nel2hlt\nel2nsync\nel3hlt\nel3rst\n"
        "element\nelements\nelementtree\nelibacc\nelibbad\nelibexec\nelibmax\nelibscn\nelif\n"
        "ellipsis\nellipsistype\nelliptic\nelnrng\neloop\nelse\nelt\nelts\nembedded\nemediumtype\n"
        "emfile\nemlink\nempty\nemptyerror\nemsgsize\nemultihop\nenable\nenabled\nenabling\n"
        "enametoolong\nenavail\nenclosing\nencode\nencoded\nencoder\nencoding\nencodingmap\n"
        "encodingwarning\nencountered\nend\nend_col_offset\nend_lineno\nend_offset\nended\n"
        "ending\nendpoint\nendswith\nenetdown\nenetreset\nenetunreach\nenfile\nengine\nenoano\n"
        "enobufs\nenocsi\nenodata\nenodev\nenoent\nenoexec\nenokey\nenolck\nenolink\nenomedium\n"
        "enomem\nenomsg\nenonet\nenopkg\nenoprotoopt\nenospc\nenosr\nenostr\nenosys\nenotblk\n"
        "enotconn\nenotdir\nenotempty\nenotnam\nenotrecoverable\nenotsock\nenotsup\nenotty\n"
        "enotuniq\nenough\nenter\nentered\nentries\nentry\nentrypoint\nenum_certificates\n"
        "enum_crls\nenumerate\nenv\nenvironment\nenvironmenterror\nenxio\neof\neoferror\n"
        "eoverflow\neownerdead\neperm\nepfnosupport\nepipe\nepoll\neproto\neprotonosupport\n"
        "eprototype\nequal\nequivalent\nerange\neremchg\neremote\neremoteio\nerestart\nerfkill\n"
        "erofs\nerr\nerr_set_raised\nerr_setfromerrnowithfilename\nerr_setstring\nerrcheck\n"
        "errno\nerror\nerror_object\nerrors\nerrpipe_write\nescape\nescape_decode\n"
        "escape_encode\nescapechar\nescapes\neshutdown\nesocktnosupport\nespipe\nesrch\nesrmnt\n"
        "estale\nestrpipe\netime\netimedout\netoomanyrefs\netxtbsy\neuclean\neunatch\neusers\n"
        "eval\nevalfile\neven\nevent\neventattributes\neventlist\nevents\nexact\nexactly\nexample\n"
        "exc\nexceed\nexceeded\nexceededs\nexceeds\nexcept\nexcepted\nexcepthandler\nexcepthook\n"
        "excepthookargs\nexception\nexceptiongroup\nexceptions\nexcess\nexchange\n"
        "exclamanation\nexclusive\nexcs\nexcution\nexdev\nexec\nexec_module\nexecute\nexecuted\n"
        "executemany\nexecutescript\nexecuting\nexecution\nexecutor\nexecutors\nexecv\nexecve\n"
        "exfull\nexhausted\nexist\nexisting\nexists\nexit\nexpanded\nexpect\nexpected\nexpecting\n"
        "expects\nexpired\nexplicit\nexponent\nexponentiation\nexport\nexported\nexporter\n"
        "exporting\nexports\nexpr\nexpr_context\nexprboolean\nexprdouble\nexpress\nexpression\n"
        "expressions\nexprlong\nexprstring\next\nextant\nextend\nextended\nextension\nexternal\n"
        "extra\nextra_groups\nextract\nextraneous\n"
    ),
    "f": (
        "\nf\nf_lineno\nfactorial\nfactory\nfail\nfailed\nfailure\nfalse\nfamily\nfanout\nfast\n"
        "fatal_error\nfcntl\nfd\nfds_to_keep\nfeatures\nfetch\nfew\nffi_prep_cif\n"
        "ffi_prep_cif_var\nffi_prep_closure\nffi_prep_closure_loc\nffi_type\nfield\n"
        "fieldnameiterator\nfields\nfifth\nfile\nfile_actions\nfiledescriptor\nfileexistserror\n"
        "fileio\nfilename\nfileno\nfilenotfounderror\nfiles\nfilesystem\nfill\nfilter\n"
        "filterfalse\nfilters\nfinal\nfinalbody\nfinalizer\nfinally\nfind\nfind_frozen\n"
        "findfactor\nfindfit\nfindmax\nfiring\nfirst\nfirstiter\nfirstkey\nfit\nflag\nflags\n"
        "flight\nfloat\nfloat_format\nfloating\nfloatingpointerror\nflock\nfloor\nflow\nflowinfo\n"
        "flush\nflushed\nfma\nfold\nfollow\nfollow_symlinks\nfollows\nfont\nfor\nforbidden\nforce\n"
        "forced\nforget\nforgot\nfork\nfork_exec\nform\nformat\nformat_alone\nformat_raw\n"
        "format_xz\nformats\nformattedvalue\nformatter\nformatteriterator\nformatting\nfortran\n"
        "found\nfourth\nframe\nframelocalsproxy\nframes\nfree\nfreed\nfreevars\nfrexp\nfrom\n"
        "from_bytes\nfrom_param\nfrombytes\nfromhex\nfromisoformat\nfromunicode\nfromutc\n"
        "frozen\nfrozenset\nfsum\nfull\nfullerror\nfunc\nfunc_type\nfunction\nfunctiondef\n"
        "functions\nfunctiontype\nfunctiontypes\nfutimens\nfutimes\nfuture\nfutureiter\n"
        "futurewarning\nfuzzer\n"
    ),
    "g": (
        "\ngarbage\ngave\ngc\ngdbm\ngenerate\ngeneration\ngenerations\ngenerator\ngeneratorexit\n"
        "generatorexp\ngenerators\ngeneric\ngeneric_alias_iterator\ngenericalias\nget\n"
        "get_channel_binding\nget_code\nget_count\nget_data\nget_defining_class\n"
        "get_defining_module\nget_frozen_object\nget_loop\nget_nowait\nget_pointer\n"
        "get_referrers\nget_stack_trace\nget_wch\ngetaddrinfo\ngetargs\ngetattr\ngetbuf\n"
        "getbuffer\ngetch\ngetdata\ngetfilesystemencodeerrors\ngetgrgid\ngetgrnam\n"
        "getgrouplist\ngetkey\ngetlasterror\ngetlongpathname\ngetmodulebydef_bad_def\n"
        "getmouse\ngetnameinfo\ngetoverlappedresult\ngetpwnam\ngetpwuid\ngetsample\n"
        "getservbyport\ngetset_descriptor\ngetshortpathname\ngetsockaddrarg\ngetsockaddrlen\n"
        "getsockopt\ngetspnam\ngetstats\ngetstr\ngetter\ngettext\ngib\ngid\ngil\ngilstate\ngithub\n"
        "give\ngiven\nglobal\nglobals\ngmt\ngone\ngot\ngraph\ngreat\ngreater\ngroup\ngroupby\n"
        "grouped\ngroupindex\ngroups\n"
    ),
    "h": (
        "\nh\nhad\nhalted\nhamt\nhamt_array_node\nhamt_bitmap_node\nhamt_collision_node\nhandle\n"
        "handler\nhandlers\nhandles\nhandling\nhandshake\nhardware\nhas\nhas_vectorcall_flag\n"
        "hasattr\nhash\nhash_name\nhashing\nhashinheritancetester\nhave\nheader\nheaders\nheap\n"
        "heapccollection\nheapctypemetaclassnullnew\nheapify\nheappop\nheappush\nheappushpop\n"
        "heapreplace\nheaptypenametype\nhelp\nhelper\nhere\nhex\nhexadecimal\nhexlify\nhide\n"
        "higher\nhighest\nhint\nhistory\nhline\nhmac_digest\nhmac_new\nhold\nholding\nhook\nhost\n"
        "hostname\nhour\nhours\nhow\nhow_many\nhtons\nhttp\nhttps\nhuge\n"
    ),
    "i": (
        "\ni\ni2d\niconv\niconv_open\nid\nident\nidentifier\nidentifiers\nidentify\nidentity\n"
        "identity_hint\nids\nidx\nieee\nif\nifexp\nifs\nignored\nillegal\nimaginary\nimmediate\n"
        "immutable\nimmutablesubclass\nimplement\nimplementation\nimplemented\nimplements\n"
        "implicitly\nimport\nimport_mapping\nimported\nimporterror\nimportfrom\nimporting\n"
        "imports\nimportwarning\nimpossible\nin\nin_dll\ninappropriate\ninch\ninclude\nincluding\n"
        "incoming\nincompatible\nincomplete\ninconsistent\nincorrect\nincrease\n"
        "incrementalnewlinedecoder\nindent\nindentation\nindentationerror\nindented\n"
        "independently\nindex\nindexerror\nindexgroup\nindexing\nindices\ninet_aton\ninet_ntoa\n"
        "inet_pton\ninexact\ninf\ninfer_variance\ninfinity\ninfo\ninformation\ninherit\n"
        "inheritance\ninit\ninit_frozen\ninitial\ninitial_value\ninitialised\ninitialization\n"
        "initialize\ninitialized\ninitializer\ninitializers\ninitializing\ninitscr\ninner_size\n"
        "inplace\ninput\ninputs\ninsane\ninsch\ninsert\ninside\ninsnstr\ninsstr\ninstall\n"
        "installed\ninstance\ninstancemethod\ninstances\ninstantiate\ninstead\ninstr\n"
        "instruction\ninstructionsequence\ninstrument\ninsufficient\nint\nint_converter\n"
        "int_divmod\nint_from_string\nint_max\nint_to_decimal_string\ninteger\nintegers\n"
        "integral\nintegrity\nintended\ninteractive\ninteracts\ninterface\nintermediate\nintern\n"
        "internal\ninterning\ninterp\ninterpret\ninterpreted\ninterpreter\ninterpretererror\n"
        "interpreterid\ninterpreternotfounderror\ninterpreters\ninterrupt\ninterrupted\n"
        "interruptederror\ninterval\ninto\nintrinsic\nints\ninv_cdf\ninvalid\ninvertible\n"
        "invocation\ninvoked\nio\nioctl\nioerror\nip\nipowtype\nipv4\nipv6\nis\nis_async\n"
        "is_builtin\nis_contiguous\nis_frozen\nis_frozen_package\nis_linetouched\n"
        "is_normalized\nis_symlink\nisadirectoryerror\nisinstance\nislice\nisn\niso\n"
        "isocalendardate\nisoformat\nisolated\nisolation_level\nisqrt\nissubclass\nissues\nit\n"
        "item\nitemgetter\nitems\nitemsize\niter\niterable\niterables\niteration\niterative\n"
        "iteratively\niterator\niterators\nitertext\nits\nitself\niv\n"
    ),
    "j": (
        "\njit\njoin\njoinedstr\njoining\njoinpath\njson\njump\njump_if_false_or_pop\n"
        "jump_if_true_or_pop\njumping\n"
    ),
    "k": (
        "\nk\nkernel\nkevent\nkey\nkeyboardinterrupt\nkeyerror\nkeyfile\nkeylog\nkeys\nkeyword\n"
        "keywords\nkeywrapper\nkill\nkind\nknow\nknown\nkqueue\nkw_defaults\nkwargs\nkwd_attrs\n"
        "kwd_patterns\nkwdefaults\nkwnames\nkwonlyargcount\nkwonlyargs\n"
    ),
    "l": (
        "\nl\nlambda\nlanginfo\nlarge\nlarger\nlasti\nlatin1\nlatin_1_decode\nlatin_1_encode\nlay\n"
        "layout\nlc_ctype\nlc_numeric\nlchflags\nldexp\nleading\nleaf_size\nleast\nleaving\nleft\n"
        "legacy_event_handler\nlegacy_transaction_control\nlen\nlength\nlengths\nless\nlevel\n"
        "levels\nlib\nlibbzip2\nliblzma\nlibpython\nlibraries\nlibrary\nlicense\nlike\nlikely\n"
        "limit\nlimited\nlimitedvectorcallclass\nlimits\nlin2adpcm\nlin2alaw\nlin2lin\nlin2ulaw\n"
        "line\nline_iterator\nlinecache\nlineno\nlineterminator\nlink\nlinks\nlist\n"
        "list_iterator\nlist_reverseiterator\nlistcomp\nlistdir\nliteral\nliterals\nlittle\n"
        "live\nljust\nlo\nload\nload_dh_params\nload_extension\nload_fast_and_clear\nloaded\n"
        "loader\nloaders\nloading\nloads\nlocal\nlocale\nlocals\nlocaltime\nlock\nlockf\nlocks\nlog\n"
        "logical\nlogin\nlong\nlong_binget\nlong_binput\nlonger\nlongrange_iterator\nlooking\n"
        "lookup\nlookup_error\nlookuperror\nlookups\nloop\nlosed\nlost\nlow\nlowest\nlutimes\n"
        "lvalue\nlzma\nlzma1\nlzmacompressor\nlzmadecompressor\n"
    ),
    "m": (
        "\nm_size\nm_slots\nmach\nmach_timebase_info\nmach_vm_read_overwrite\nmachine\n"
        "machinery\nmacro\nmadvise\nmagic\nmagnitude\nmain\nmake\nmake_encoder\n"
        "make_exception_with_doc\nmake_vectorcall_class\nmakeelement\nmaketrans\nmalformed\n"
        "malloc\nmanagedbuffer\nmanagement\nmanager\nmangled\nmanual\nmany\nmap\nmapped\nmapping\n"
        "mappingproxy\nmappings\nmaps\nmark\nmarshal\nmarshalling\nmaster\nmatch\nmatch_case\n"
        "matchas\nmatchclass\nmatching\nmatchmapping\nmatchor\nmatchsequence\nmatchsingleton\n"
        "matchstar\nmatchvalue\nmath\nmatmultype\nmax\nmaxdigits\nmaxevents\nmaximum\nmaxlen\n"
        "maxmem\nmaxpp\nmaxsize\nmay\nmaybe\nmbcs_decode\nmbcs_encode\nmd5\nmean\nmeant\nmedium\n"
        "memb\nmember\nmember_descriptor\nmemberdescr\nmemo\nmemory\nmemory_iterator\nmemorybio\n"
        "memoryerror\nmemoryview\nmemoryview_from_buffer\nmessage\nmessages\nmeta_path\n"
        "metaclass\nmetaclasses\nmetatype\nmeth_class\nmeth_method\nmeth_static\nmethclass\n"
        "methinstance\nmethod\nmethod_descriptor\nmethodcaller\nmethoddescriptor2\n"
        "methoddescriptorbase\nmethoddescriptorderived\nmethoddescriptornopget\nmethods\n"
        "methstatic\nmicrosecond\nmight\nmin\nminimalmetaclass\nminimalspectype\nminimum\n"
        "minmax\nminute\nmirrored\nmisalignment\nmismatch\nmismatched\nmissed\nmissing\nmix\n"
        "mixer\nmktime\nmmap\nmod\nmode\nmodification\nmodified\nmodify\nmodule\nmodule_globals\n"
        "moduledef\nmodulenotfounderror\nmodules\nmoduletype\nmodulo\nmodulus\nmonth\nmore\nmost\n"
        "mousemask\nmp_length\nmremap\nmro\nms\nmsg\nmuch\nmul\nmulti\nmultibyte\nmultihop\n"
        "multiple\nmust\nmutable\nmutated\nmutex\nmutually\nmy_double_sum\nmy_float_sum\n"
        "my_int_sum\nmylist\n"
    ),
    "n": (
        "\nn\nnaive\nname\nname_mapping\nnamed\nnamedexpr\nnameerror\nnameless\nnames\nnamespace\n"
        "namespaces\nnan\nnarrow\nnative\nnb_add\nnb_op\nnbytes\nnchannels\nnd\nnd_fortran\n"
        "nd_getbuf_fail\nnd_pil\nnd_varexport\nndarray\nndim\nneed\n"
        "needcurrentdirectoryforexepath\nneeded\nneeds\nnegative\nneither\nnelements\nnest\n"
        "nested\nnesting\nnetwork\nnever\nnew\nnew_class\nnew_object\nnew_panel\nnewline\nnewobj\n"
        "newobj_ex\nnewwin\nnext\nnid\nnis\nnlocals\nno\nnocontinuable\nnode\nnode_depth\n"
        "node_offset\nnodefaulttype\nnodes\nnon\nnonbytes\nnone\nnonempty\nnonetype\nnonlocal\n"
        "nonnegative\nnonzero\nnoop_optimizer\nnor\nnormalization\nnormalize\nnormalizing\nnot\n"
        "notadirectoryerror\nnote\nnotimplemented\nnotimplementederror\nnotimplementedtype\n"
        "noutrefresh\nnow\nns\nntohs\nnull\nnulls\nnum\nnumber\nnumbering\nnumeric\nnumerical\n"
    ),
    "o": (
        "\no\nobj\nobject\nobjects\nobjextradata\nobsolete\nobtain\noccur\noccurred\noct\noctal\nodd\n"
        "odict_items\nodict_iterator\nodict_keys\nodict_values\noem_decode\noem_encode\nof\n"
        "offset\nold\nomitted\non\nonce\nonceregistry\none\nonly\nop\noparg\nopcode\nopen\nopen_code\n"
        "opened\nopener\nopening\nopenlog\nopenssl\noperand\noperands\noperate\noperation\n"
        "operations\noperator\nops\noptimization\noptimize\noptimizer\noption\noptional\noptions\n"
        "or\nord\norder\nordereddict\nordinal\norelse\norg\norig\norigin\noriginal\nos\noserror\noss\n"
        "oss_audio_device\noss_mixer_device\nother\nout\nouter\noutgoing\noutput\noutput_stream\n"
        "outside\nover\noverflow\noverflowed\noverflowerror\noverflows\noverlapped\noverlay\n"
        "override\noverwrite\nown\nowned\nowner\n"
    ),
    "p": (
        "\np\npack\npack_into\npackage\npacked\npacking\npad\npadded\npadding\npage\npair\npairs\n"
        "pairwise\npanel\npanel_above\npanel_below\nparam\nparameter\nparameterized\nparameters\n"
        "paramflag\nparamflags\nparamspec\nparamspecargs\nparamspeckwargs\nparen\nparent\n"
        "parentheses\nparenthesis\nparenthesized\nparse\nparse_tuple_and_keywords\nparser\n"
        "parsing\npart\npartial\npartially\npartials\nparticipates\npartition\npass\npassed\n"
        "password\npath\npath_hooks\npath_importer_cache\npathlike\npaths\npattern\npatterns\n"
        "pbkdf2_hmac\npdata\npeek\npeer\npem\npending\npendingdeprecationwarning\npep\npeps\nperf\n"
        "perhaps\npermission\npermissionerror\npermissions\npermit\npermitted\npermutations\n"
        "persist_after_fork\npersistent\npersistent_id\npersistent_load\nperson\npf_system\n"
        "phase\npi\npickle\npicklebuffer\npickled\npickler\npicklermemoproxy\npid\npil\npipe\n"
        "platform\nplease\nplus\npoint\npointer\npointers\npointing\npoints\npoll\npollfds\npop\n"
        "popitem\nport\nportion\npos\nposition\npositional\npositions_iterator\npositive\n"
        "posonlyargcount\nposonlyargs\npossible\npost\npow\npower\npreadv2\nprec\nprecede\n"
        "precision\npreexec_fn\nprefixed\npresent\npreset\nprevents\nprevious\nprint\nprintf\n"
        "private\nprivileged\nprlimit\nproblem\nprocess\nprocesses\nprocesslookuperror\n"
        "processor\nproduct\nprofile\nprofiler\nprofiler_entry\nprofiler_subentry\nprofiling\n"
        "progress\nprompt\nproperly\nproperty\nprot\nproto\nprotocol\nprotocols\nprovide\n"
        "provided\nproxy\nproxytype\npsk\npthread_kill\nput\nputenv\npwrite\npwritev\n"
        "py_buildvalue\npy_relative_offset\npy_ssize_t\npy_ssize_t_clean\npy_ssize_t_max\n"
        "py_tp_bases\npy_tp_doc\npy_tp_members\npy_tpflags_have_gc\npy_tpflags_heaptype\n"
        "py_tpflags_items_at_end\npy_tpflags_managed_dict\npy_tpflags_managed_weakref\n"
        "py_tpflags_mapping\npy_tpflags_sequence\npyarg_unpacktuple\npybuf_read\npybuf_write\n"
        "pybuffer_fillinfo\npybuffer_iscontiguous\npybuffer_tocontiguous\n"
        "pybytearray_fromstringandsize\npybytearrayobject\npybytes_fromformatv\n"
        "pybytes_fromstringandsize\npybytesobject\npyc\npycapsule\npycapsule_getpointer\n"
        "pycapsule_import\npycapsule_new\npycapsule_setpointer\npycarraytype\npycf_only_ast\n"
        "pycfuncptrtype\npycfunction\npycmethod\npycpointertype\npycsimpletype\npycstructtype\n"
        "pydatetime_capi\npydescr_newmember\npyerr_newexception\npyexpat\npyfile_getline\n"
        "pyfile_writeobject\npyfile_writestring\npymem_calloc\npymem_malloc\npymem_rawcalloc\n"
        "pymem_rawmalloc\npymember_getone\npymember_setone\npymemoryview_frombuffer\n"
        "pymodule_addobjectref\npymodule_create\npymoduledef\npynumber_tobase\npyobject\n"
        "pyobject_calloc\npyobject_malloc\npyruntime\npystate_addmodule\n"
        "pystate_removemodule\npystatus\npython\npythonfinalizationerror\npythread_tss_alloc\n"
        "pythread_tss_create\npytime_monotonicraw\npytime_perfcounterraw\npytime_t\n"
        "pytime_timeraw\npytracemalloc_track\npytracemalloc_untrack\npytype_fromspec_meta\n"
        "pytype_fromspecwithbases\npytype_getmodule\npytype_getmodulebydef\n"
        "pyunicode_fromformatv\npyunicode_fromstringandsize\npyunicode_fromwidechar\n"
        "pyunicode_getsize\npyunicode_new\n"
    ),
    "q": (
        "\nq\nquery\nqueryperformancefrequency\nqueuetype\nquit\nquota\nquotechar\nquoted\n"
        "quoting\n"
    ),
    "r": (
        "\nr\nrace\nraise\nraise_memoryerror\nraise_varargs\nraised\nraising\nran\nrand_add\n"
        "random\nrange\nrange_iterator\nrate\nratecv\nratio\nraw\nraw_unicode_escape_decode\n"
        "raw_unicode_escape_encode\nre\nreached\nread\nread1\nreadable\nreadall\n"
        "readbuffer_encode\nreader\nreading\nreadinto\nreadinto1\nreadline\nreadonly\nreadv\n"
        "ready\nreal\nreason\nreceive\nreceived\nrecognized\nreconfigure\nreconstruct\nrecord\n"
        "recoverable\nrecursinginfinitelyerror\nrecursion\nrecursionerror\nrecursive\nrecv\n"
        "recv_into\nrecvfrom\nrecvfrom_into\nrecvmsg\nrecvmsg_into\nreduce\nreentrant\n"
        "reference\nreferenced\nreferenceerror\nreferences\nreferencetype\nrefers\nrefresh\n"
        "reftracer\nreftype\nrefused\nrefusing\nregister\nregister_converter\nregister_error\n"
        "registered\nregistry\nregular\nreinitialize\nrejected\nrelative\nrelease\nreleased\n"
        "remaining\nremote\nremoval\nremove\nremove_lop\nremoved\nremoveprefix\nremovesuffix\n"
        "renaming\nreorganize\nrepeat\nrepeated\nrepeateddocslotclass\n"
        "repeatedmembersslotclass\nreplace\nreplace_history_item\nreplace_panel\nreplacement\n"
        "report\nrepr\nrepresent\nrepresented\nrequest\nrequested\nrequests\nrequired\nrequires\n"
        "reraise\nreset\nresize\nresized\nresizing\nresolution\nresolved\nresource\nresources\n"
        "resourcewarning\nrestarted\nrestore\nrestricted\nrestype\nresult\nresult_1\nresult_2\n"
        "results\nretrieved\nreturn\nreturned\nreturns\nreuse\nreverse\nreverse_import_mapping\n"
        "reverse_name_mapping\nreversed\nreversible\nrevoked\nrf\nrfind\nrfs\nrichcompare\nright\n"
        "rindex\nrjust\nrlock\nrms\nroom\nround\nrounded\nrounding\nroute\nroutine\nrow\n"
        "row_cast_map\nrpartition\nrule\nrules\nrun\nrunning\nruntimeerror\nruntimewarning\n"
        "rvalue\nrw\n"
    ),
    "s": (
        "\ns\nsafe\nsalt\nsame\nsample\nsamples\nsampling\nsarguments\nscalar\nscandir\nscanner\n"
        "sched_param\nsched_priority\nscheduler\nscope\nscrewed\nscript\nscroll\nscrypt\nsearch\n"
        "second\nseconds\nsection\nsee\nseek\nseek_cur\nseek_end\nseek_set\nseeks\nseen\nselect\n"
        "selected\nself\nsem_unlink\nsemaphore\nsemaphores\nsemlock\nsend\nsendfile\nsending\n"
        "sendmsg\nsendto\nsent\nsep\nseparate\nseparator\nseq\nsequence\nserialize\nserializing\n"
        "server\nserver_hostname\nservice\nservice_id\nsession\nset\nset_\nset_ciphers\n"
        "set_exception\nset_int_max_str_digits\nset_iterator\nset_keylog_filename\n"
        "set_psk_server_callback\nset_result\nset_threshold\nset_vectorcall\nset_wakeup_fd\n"
        "setattr\nsetcomp\nsetdefault\nsetgroups\nsetitems\nsetlocale\nsetrlimit\nsetter\n"
        "setting\nsetupterm\nsetvar\nsetxattr\nsevered\nsha1\nsha224\nsha224type\nsha256\n"
        "sha256type\nsha3\nsha384\nsha384type\nsha512\nsha512type\nshape\nshared\nshared_cache\n"
        "shift\nshim\nshm_open\nshm_unlink\nshort\nshorter\nshould\nshow\nshutdown\nshutting\nside\n"
        "sig_dfl\nsig_ign\nsiginfo\nsiginterrupt\nsign\nsignal\nsignaldictmixin\nsignaling\n"
        "signals\nsigned\nsignness\nsigset\nsimple\nsimplenamespace\nsimplequeue\nsince\nsingle\n"
        "sixth\nsize\nsize_t\nsized\nsizehint\nsizeof\nskip_file_prefixes\nskipinitialspace\n"
        "slated\nsleep\nslice\nslices\nslicing\nslot\nslots\nsmall\nsmaller\nsni_callback\nsock\n"
        "sockaddr\nsocket\nsoftware\nsome\nsomehow\nsoon\nsort\nsorted\nsource\nsource_hash\nspace\n"
        "spamdict\nspamlist\nspan\nspawnv\nspawnve\nspec\nspecial\nspecific\nspecification\n"
        "specified\nspecifier\nspecifiers\nspecifies\nspecify\nsplice\nsplit\nsql\nsqlite\n"
        "sqlite3\nsrc\nsre\nsre_scanner\nsre_template\nsrmount\nss\nssize_max\nssize_t\nssl\n"
        "ssl_ctx_get_verify_mode\nsslcontext\nsslerror\nsslsession\nsslsocket\nstack\n"
        "stack_effect\nstack_global\nstackdepth\nstale\nstandard\nstar\nstarmap\nstarred\nstart\n"
        "start_color\nstarted\nstartfile\nstarting\nstartswith\nstat\nstat_result\nstate\n"
        "statement\nstatements\nstatic\nstaticarray\nstaticmethod\nstatus\nstatvfs_result\nstd\n"
        "stderr\nstderrprinter\nstdin\nstdout\nstep\nsteps\nstgdict\nstginfo\nstill\nstmt\nstop\n"
        "stopasynciteration\nstopiteration\nstopped\nstorage\nstore\nstore_name\nstoring\nstr\n"
        "str_ascii_iterator\nstr_iterator\nstrcoll\nstream\nstreams\nstrerror\nstrftime\nstrict\n"
        "strictly\nstrides\nstring\nstringio\nstrings\nstrong\nstruct\nstruct_time\n"
        "structparam_type\nstructseq_repr\nstructure\nstructures\nstrxfrm\nstyle\nsub\n"
        "sub_keywords\nsubclass\nsubclasses\nsubinterpreter\nsubinterpreters\nsubject\n"
        "submodule\nsuboffsets\nsubprocess\nsubscript\nsubscriptable\nsubsection\nsubstitution\n"
        "substring\nsubtract\nsubtype\nsubwin\nsuccessful\nsuch\nsum\nsuper\nsuperclass\nsupplied\n"
        "supply\nsupport\nsupported\nsupporting\nsupports\nsurrounding\nsuspended\nswitch\n"
        "symbol\nsymbolic\nsymbols\nsymlink\nsymtable\nsync\nsynchronized\nsyntax\nsyntaxerror\n"
        "syntaxwarning\nsys\nsyslog\nsystem\nsystemerror\nsystemexit\n"
    ),
    "t": (
        "\nt\ntaberror\ntable\ntag\ntagname\ntake\ntakes\ntakewhile\ntaking\ntarget\ntargets\ntask\n"
        "taskstepmethwrapper\ntb_frame\ntb_next\ntcflow\ntcflush\ntcl\ntcl_obj\ntcsendbreak\n"
        "tcsetattr\ntcsetwinsize\ntee\nteedataobject\ntelling\ntemplate\ntemporarily\nterm\n"
        "termios\ntest\ntest_buildvalue_n\ntest_descr\ntest_dict_iteration\n"
        "test_from_contiguous\ntest_gc_visit_objects_basic\n"
        "test_gc_visit_objects_exit_early\ntest_lazy_hash_inheritance\ntest_list_api\n"
        "test_pep3118_obsolete_write_locks\ntest_string_from_format\n"
        "test_structmemberstype\ntest_structmemberstype_oldapi\ntest_w_code_invalid_suffix\n"
        "test_widechar\ntestbuftype\ntestclass\ntext\ntextdomain\ntextiowrapper\nthan\nthat\nthe\n"
        "there\nthese\nthird\nthis\nthread\nthreaded\nthreadsafety\nthreshold\nthrough\nthrow\n"
        "tickets\nticks_per_second\ntigetflag\ntigetnum\ntigetstr\ntime\ntime_t\ntimed\n"
        "timedelta\ntimeout\ntimeouterror\ntimer\ntimes\ntimespec\ntimestamp\ntimeval\ntimezone\n"
        "tiocgsize\ntiocgwinsz\ntiocssize\ntiocswinsz\ntk_init\ntls\ntls_client\nto\nto_bytes\n"
        "tobytes\ntogether\ntoken\ntokenizeriter\ntokens\ntolerances\ntolist\ntomono\ntoo\ntool\n"
        "top\ntostereo\ntotal\ntouchline\ntounicode\ntp_basicsize\ntp_call\ntp_dictoffset\n"
        "tp_free\ntp_members\ntp_name\ntp_new\ntp_repr\ntp_weaklistoffset\ntparm\ntrace\n"
        "traceback\ntracebacktype\ntraced\ntracemalloc\ntrackfd\ntrailer\ntrailers\ntrailing\n"
        "trampoline\ntransaction\ntransition\ntranslate\ntranslation\ntransport\ntraverse\n"
        "treebuilder\ntried\ntrue\ntruncated\ntry\ntrystar\ntstate\ntuple\ntuple_iterator\ntuples\n"
        "twice\ntwo\ntxt\ntxt2obj\ntype\ntype_ignore\ntype_ignores\ntype_param\ntype_params\n"
        "typealias\ntypealiastype\ntypecode\ntypeerror\ntypeignore\ntypes\ntypevar\n"
        "typevartuple\ntz\ntzif\ntzinfo\ntzname\n"
    ),
    "u": (
        "\nu\nu00110000\nubyte\nucd\nuid\nulaw2lin\nun\nunable\nunary\nunaryop\nunavailable\nunbound\n"
        "unbounded\nunboundlocalerror\nunboundop\nunbuffered\nundefined\nunder\nunderflow\n"
        "underlying\nunderscores\nunexpected\nungetmouse\nunhashable\nunicode\n"
        "unicode_converter\nunicode_escape_decode\nunicode_escape_encode\n"
        "unicode_fromkindanddata\nunicode_fromwidechar\nunicodedata\nunicodedecodeerror\n"
        "unicodeencodeerror\nunicodeerror\nunicodetranslateerror\nunicodewarning\nunindent\n"
        "uninitialized\nunion\nuniontype\nunique\nunit\nuniversal\nunknown\nunless\nunloaded\n"
        "unlocked\nunmarshallable\nunmarshalling\nunmatched\nunnamed\nunnormalized\n"
        "unobtainable\nunpack\nunpack_from\nunpacked\nunpacking\nunpickle\nunpickler\n"
        "unpicklermemoproxy\nunpickling\nunquoted\nunraisablehook\nunraisablehookargs\n"
        "unreachable\nunrecognised\nunrecognized\nunregistered\nunreported\nunsetenv\nunsigned\n"
        "unsigned_long_converter\nunsigned_long_long_converter\nunsized\nunsuitable\n"
        "unsupported\nunterminated\nuntil\nuop_executor\nuop_optimizer\nup\nupdate\nurandom\n"
        "usage\nuse\nuse_default_colors\nused\nuser\nuserptr\nusers\nuserwarning\nuses\nushort\n"
        "using\nutcoffset\nutf\nutf8\nutf_16_be_decode\nutf_16_be_encode\nutf_16_decode\n"
        "utf_16_encode\nutf_16_ex_decode\nutf_16_le_decode\nutf_16_le_encode\n"
        "utf_32_be_decode\nutf_32_be_encode\nutf_32_decode\nutf_32_encode\nutf_32_ex_decode\n"
        "utf_32_le_decode\nutf_32_le_encode\nutf_7_decode\nutf_7_encode\nutf_8_decode\n"
        "utf_8_encode\nutime\nutimensat\nuuid\n"
    ),
    "v": (
        "\nv\nvalid\nvalidator\nvalue\nvalueerror\nvalues\nvar\nvariable\nvariables\nvariance\n"
        "variant\nvars\nvector\nvectorcall\nvectorcallclass\nverify_mode\nversion\nview\nviews\n"
        "violation\nvline\nvm\nvm_id\nvolumes\nvtable\n"
    ),
    "w": (
        "\nw\nwait\nwaitformultipleobjects\nwaitforsingleobject\nwanted\nwants\nwarn\n"
        "warn_explicit\nwarning\nwarningmessage\nwarnings\nwarnings_get_state\nwas\nwasn\nwatch\n"
        "watchdog\nwatcher\nwatchers\nwchar_t\nwe\nweak\nweaklist\nweakly\nweakref\nweek\nweighta\n"
        "weightb\nwent\nwere\nwexitstatus\nwhen\nwhence\nwhere\nwhich\nwhile\nwho\nwhole\nwide\n"
        "width\nwildcard\nwindow\nwindows\nwinerror\nwinsize\nwith\nwithin\nwithitem\nwithout\n"
        "works\nwould\nwrapper\nwrapper_descriptor\nwritable\nwrite\nwrite_eof\nwriteobject\n"
        "writer\nwritev\nwriting\nwritten\nwrong\nwsaconnect\nwsasendto\nwsastartup\nwtermsig\n"
    ),
    "x": "\nx\nxenix\nxmlparser\nxxo\n",
    "y": "\ny\nyear\nyet\nyield\nyielded\nyieldfrom\nyou\nyour\n",
    "z": "\nz\nzd\nzero\nzerodivisionerror\nzeros\nzip\nzip_longest\nzone\nzoneinfo\n",
}
# --- end of the generated words ---


__all__ = [
    "FRAME_LIMIT",
    "MESSAGE_LIMIT",
    "STACK_LIMIT",
    "VALUE",
    "Typed",
    "exception_message",
    "keep_program_text",
    "limit_frames",
    "message",
    "redact",
    "relative_file",
    "scrub",
    "strip_paths",
    "tokens",
    "truncate",
    "usernames",
    "vocabulary",
]
