"""Generated from autotelemetry/schema.json by autotelemetry/store/validate.py (`make docs`): do not edit.

``check(event)`` returns the first problem found (a short path and reason), or
``None`` for a valid event.
"""

# mypy: ignore-errors
import re

def _json_equal(a: object, b: object) -> bool:
    """Equality of two JSON values as JSON Schema defines it (bool is not a number)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b

def _unique(items: list) -> bool:
    try:
        if len(set(items)) == len(items) and not any(type(x) in (bool, int, float) for x in items):
            return True  # distinct hashable values, none of them equal across JSON types
    except TypeError:
        pass  # lists or objects among them
    return not any(
        _json_equal(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))
    )

SCHEMA_SHA256 = '68df80bf4e482d0069690670d211967f2adcd526d2ac0030e8b0db80a3abd024'
_MISSING = object()
_c0 = frozenset([1])
_c1 = re.compile('^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
_c2 = frozenset(['command', 'crash'])
_c3 = re.compile('^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?Z$')
_c4 = re.compile('^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
_c5 = re.compile('^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
_c6 = re.compile('^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
_c7 = 0
_c8 = 1
_c9 = frozenset(['argparse', 'click', 'typer'])
_c10 = re.compile('^\\d+\\.\\d+\\.\\d+$')
_c11 = re.compile('^-')
_c12 = 0
_c13 = frozenset(['crash', 'failure', 'interrupted', 'success', 'terminated', 'usage_error'])
_c14 = re.compile('^SIG[A-Z0-9]+$')
_c15 = 1
_c16 = 0


def check_1(v):
    if not (type(v) is dict):
        return 'not object'
    if 'type' not in v:
        return 'type: missing'
    if 'command' not in v:
        return 'command: missing'
    if 'flags' not in v:
        return 'flags: missing'
    if 'duration_ms' not in v:
        return 'duration_ms: missing'
    if 'exit_code' not in v:
        return 'exit_code: missing'
    if 'status' not in v:
        return 'status: missing'
    if 'error_type' not in v:
        return 'error_type: missing'
    v22 = v['type']
    if not (type(v22) is str and v22 == 'command'):
        return 'type: ' + 'not the constant'
    v23 = v['command']
    if not (type(v23) is str):
        return 'command: ' + 'not string'
    if len(v23) < 1:
        return 'command: ' + 'too short'
    v24 = v['flags']
    if not (type(v24) is list):
        return 'flags: ' + 'not array'
    if not _unique(v24):
        return 'flags: ' + 'items not unique'
    for v25 in v24:
        if not (type(v25) is str):
            return 'flags: ' + 'item: ' + 'not string'
        if _c11.match(v25) is None:
            return 'flags: ' + 'item: ' + 'does not match the pattern'
    v26 = v['duration_ms']
    if not ((type(v26) is int or type(v26) is float)):
        return 'duration_ms: ' + 'not number'
    if v26 < _c12:
        return 'duration_ms: ' + 'fails minimum'
    v27 = v['exit_code']
    if not ((type(v27) is int or (type(v27) is float and v27.is_integer()))):
        return 'exit_code: ' + 'not integer'
    v28 = v['status']
    if not (type(v28) is str and v28 in _c13):
        return 'status: ' + 'not in the enum'
    v29 = v.get('signal', _MISSING)
    if v29 is not _MISSING:
        if not (type(v29) is str):
            return 'signal: ' + 'not string'
        if _c14.match(v29) is None:
            return 'signal: ' + 'does not match the pattern'
    v30 = v['error_type']
    if not (type(v30) is str or v30 is None):
        return 'error_type: ' + 'not string/null'
    return None


def check_2(v):
    if not (type(v) is dict):
        return 'not object'
    if 'type' not in v:
        return 'type: missing'
    if 'command' not in v:
        return 'command: missing'
    if 'exception' not in v:
        return 'exception: missing'
    v31 = v['type']
    if not (type(v31) is str and v31 == 'crash'):
        return 'type: ' + 'not the constant'
    v32 = v['command']
    if not (type(v32) is str or v32 is None):
        return 'command: ' + 'not string/null'
    v33 = v.get('thread', _MISSING)
    if v33 is not _MISSING:
        if not (type(v33) is str):
            return 'thread: ' + 'not string'
    v34 = v.get('count', _MISSING)
    if v34 is not _MISSING:
        if not ((type(v34) is int or (type(v34) is float and v34.is_integer()))):
            return 'count: ' + 'not integer'
        if v34 < _c15:
            return 'count: ' + 'fails minimum'
    v35 = v['exception']
    if not (type(v35) is dict):
        return 'exception: ' + 'not object'
    if 'type' not in v35:
        return 'exception: ' + 'type: missing'
    if 'message' not in v35:
        return 'exception: ' + 'message: missing'
    if 'frames' not in v35:
        return 'exception: ' + 'frames: missing'
    if 'fingerprint' not in v35:
        return 'exception: ' + 'fingerprint: missing'
    v36 = v35['type']
    if not (type(v36) is str):
        return 'exception: ' + 'type: ' + 'not string'
    if len(v36) < 1:
        return 'exception: ' + 'type: ' + 'too short'
    v37 = v35['message']
    if not (type(v37) is str or v37 is None):
        return 'exception: ' + 'message: ' + 'not string/null'
    v38 = v35['frames']
    if not (type(v38) is list):
        return 'exception: ' + 'frames: ' + 'not array'
    for v39 in v38:
        if not (type(v39) is dict):
            return 'exception: ' + 'frames: ' + 'item: ' + 'not object'
        if 'module' not in v39:
            return 'exception: ' + 'frames: ' + 'item: ' + 'module: missing'
        if 'function' not in v39:
            return 'exception: ' + 'frames: ' + 'item: ' + 'function: missing'
        if 'line' not in v39:
            return 'exception: ' + 'frames: ' + 'item: ' + 'line: missing'
        v40 = v39['module']
        if not (type(v40) is str or v40 is None):
            return 'exception: ' + 'frames: ' + 'item: ' + 'module: ' + 'not string/null'
        v41 = v39['function']
        if not (type(v41) is str):
            return 'exception: ' + 'frames: ' + 'item: ' + 'function: ' + 'not string'
        v42 = v39['line']
        if not ((type(v42) is int or (type(v42) is float and v42.is_integer())) or v42 is None):
            return 'exception: ' + 'frames: ' + 'item: ' + 'line: ' + 'not integer/null'
        v43 = v39.get('in_app', _MISSING)
        if v43 is not _MISSING:
            if not (type(v43) is bool):
                return 'exception: ' + 'frames: ' + 'item: ' + 'in_app: ' + 'not boolean'
        v44 = v39.get('file', _MISSING)
        if v44 is not _MISSING:
            if not (type(v44) is str or v44 is None):
                return 'exception: ' + 'frames: ' + 'item: ' + 'file: ' + 'not string/null'
    v45 = v35.get('frames_omitted', _MISSING)
    if v45 is not _MISSING:
        if not ((type(v45) is int or (type(v45) is float and v45.is_integer()))):
            return 'exception: ' + 'frames_omitted: ' + 'not integer'
        if v45 < _c16:
            return 'exception: ' + 'frames_omitted: ' + 'fails minimum'
    v46 = v35['fingerprint']
    if not (type(v46) is str):
        return 'exception: ' + 'fingerprint: ' + 'not string'
    if len(v46) < 1:
        return 'exception: ' + 'fingerprint: ' + 'too short'
    v47 = v35.get('chain', _MISSING)
    if v47 is not _MISSING:
        if not (type(v47) is list):
            return 'exception: ' + 'chain: ' + 'not array'
        for v48 in v47:
            if not (type(v48) is dict):
                return 'exception: ' + 'chain: ' + 'item: ' + 'not object'
            if 'type' not in v48:
                return 'exception: ' + 'chain: ' + 'item: ' + 'type: missing'
            v49 = v48['type']
            if not (type(v49) is str):
                return 'exception: ' + 'chain: ' + 'item: ' + 'type: ' + 'not string'
            v50 = v48.get('relation', _MISSING)
            if v50 is not _MISSING:
                if not (type(v50) is str):
                    return 'exception: ' + 'chain: ' + 'item: ' + 'relation: ' + 'not string'
    return None


def check_0(v):
    if not (type(v) is dict):
        return 'not object'
    if 'schema_version' not in v:
        return 'schema_version: missing'
    if 'event_id' not in v:
        return 'event_id: missing'
    if 'type' not in v:
        return 'type: missing'
    if 'timestamp' not in v:
        return 'timestamp: missing'
    if 'session_id' not in v:
        return 'session_id: missing'
    if 'install_id' not in v:
        return 'install_id: missing'
    if 'cli' not in v:
        return 'cli: missing'
    if 'env' not in v:
        return 'env: missing'
    v1 = v['schema_version']
    if not ((type(v1) is int or type(v1) is float) and v1 in _c0):
        return 'schema_version: ' + 'not the constant'
    v2 = v['event_id']
    if not (type(v2) is str):
        return 'event_id: ' + 'not string'
    if _c1.match(v2) is None:
        return 'event_id: ' + 'does not match the pattern'
    v3 = v['type']
    if not (type(v3) is str and v3 in _c2):
        return 'type: ' + 'not in the enum'
    v4 = v['timestamp']
    if not (type(v4) is str):
        return 'timestamp: ' + 'not string'
    if _c3.match(v4) is None:
        return 'timestamp: ' + 'does not match the pattern'
    v5 = v['session_id']
    if not (type(v5) is str):
        return 'session_id: ' + 'not string'
    if _c4.match(v5) is None:
        return 'session_id: ' + 'does not match the pattern'
    v6 = v.get('parent_session_id', _MISSING)
    if v6 is not _MISSING:
        if not (type(v6) is str):
            return 'parent_session_id: ' + 'not string'
        if _c5.match(v6) is None:
            return 'parent_session_id: ' + 'does not match the pattern'
    v7 = v['install_id']
    if not (type(v7) is str):
        return 'install_id: ' + 'not string'
    if _c6.match(v7) is None:
        return 'install_id: ' + 'does not match the pattern'
    v8 = v.get('sample_rate', _MISSING)
    if v8 is not _MISSING:
        if not ((type(v8) is int or type(v8) is float)):
            return 'sample_rate: ' + 'not number'
        if v8 <= _c7:
            return 'sample_rate: ' + 'fails exclusiveMinimum'
        if v8 >= _c8:
            return 'sample_rate: ' + 'fails exclusiveMaximum'
    v9 = v['cli']
    if not (type(v9) is dict):
        return 'cli: ' + 'not object'
    if 'name' not in v9:
        return 'cli: ' + 'name: missing'
    if 'version' not in v9:
        return 'cli: ' + 'version: missing'
    if 'framework' not in v9:
        return 'cli: ' + 'framework: missing'
    v10 = v9['name']
    if not (type(v10) is str):
        return 'cli: ' + 'name: ' + 'not string'
    if len(v10) < 1:
        return 'cli: ' + 'name: ' + 'too short'
    v11 = v9['version']
    if not (type(v11) is str or v11 is None):
        return 'cli: ' + 'version: ' + 'not string/null'
    v12 = v9['framework']
    if not (type(v12) is str and v12 in _c9):
        return 'cli: ' + 'framework: ' + 'not in the enum'
    v13 = v['env']
    if not (type(v13) is dict):
        return 'env: ' + 'not object'
    if 'os' not in v13:
        return 'env: ' + 'os: missing'
    if 'os_version' not in v13:
        return 'env: ' + 'os_version: missing'
    if 'arch' not in v13:
        return 'env: ' + 'arch: missing'
    if 'python' not in v13:
        return 'env: ' + 'python: missing'
    if 'ci' not in v13:
        return 'env: ' + 'ci: missing'
    if 'ci_provider' not in v13:
        return 'env: ' + 'ci_provider: missing'
    if 'shell' not in v13:
        return 'env: ' + 'shell: missing'
    if 'tty' not in v13:
        return 'env: ' + 'tty: missing'
    v14 = v13['os']
    if not (type(v14) is str):
        return 'env: ' + 'os: ' + 'not string'
    v15 = v13['os_version']
    if not (type(v15) is str):
        return 'env: ' + 'os_version: ' + 'not string'
    v16 = v13['arch']
    if not (type(v16) is str):
        return 'env: ' + 'arch: ' + 'not string'
    v17 = v13['python']
    if not (type(v17) is str):
        return 'env: ' + 'python: ' + 'not string'
    if _c10.match(v17) is None:
        return 'env: ' + 'python: ' + 'does not match the pattern'
    v18 = v13['ci']
    if not (type(v18) is bool):
        return 'env: ' + 'ci: ' + 'not boolean'
    v19 = v13['ci_provider']
    if not (type(v19) is str or v19 is None):
        return 'env: ' + 'ci_provider: ' + 'not string/null'
    v20 = v13['shell']
    if not (type(v20) is str or v20 is None):
        return 'env: ' + 'shell: ' + 'not string/null'
    v21 = v13['tty']
    if not (type(v21) is bool):
        return 'env: ' + 'tty: ' + 'not boolean'
    if not ((check_1(v) is None) + (check_2(v) is None)) == 1:
        return 'fails oneOf (' + '; '.join(p for p in (check_1(v), check_2(v),) if p) + ')'
    return None


check = check_0
