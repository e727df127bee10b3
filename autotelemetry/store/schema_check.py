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

SCHEMA_SHA256 = 'a96c1a57fb987ef10e9bd0fa798278cd911cfe8c5273fdc2263c362ddd8b7e88'
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
_c9 = 0
_c10 = re.compile('^[0-9a-f]{32}$')
_c11 = re.compile('^[0-9a-f]{16}$')
_c12 = re.compile('^[0-9a-f]{16}$')
_c13 = 0
_c14 = 255
_c15 = frozenset(['argparse', 'click', 'typer'])
_c16 = re.compile('^\\d+\\.\\d+\\.\\d+$')
_c17 = re.compile('^[^A-Za-z0-9\\s]')
_c18 = 0
_c19 = frozenset(['crash', 'failure', 'interrupted', 'success', 'terminated', 'usage_error'])
_c20 = re.compile('^SIG[A-Z0-9]+$')
_c21 = 1
_c22 = 0


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
    v29 = v['type']
    if not (type(v29) is str and v29 == 'command'):
        return 'type: ' + 'not the constant'
    v30 = v['command']
    if not (type(v30) is str):
        return 'command: ' + 'not string'
    if len(v30) < 1:
        return 'command: ' + 'too short'
    v31 = v['flags']
    if not (type(v31) is list):
        return 'flags: ' + 'not array'
    if not _unique(v31):
        return 'flags: ' + 'items not unique'
    for v32 in v31:
        if not (type(v32) is str):
            return 'flags: ' + 'item: ' + 'not string'
        if _c17.match(v32) is None:
            return 'flags: ' + 'item: ' + 'does not match the pattern'
    v33 = v['duration_ms']
    if not ((type(v33) is int or type(v33) is float)):
        return 'duration_ms: ' + 'not number'
    if v33 < _c18:
        return 'duration_ms: ' + 'fails minimum'
    v34 = v['exit_code']
    if not ((type(v34) is int or (type(v34) is float and v34.is_integer()))):
        return 'exit_code: ' + 'not integer'
    v35 = v['status']
    if not (type(v35) is str and v35 in _c19):
        return 'status: ' + 'not in the enum'
    v36 = v.get('signal', _MISSING)
    if v36 is not _MISSING:
        if not (type(v36) is str):
            return 'signal: ' + 'not string'
        if _c20.match(v36) is None:
            return 'signal: ' + 'does not match the pattern'
    v37 = v['error_type']
    if not (type(v37) is str or v37 is None):
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
    v38 = v['type']
    if not (type(v38) is str and v38 == 'crash'):
        return 'type: ' + 'not the constant'
    v39 = v['command']
    if not (type(v39) is str or v39 is None):
        return 'command: ' + 'not string/null'
    v40 = v.get('thread', _MISSING)
    if v40 is not _MISSING:
        if not (type(v40) is str):
            return 'thread: ' + 'not string'
    v41 = v.get('count', _MISSING)
    if v41 is not _MISSING:
        if not ((type(v41) is int or (type(v41) is float and v41.is_integer()))):
            return 'count: ' + 'not integer'
        if v41 < _c21:
            return 'count: ' + 'fails minimum'
    v42 = v['exception']
    if not (type(v42) is dict):
        return 'exception: ' + 'not object'
    if 'type' not in v42:
        return 'exception: ' + 'type: missing'
    if 'message' not in v42:
        return 'exception: ' + 'message: missing'
    if 'frames' not in v42:
        return 'exception: ' + 'frames: missing'
    if 'fingerprint' not in v42:
        return 'exception: ' + 'fingerprint: missing'
    v43 = v42['type']
    if not (type(v43) is str):
        return 'exception: ' + 'type: ' + 'not string'
    if len(v43) < 1:
        return 'exception: ' + 'type: ' + 'too short'
    v44 = v42['message']
    if not (type(v44) is str or v44 is None):
        return 'exception: ' + 'message: ' + 'not string/null'
    v45 = v42['frames']
    if not (type(v45) is list):
        return 'exception: ' + 'frames: ' + 'not array'
    for v46 in v45:
        if not (type(v46) is dict):
            return 'exception: ' + 'frames: ' + 'item: ' + 'not object'
        if 'module' not in v46:
            return 'exception: ' + 'frames: ' + 'item: ' + 'module: missing'
        if 'function' not in v46:
            return 'exception: ' + 'frames: ' + 'item: ' + 'function: missing'
        if 'line' not in v46:
            return 'exception: ' + 'frames: ' + 'item: ' + 'line: missing'
        v47 = v46['module']
        if not (type(v47) is str or v47 is None):
            return 'exception: ' + 'frames: ' + 'item: ' + 'module: ' + 'not string/null'
        v48 = v46['function']
        if not (type(v48) is str):
            return 'exception: ' + 'frames: ' + 'item: ' + 'function: ' + 'not string'
        v49 = v46['line']
        if not ((type(v49) is int or (type(v49) is float and v49.is_integer())) or v49 is None):
            return 'exception: ' + 'frames: ' + 'item: ' + 'line: ' + 'not integer/null'
        v50 = v46.get('in_app', _MISSING)
        if v50 is not _MISSING:
            if not (type(v50) is bool):
                return 'exception: ' + 'frames: ' + 'item: ' + 'in_app: ' + 'not boolean'
        v51 = v46.get('file', _MISSING)
        if v51 is not _MISSING:
            if not (type(v51) is str or v51 is None):
                return 'exception: ' + 'frames: ' + 'item: ' + 'file: ' + 'not string/null'
    v52 = v42.get('frames_omitted', _MISSING)
    if v52 is not _MISSING:
        if not ((type(v52) is int or (type(v52) is float and v52.is_integer()))):
            return 'exception: ' + 'frames_omitted: ' + 'not integer'
        if v52 < _c22:
            return 'exception: ' + 'frames_omitted: ' + 'fails minimum'
    v53 = v42['fingerprint']
    if not (type(v53) is str):
        return 'exception: ' + 'fingerprint: ' + 'not string'
    if len(v53) < 1:
        return 'exception: ' + 'fingerprint: ' + 'too short'
    v54 = v42.get('chain', _MISSING)
    if v54 is not _MISSING:
        if not (type(v54) is list):
            return 'exception: ' + 'chain: ' + 'not array'
        for v55 in v54:
            if not (type(v55) is dict):
                return 'exception: ' + 'chain: ' + 'item: ' + 'not object'
            if 'type' not in v55:
                return 'exception: ' + 'chain: ' + 'item: ' + 'type: missing'
            v56 = v55['type']
            if not (type(v56) is str):
                return 'exception: ' + 'chain: ' + 'item: ' + 'type: ' + 'not string'
            v57 = v55.get('relation', _MISSING)
            if v57 is not _MISSING:
                if not (type(v57) is str):
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
    v9 = v.get('pid', _MISSING)
    if v9 is not _MISSING:
        if not ((type(v9) is int or (type(v9) is float and v9.is_integer()))):
            return 'pid: ' + 'not integer'
        if v9 < _c9:
            return 'pid: ' + 'fails minimum'
    v10 = v.get('trace', _MISSING)
    if v10 is not _MISSING:
        if not (type(v10) is dict):
            return 'trace: ' + 'not object'
        if 'trace_id' not in v10:
            return 'trace: ' + 'trace_id: missing'
        if 'span_id' not in v10:
            return 'trace: ' + 'span_id: missing'
        if 'flags' not in v10:
            return 'trace: ' + 'flags: missing'
        v11 = v10['trace_id']
        if not (type(v11) is str):
            return 'trace: ' + 'trace_id: ' + 'not string'
        if _c10.match(v11) is None:
            return 'trace: ' + 'trace_id: ' + 'does not match the pattern'
        v12 = v10['span_id']
        if not (type(v12) is str):
            return 'trace: ' + 'span_id: ' + 'not string'
        if _c11.match(v12) is None:
            return 'trace: ' + 'span_id: ' + 'does not match the pattern'
        v13 = v10.get('parent_span_id', _MISSING)
        if v13 is not _MISSING:
            if not (type(v13) is str):
                return 'trace: ' + 'parent_span_id: ' + 'not string'
            if _c12.match(v13) is None:
                return 'trace: ' + 'parent_span_id: ' + 'does not match the pattern'
        v14 = v10['flags']
        if not ((type(v14) is int or (type(v14) is float and v14.is_integer()))):
            return 'trace: ' + 'flags: ' + 'not integer'
        if v14 < _c13:
            return 'trace: ' + 'flags: ' + 'fails minimum'
        if v14 > _c14:
            return 'trace: ' + 'flags: ' + 'fails maximum'
        v15 = v10.get('state', _MISSING)
        if v15 is not _MISSING:
            if not (type(v15) is str):
                return 'trace: ' + 'state: ' + 'not string'
            if len(v15) > 512:
                return 'trace: ' + 'state: ' + 'too long'
    v16 = v['cli']
    if not (type(v16) is dict):
        return 'cli: ' + 'not object'
    if 'name' not in v16:
        return 'cli: ' + 'name: missing'
    if 'version' not in v16:
        return 'cli: ' + 'version: missing'
    if 'framework' not in v16:
        return 'cli: ' + 'framework: missing'
    v17 = v16['name']
    if not (type(v17) is str):
        return 'cli: ' + 'name: ' + 'not string'
    if len(v17) < 1:
        return 'cli: ' + 'name: ' + 'too short'
    v18 = v16['version']
    if not (type(v18) is str or v18 is None):
        return 'cli: ' + 'version: ' + 'not string/null'
    v19 = v16['framework']
    if not (type(v19) is str and v19 in _c15):
        return 'cli: ' + 'framework: ' + 'not in the enum'
    v20 = v['env']
    if not (type(v20) is dict):
        return 'env: ' + 'not object'
    if 'os' not in v20:
        return 'env: ' + 'os: missing'
    if 'os_version' not in v20:
        return 'env: ' + 'os_version: missing'
    if 'arch' not in v20:
        return 'env: ' + 'arch: missing'
    if 'python' not in v20:
        return 'env: ' + 'python: missing'
    if 'ci' not in v20:
        return 'env: ' + 'ci: missing'
    if 'ci_provider' not in v20:
        return 'env: ' + 'ci_provider: missing'
    if 'shell' not in v20:
        return 'env: ' + 'shell: missing'
    if 'tty' not in v20:
        return 'env: ' + 'tty: missing'
    v21 = v20['os']
    if not (type(v21) is str):
        return 'env: ' + 'os: ' + 'not string'
    v22 = v20['os_version']
    if not (type(v22) is str):
        return 'env: ' + 'os_version: ' + 'not string'
    v23 = v20['arch']
    if not (type(v23) is str):
        return 'env: ' + 'arch: ' + 'not string'
    v24 = v20['python']
    if not (type(v24) is str):
        return 'env: ' + 'python: ' + 'not string'
    if _c16.match(v24) is None:
        return 'env: ' + 'python: ' + 'does not match the pattern'
    v25 = v20['ci']
    if not (type(v25) is bool):
        return 'env: ' + 'ci: ' + 'not boolean'
    v26 = v20['ci_provider']
    if not (type(v26) is str or v26 is None):
        return 'env: ' + 'ci_provider: ' + 'not string/null'
    v27 = v20['shell']
    if not (type(v27) is str or v27 is None):
        return 'env: ' + 'shell: ' + 'not string/null'
    v28 = v20['tty']
    if not (type(v28) is bool):
        return 'env: ' + 'tty: ' + 'not boolean'
    if not ((check_1(v) is None) + (check_2(v) is None)) == 1:
        return 'fails oneOf (' + '; '.join(p for p in (check_1(v), check_2(v),) if p) + ')'
    return None


check = check_0
