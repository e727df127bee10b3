"""The report's arithmetic: weights, percentiles, version order, the regression test.

Kept apart from the queries and the rendering so each rule is stated once and
documented in docs/design.md ("The report").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

#: A version needs at least this many recorded runs of a command (and so does
#: the version it is compared with) before it can be flagged.
MIN_RUNS = 30
#: One-sided two-proportion z-test at p < 0.001: a weekly report compares every
#: command on every version, so a looser threshold would flag noise every week.
Z_CRITICAL = 3.09
#: Duration histogram edges (ms): a 1-2-5 series; the last bin is open.
DURATION_EDGES = (0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000)
QUANTILES = (50, 95, 99)


def weight(sample_rate: float | None) -> float:
    """An event stands for 1/sample_rate runs (unsampled: 1)."""
    return 1.0 / sample_rate if sample_rate else 1.0


def number(value: float) -> int | float:
    """A weighted count as shown: whole numbers as ints, else two decimals."""
    rounded = round(value)
    return int(rounded) if abs(value - rounded) < 1e-9 else round(value, 2)


def rate(part: float, total: float) -> float:
    return round(part / total, 4) if total else 0.0


def rank(q: int, n: int) -> int:
    """Nearest rank (1-based) of the q-th percentile of n values: ceil(q/100 * n)."""
    return min(max(1, -(-q * n // 100)), n)


def weighted_percentiles(
    values: Iterable[tuple[float, float | None]], total: float, quantiles: Sequence[int]
) -> list[float | None]:
    """Weighted nearest rank over ascending ``(value, sample_rate)``.

    The q-th percentile is the smallest value whose cumulative weight reaches
    q/100 of the total weight; with equal weights this is the plain nearest
    rank. Stops reading once the highest quantile is found.
    """
    out: list[float | None] = [None] * len(quantiles)
    targets = sorted((q * total / 100 * (1 - 1e-12), i) for i, q in enumerate(quantiles))
    cum = 0.0
    k = 0
    for value, sample_rate in values:
        cum += weight(sample_rate)
        while k < len(targets) and cum >= targets[k][0]:
            out[targets[k][1]] = value
            k += 1
        if k == len(targets):
            break
    return out


def version_key(versions: Sequence[str]) -> Callable[[str], Any] | None:
    """Sort key for a CLI's versions: PEP 440 order when every version parses, else none.

    Returns ``None`` when some version is not PEP 440 (the caller then keeps
    the order in which versions were first seen).
    """
    from packaging.version import InvalidVersion, Version

    try:
        parsed = {v: Version(v) for v in versions}
    except InvalidVersion:
        return None
    return parsed.__getitem__


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> float:
    """z of the one-sided test "the second rate is higher" (pooled variance)."""
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return 0.0
    return (x2 / n2 - x1 / n1) / math.sqrt(variance)


def regressed(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """The z score when (x2 of n2) is clearly worse than (x1 of n1), else ``None``.

    Clearly worse: both have at least :data:`MIN_RUNS` recorded runs, the rate
    is higher, and the one-sided two-proportion z-test gives z >= :data:`Z_CRITICAL`.
    """
    if n1 < MIN_RUNS or n2 < MIN_RUNS or x2 * n1 <= x1 * n2:
        return None
    z = two_proportion_z(x1, n1, x2, n2)
    return round(z, 2) if z >= Z_CRITICAL else None
