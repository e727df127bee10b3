"""The spool: one small JSON Lines file per process, the durable hand-off point.

Writers are host CLIs at exit (:func:`write`, hot path: ``os`` only); the
readers (ingest into the store, the sender, ``status``) are in
:mod:`autotelemetry.store.ingest`. A spool file is created under a dot-prefixed temporary name
and renamed into place, so a reader never sees a half-written file; a writer
killed mid-write leaves only a ``.tmp`` file, which readers delete once stale.
"""

import os

from autotelemetry.hook import fs, handover

SPOOL_DIR = "spool"
QUARANTINE_DIR = "quarantine"
SUFFIX = ".jsonl"


def spool_dir(home: str) -> str:
    return os.path.join(home, SPOOL_DIR)


def write(home: str, lines: "list[str]") -> str:
    """Atomically add one spool file holding ``lines`` (one JSON event each).

    ``home`` has passed :func:`fs.private_dir` (the caller checks it once per run).
    Raises ``OSError`` on any failure (the caller swallows it); never leaves a
    partial file under a final name.
    """
    directory = fs.private_dir(spool_dir(home))
    from time import time_ns

    rand = os.urandom(4)
    name = "%020d-%d-%s%s" % (time_ns(), os.getpid(), rand.hex(), SUFFIX)
    final = os.path.join(directory, name)
    fs.write_file(final, _spool_bytes(lines))
    if rand[0] < 256 // AMORTISE_EVERY:
        # Amortised cap: about one writer in AMORTISE_EVERY checks the limits, and at
        # most one check per home every eviction.LIMITS_EVERY seconds (a scan is O(spool
        # size), so a run rate alone must not decide how often CLIs pay for it).
        try:
            handover.lazy("eviction").check(home)  # its own module: a run in 64 needs it
        except (OSError, ImportError):
            pass
    return final


def rewrite(path: str, lines: "list[str]") -> None:
    """Replace the spool file ``path`` this process wrote with ``lines``, atomically.

    Used when the real exit status of a run turns out to differ from the one
    first recorded (:func:`autotelemetry.hook.recorder.settle`). The event ids
    are unchanged: a reader that ingested the first version ignores this one.
    """
    fs.write_file(path, _spool_bytes(lines))


def _spool_bytes(lines: "list[str]") -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


#: The home's directory of eviction marks (tiny files whose names carry counts, folded
#: into the store by readers; written by :func:`autotelemetry.hook.eviction.enforce_limits`).
EVICTIONS_DIR = "evictions"
#: A writer checks the limits with probability 1/AMORTISE_EVERY.
AMORTISE_EVERY = 64
