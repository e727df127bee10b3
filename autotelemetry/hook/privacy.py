"""The privacy boundary for crash data: every capture path sanitises through here.

Nothing about a crash is stored before it has passed through this module, in
this order (see docs/privacy.md):

1. paths: the interpreter's and environment's prefixes and site-packages
   directories become placeholders, the home directory becomes ``~``;
2. the user's login name, anywhere in the text, becomes ``<user>``;
3. secrets are redacted: private-key blocks, URLs with credentials,
   ``Bearer``/``Basic`` credentials, JWTs, ``sk_live_``-style keys, AWS access
   keys, GitHub/GitLab/Slack tokens, ``password=``-style pairs, e-mail addresses;
4. only then is the text truncated (a message to :data:`MESSAGE_LIMIT` bytes), so
   a cut can never leave half a secret behind.

It runs only when a crash happens (never on the normal path of a host CLI), so
it may import ``re`` (already loaded by Click and argparse); patterns are
compiled on first use. Everything here is a pure function of its input and of
the process's environment (home, user name, prefixes).
"""

import os
import sys

#: Largest stored exception message, in UTF-8 bytes (marker included).
MESSAGE_LIMIT = 1024
#: Largest stored stack (the frames' text, estimated as stored), in bytes.
STACK_LIMIT = 4096
#: Most frames stored per exception (the innermost ones).
FRAME_LIMIT = 50
#: Raw text scanned for secrets; longer input is cut first, at a token boundary.
SCAN_LIMIT = 64 * 1024

TRUNCATED = "…[truncated]"
USER = "<user>"

_cache: "dict[str, object]" = {}


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
    seen = {}
    resolved = set()
    for path, placeholder in pairs:
        if path in resolved:
            continue  # realpath walks every component: once per distinct path
        resolved.add(path)
        for variant in {path, os.path.realpath(path)}:
            variant = variant.rstrip("/\\")
            if len(variant) > 1 and variant not in seen:
                seen[variant] = placeholder
    return sorted(seen.items(), key=lambda item: -len(item[0]))


def _homes() -> "list[str]":
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

#: (pattern, replacement), applied in order. Prefixed tokens first, pairs and e-mail last.
_RULES = (
    (
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
        r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        "<redacted:private-key>",
    ),
    # scheme://user:password@host → scheme://***@host
    (r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@]+@", r"\1***@"),
    (
        r"(?i)\b(bearer|basic|digest|token)(\s+)(?!(?:bearer|basic|digest|token)\b)"
        r"[A-Za-z0-9._~+/=-]{4,}",
        r"\1\2<redacted>",
    ),
    (r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?", "<redacted:jwt>"),
    (r"eyJ[A-Za-z0-9_-]{8,}", "<redacted:jwt>"),
    (r"(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]+", "<redacted:api-key>"),
    (r"whsec_[A-Za-z0-9]+", "<redacted:api-key>"),
    (
        r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{12,}",
        "<redacted:aws>",
    ),
    (r"(?:gh[pousr]_[A-Za-z0-9]{8,}|github_pat_[A-Za-z0-9_]{8,})", "<redacted:github>"),
    (
        r"gl(?:pat|dt|rt|ptt|cbt|soat|ft|imt|agent|oas)-[A-Za-z0-9_-]{8,}",
        "<redacted:gitlab>",
    ),
    (r"xox[abposre]-[A-Za-z0-9-]{6,}", "<redacted:slack>"),
    (r"(?i)hooks\.slack\.com/services/[A-Za-z0-9/_-]+", "hooks.slack.com/<redacted:slack>"),
    # password=..., "token": "...", api_key: ..., --secret=...
    (
        r"(?i)([A-Za-z0-9_.-]*(?:" + _KEYS + r")[A-Za-z0-9_.-]*[\"']?\s*[=:]\s*)"
        r"(?:\"[^\"]*(?:\"|\Z)|'[^']*(?:'|\Z)|[^\s,;&)\]}]+)",
        r"\1<redacted>",
    ),
    (r"[A-Za-z0-9._%+<>-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", "<redacted:email>"),
)


#: For each rule in _RULES, lower-case substrings of which at least one must occur in
#: the text for the rule to be able to match. Compiling all the rules cost several
#: milliseconds per crash; now a rule is compiled only when its trigger is present.
_TRIGGERS = (
    ("private key",),
    ("://",),
    ("bearer", "basic", "digest", "token"),
    ("eyj",),
    ("eyj",),
    ("_live_", "_test_"),
    ("whsec_",),
    ("akia", "asia", "agpa", "aida", "aroa", "aipa", "anpa", "anva", "abia", "acca"),
    ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    (
        "glpat-",
        "gldt-",
        "glrt-",
        "glptt-",
        "glcbt-",
        "glsoat-",
        "glft-",
        "glimt-",
        "glagent-",
        "gloas-",
    ),
    ("xox",),
    ("hooks.slack.com",),
    ("pass", "pwd", "secret", "token", "key", "auth", "credential", "session", "cookie", "sig"),
    ("@",),
)


def _rule(index: int) -> object:
    compiled = _cache.setdefault("rules", {})
    pattern = compiled.get(index)  # type: ignore[attr-defined]
    if pattern is None:
        import re

        pattern = compiled[index] = re.compile(_RULES[index][0], re.DOTALL)  # type: ignore[index]
    return pattern


def redact(text: str) -> str:
    """Replace every secret-looking substring with a ``<redacted…>`` placeholder."""
    lower = text.lower()
    for index, triggers in enumerate(_TRIGGERS):
        # Plain loops, no any(<generator>): a crash event redacts dozens of
        # strings, and the generators alone cost several million instructions.
        for trigger in triggers:
            if trigger in lower:
                text = _rule(index).sub(_RULES[index][1], text)  # type: ignore[attr-defined]
                lower = text.lower()
                break
    return text


#: Command-line values shorter than this are not scrubbed from messages (too common).
ARGV_MIN_LENGTH = 3
ARGV_PLACEHOLDER = "<arg>"


def argv_values(argv: "list[str] | None" = None) -> "list[str]":
    """What the user typed that is not an option name: positionals and option values.

    ``--token=abc`` contributes ``abc``; ``-x`` and ``--flag`` contribute nothing.
    Longest first, so a value containing another is replaced whole.
    """
    argv = sys.argv[1:] if argv is None else argv
    values = set()
    for token in argv:
        if not isinstance(token, str):
            continue
        if token.startswith("-"):
            token = token.partition("=")[2]
        if len(token) >= ARGV_MIN_LENGTH:
            values.add(token)
    return sorted(values, key=len, reverse=True)


def strip_argv(text: str, argv: "list[str] | None" = None) -> str:
    """Replace every command-line value found in ``text`` with ``<arg>`` (law 3:
    names, never values: an exception message often echoes what the user typed)."""
    for value in argv_values(argv):
        if value in text:
            text = text.replace(value, ARGV_PLACEHOLDER)
    return text


def scrub(text: str) -> str:
    """Paths, user name, then secrets: what any captured string goes through.

    Secrets are also redacted once before the paths are stripped, so a user
    name that happens to occur inside a token (``sk_live_…`` for a user named
    ``live``) cannot break the token's pattern and let it through.
    """
    return redact(strip_paths(redact(text)))


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
    """Cut overlong raw text before scanning, dropping the token the cut may have split.

    Whatever straddles the cut (possibly half a secret, too short for its
    pattern to recognise) is removed: the cut moves back to the last whitespace.
    """
    if len(text) <= scan_limit:
        return text
    head = text[:scan_limit]
    for i in range(len(head) - 1, -1, -1):
        if head[i].isspace():
            head = head[:i]
            break
    else:
        return ""
    # An unterminated private-key block or quoted value is redacted to the end by the rules.
    return head


def message(text: str, limit: int = MESSAGE_LIMIT, scan_limit: int = SCAN_LIMIT) -> str:
    """A stored exception message: command-line values, then :func:`scrub`, truncated last.

    (Names of code, such as frame functions, are only scrubbed: a function may
    share its name with a typed value without being one.)
    """
    return truncate(scrub(strip_argv(_precut(text, scan_limit))), limit)


def exception_message(exc: BaseException) -> str:
    """``str(exc)``, sanitised.

    An exception whose ``__str__`` raises gets the placeholder the interpreter
    itself prints (``<exception str() failed>``).
    """
    try:
        text = str(exc)
    except BaseException:
        text = "<exception str() failed>"
    if not isinstance(text, str):
        return "<exception str() failed>"
    return message(text)


def relative_file(filename: str) -> str:
    """A frame's file relative to site-packages, the stdlib or the project; never absolute."""
    if not filename or filename.startswith("<"):
        return filename or "<unknown>"
    path = os.path.abspath(filename)
    roots = [(d, "") for d in _site_dirs()]
    roots.append((os.path.dirname(os.__file__), "<stdlib>/"))
    roots += [(p, "<prefix>/") for p in (sys.prefix, sys.exec_prefix) if p]
    roots += [(p, "<python>/") for p in (sys.base_prefix, sys.base_exec_prefix) if p]
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if isinstance(main, str):
        roots.append((os.path.dirname(os.path.abspath(main)), ""))
    try:
        roots.append((os.getcwd(), ""))
    except OSError:
        pass
    best = None
    for root, label in roots:
        root = root.rstrip("/\\")
        if root and path.startswith(root + os.sep) and (best is None or len(root) > len(best[0])):
            best = (root, label)
    rel = os.path.basename(path) if best is None else best[1] + path[len(best[0]) + 1 :]
    return scrub(rel.replace("\\", "/"))


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


__all__ = [
    "FRAME_LIMIT",
    "MESSAGE_LIMIT",
    "STACK_LIMIT",
    "exception_message",
    "limit_frames",
    "message",
    "redact",
    "relative_file",
    "scrub",
    "strip_paths",
    "truncate",
    "usernames",
]
