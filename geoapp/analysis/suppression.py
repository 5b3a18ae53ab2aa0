"""Cell suppression for published incident counts (statistical disclosure control).

Incident counts are published per cell x incident group x period together with totals
(the whole community, all groups, quarters, the year).  A count ``0 < n < k`` would point
at very few incidents, so it is withheld (*primary* suppression); further counts are
withheld (*secondary* suppression) so that no withheld count can be worked back out of the
published counts and totals.

Attacker model
--------------
The attacker knows every published value, every relation (each aggregate entry equals the
sum of its parts along its axis, for every combination of the other indices, hence also
every linear consequence such as year = sum of months), and that every withheld value is
at least 1.  They may treat withheld values as reals or as integers.  They do not know
anything else about them: not the rule that picked them, not an upper bound, not which
were primary.

Guarantees of `protect`
-----------------------
1. No published value ``v`` has ``0 < v < k``.  Zeros are never withheld (a zero is
   published as 0, so publishing "nothing here" is allowed).  Every withheld value is >= 1.
2. For every withheld entry that was audited (see the limit below) there is an *integer*
   table that satisfies every relation, agrees with every published value, has every
   withheld entry >= 1, and differs from the true table in that entry by at least 1.  So
   neither an integer nor a real-valued attacker can determine it: its minimum and
   maximum over the feasible set differ by at least 1.
3. Nothing more: the interval an attacker can derive for a withheld count may be narrow
   (for example [1, 2]).  There is no protection interval wider than 1, and an attacker
   who knows the suppression rule itself (rather than only the published table) is not
   covered.

Algorithm, and why
------------------
* Extended table: every aggregate entry is computed as the sum of its parts, axis by axis,
  so aggregates along different axes combine ([community, all groups, year] and so on).
* Fixpoint (vectorised, one pass per relation and sweep, until nothing changes).  For a
  relation instance whose total is published, a single withheld part is determined
  (total minus the published parts), and so are several withheld parts that are all 1
  (their sum equals their number and each is >= 1).  For a withheld total whose parts are
  all published, the total is determined.  In each such instance the smallest non-zero
  published part is withheld as well (the total when there is none): the smallest, so
  the least information is lost.  This is cheap and settles the usual cases, but it looks
  at one relation at a time, and in linked 2-D/3-D tables that is not enough (a withheld
  entry can be pinned by a chain of relations, or by the lower bound 1 in another row).
* Exact audit.  The withheld entries are the variables of a linear system (one row per
  relation instance that touches a withheld entry; published entries are constants).
  Connected components of that system are independent.  Certificates are found in
  batches: linear programmes over all components at once with random objectives push
  many variables at least 1 away from their true value in one solve; a certificate is
  accepted only from a component whose LP point is integral.  Entries still uncertified
  get one integer programme each (HiGHS via `scipy.optimize.milp`): "is there an integer
  feasible table with this entry >= true + 1 (or <= true - 1)?".  An entry with neither is
  determined; it is repaired by withholding the smallest published non-zero entry of a
  relation it is in (or of its component), then the fixpoint and the audit run again.
  Withholding more only enlarges the attacker's feasible set, so a certificate stays valid
  after later repairs and only new or uncertified entries are audited again.  The loop
  ends: in the worst case every non-zero entry of a component is withheld, and then
  doubling the whole component is a certificate for each of them.

Known limit
-----------
The per-entry integer programmes run only in components of at most `EXACT_COMPONENT_LIMIT`
withheld entries.  Entries of larger components that the batch LPs did not certify are
not audited: they keep only the fixpoint's protection (which catches every single-relation
disclosure but not every multi-relation one), and `protect` logs a warning with their
number.  See `last_unaudited` for the count of the most recent call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

log = logging.getLogger(__name__)

EXACT_COMPONENT_LIMIT = 2000
"""Largest component (in withheld entries) that gets per-entry integer programmes."""

_BATCH_ROUNDS = 6
_TOL = 1e-6

last_unaudited = 0
"""Withheld entries the most recent `protect` call could not audit exactly (see the limit)."""


@dataclass(frozen=True)
class Protected:
    """A protected table: publish ``values`` where ``suppressed`` is False."""

    values: np.ndarray
    suppressed: np.ndarray
    primary: np.ndarray


@dataclass(frozen=True)
class _Relation:
    axis: int
    target: int
    parts: np.ndarray  # extended indices along `axis`
    part_index: slice | np.ndarray  # the same, as a slice when contiguous (a view, no copy)


def protect(base: np.ndarray, margins: Sequence[Sequence[Sequence[int]]], k: int = 10) -> Protected:
    """Extend ``base`` by its aggregates and choose which entries to withhold.

    ``margins[a]`` lists the aggregates of axis ``a``; aggregate ``j`` gets extended index
    ``base.shape[a] + j`` and sums the extended indices it lists, all smaller than its own,
    so a year may sum quarters that sum months.  The result holds the whole extended table
    because the caller publishes from it and the relations are what an attacker exploits.
    See the module docstring for the guarantee and its limit.
    """
    global last_unaudited
    base = np.asarray(base)
    if k < 1:
        raise ValueError("k must be at least 1")
    if base.ndim == 0:
        raise ValueError("base needs at least one axis")
    if len(margins) != base.ndim:
        raise ValueError(f"margins needs one entry per axis ({base.ndim}), got {len(margins)}")
    flat_table = base.ndim == 1
    if flat_table:  # a leading axis of length 1 keeps every relation instance indexable
        base, margins = base[None, :], [[], *margins]
    relations, values = _extend(base, margins)
    primary = (values > 0) & (values < k)
    suppressed = primary.copy()
    certified = np.zeros(values.shape, dtype=bool)
    last_unaudited = 0
    while True:
        _fixpoint(values, suppressed, relations)
        determined, unaudited = _audit(values, suppressed, certified, relations)
        if determined.size == 0:
            break
        _repair(values, suppressed, relations, determined)
    last_unaudited = unaudited
    if unaudited:
        log.warning("suppression: %d withheld entries in large components not audited", unaudited)
    if flat_table:
        values, suppressed, primary = values[0], suppressed[0], primary[0]
    return Protected(values=values, suppressed=suppressed, primary=primary)


def _extend(
    base: np.ndarray, margins: Sequence[Sequence[Sequence[int]]]
) -> tuple[list[_Relation], np.ndarray]:
    """Check the margins and build the extended table; relations drive everything else."""
    if base.dtype.kind not in "iub" and not (
        base.dtype.kind == "f" and np.all(np.isfinite(base)) and np.all(base == np.round(base))
    ):
        raise ValueError("base must hold integer counts")
    if base.size and base.min() < 0:
        raise ValueError("base must be non-negative")
    values = base.astype(np.int64)
    relations: list[_Relation] = []
    for axis, aggregates in enumerate(margins):
        n = values.shape[axis]
        shape = list(values.shape)
        shape[axis] = n + len(aggregates)
        grown = np.zeros(shape, dtype=np.int64)
        grown[_at(axis, slice(0, n))] = values
        for j, raw in enumerate(aggregates):
            target = n + j
            parts = np.asarray(list(raw), dtype=np.int64)
            if parts.ndim != 1 or parts.size == 0:
                raise ValueError(f"aggregate {target} on axis {axis} needs a list of parts")
            if parts.min() < 0 or parts.max() >= target or np.unique(parts).size != parts.size:
                raise ValueError(
                    f"aggregate {target} on axis {axis}: parts must be distinct indices "
                    f"below {target}"
                )
            index: slice | np.ndarray = parts
            if np.all(np.diff(parts) == 1):
                index = slice(int(parts[0]), int(parts[-1]) + 1)
            grown[_at(axis, target)] = grown[_at(axis, index)].sum(axis=axis)
            relations.append(_Relation(axis, target, parts, index))
        values = grown
    return relations, values


def _at(axis: int, index: int | slice | np.ndarray) -> tuple:
    """Index selecting ``index`` along ``axis`` and everything along the other axes."""
    return (slice(None),) * axis + (index,)


def _fixpoint(values: np.ndarray, suppressed: np.ndarray, relations: list[_Relation]) -> None:
    """Withhold complements until no single relation determines a withheld entry."""
    changed = True
    while changed:
        changed = False
        for rel in relations:
            changed |= _enforce(values, suppressed, rel)


def _enforce(values: np.ndarray, suppressed: np.ndarray, rel: _Relation) -> bool:
    """One vectorised pass of the single-relation rule over every instance of ``rel``."""
    a = rel.axis
    total_s = suppressed[_at(a, rel.target)]
    parts_s = suppressed[_at(a, rel.part_index)]
    parts_v = values[_at(a, rel.part_index)]
    n_supp = parts_s.sum(axis=a)
    above_one = (parts_s & (parts_v > 1)).any(axis=a)
    need = np.where(total_s, n_supp == 0, (n_supp == 1) | ((n_supp >= 2) & ~above_one))
    inst = np.nonzero(need)
    count = inst[0].size
    if count == 0:
        return False
    idx: list[np.ndarray] = [i[:, None] for i in inst]
    idx.insert(a, rel.parts[None, :])
    rows_v = values[tuple(idx)]
    candidate = ~suppressed[tuple(idx)] & (rows_v > 0)
    pick = np.where(candidate, rows_v, np.iinfo(np.int64).max).argmin(axis=1)
    has = candidate.any(axis=1)
    part = [i[has] for i in inst]
    part.insert(a, rel.parts[pick[has]])
    suppressed[tuple(part)] = True
    # no published non-zero part: withhold the total (only ever needed when it is published)
    total = [i[~has] for i in inst]
    total.insert(a, np.full(count - int(has.sum()), rel.target))
    suppressed[tuple(total)] = True
    return True


@dataclass
class _System:
    """The attacker's linear system over the withheld entries: ``A x = A x_true``, x >= 1."""

    flat: np.ndarray  # flat index in the extended table of each variable
    x: np.ndarray  # true values
    a: sparse.csr_matrix
    b: np.ndarray
    comp: np.ndarray  # component of each variable
    row_comp: np.ndarray
    comp_size: np.ndarray


def _system(values: np.ndarray, suppressed: np.ndarray, relations: list[_Relation]) -> _System:
    """Rows = relation instances touching a withheld entry; components split the audit."""
    flat = np.flatnonzero(suppressed)
    shape = values.shape
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    coefs: list[np.ndarray] = []
    n_rows = 0
    for rel in relations:
        a = rel.axis
        inst_shape = shape[:a] + shape[a + 1 :]
        tz = np.nonzero(suppressed[_at(a, rel.target)])
        pz = np.nonzero(suppressed[_at(a, rel.part_index)])
        t_inst = np.ravel_multi_index(tz, inst_shape)
        p_inst = np.ravel_multi_index(pz[:a] + pz[a + 1 :], inst_shape)
        t_full = list(tz)
        t_full.insert(a, np.full(t_inst.size, rel.target))
        p_full = list(pz)
        p_full[a] = rel.parts[pz[a]]
        keys, inverse = np.unique(np.concatenate([t_inst, p_inst]), return_inverse=True)
        rows.append(n_rows + inverse)
        cols.append(
            np.concatenate(
                [
                    np.ravel_multi_index(tuple(t_full), shape),
                    np.ravel_multi_index(tuple(p_full), shape),
                ]
            )
        )
        coefs.append(np.concatenate([np.ones(t_inst.size), -np.ones(p_inst.size)]))
        n_rows += keys.size
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    col = np.searchsorted(flat, np.concatenate(cols)) if cols else np.zeros(0, np.int64)
    coef = np.concatenate(coefs) if coefs else np.zeros(0)
    a_mat = sparse.csr_matrix((coef, (row, col)), shape=(n_rows, flat.size))
    x = values.reshape(-1)[flat].astype(float)
    n = flat.size
    incidence = sparse.csr_matrix(
        (np.ones(row.size), (row + n, col)), shape=(n + n_rows, n + n_rows)
    )
    _, labels = connected_components(incidence, directed=False)
    comp = labels[:n]
    row_comp = labels[n:]
    comp_size = np.bincount(comp, minlength=labels.max() + 1 if labels.size else 0)
    return _System(flat, x, a_mat, a_mat @ x, comp, row_comp, comp_size)


def _audit(
    values: np.ndarray,
    suppressed: np.ndarray,
    certified: np.ndarray,
    relations: list[_Relation],
) -> tuple[np.ndarray, int]:
    """Certify withheld entries; return the determined ones (flat indices) and unaudited count."""
    sysm = _system(values, suppressed, relations)
    cert = certified.reshape(-1)[sysm.flat].copy()
    if not cert.all():
        cert |= _batch_certify(sysm, cert)
    determined: list[int] = []
    unaudited = 0
    for i in np.flatnonzero(~cert):
        if sysm.comp_size[sysm.comp[i]] > EXACT_COMPONENT_LIMIT:
            unaudited += 1
            continue
        if _single_certify(sysm, i):
            cert[i] = True
        else:
            determined.append(int(sysm.flat[i]))
    certified.reshape(-1)[sysm.flat[cert]] = True
    return np.asarray(determined, dtype=np.int64), unaudited


def _batch_certify(sysm: _System, cert: np.ndarray) -> np.ndarray:
    """Cheap certificates for many entries at once: LPs with random signed objectives.

    A component's LP point is a feasible table; when it is integral, every entry in it that
    sits at least 1 from its true value is certified.  Solving all components in one LP is
    the same as solving them one by one (they share no variable) but pays the solver's
    overhead once.
    """
    rng = np.random.default_rng(0)
    x = sysm.x
    found = cert.copy()
    lower = np.ones_like(x)
    upper = 2 * x + 10
    constraint = LinearConstraint(sysm.a, sysm.b, sysm.b)
    for round_ in range(_BATCH_ROUNDS):
        open_ = ~found
        if not open_.any():
            break
        sign = -1.0 if round_ % 2 == 0 else 1.0  # first push up, then down, then mixed
        if round_ >= 2:
            sign = rng.choice([-1.0, 1.0], size=x.size)
        c = np.where(open_, sign * rng.uniform(1.0, 2.0, size=x.size), 0.0)
        res = milp(c, constraints=constraint, bounds=Bounds(lower, upper))
        if res.x is None:
            break
        y = res.x
        frac = np.abs(y - np.round(y)) > _TOL
        bad = np.zeros(sysm.comp_size.size, dtype=bool)
        bad[sysm.comp[frac]] = True
        ok = (np.abs(y - x) >= 1 - _TOL) & ~bad[sysm.comp]
        if not (ok & open_).any() and round_ >= 2:
            break
        found |= ok
    return found


def _single_certify(sysm: _System, i: int) -> bool:
    """Exact check: an integer feasible table with entry ``i`` at least 1 from the truth."""
    comp = sysm.comp[i]
    cols = np.flatnonzero(sysm.comp == comp)
    rows = np.flatnonzero(sysm.row_comp == comp)
    a = sysm.a[rows][:, cols]
    b = sysm.b[rows]
    x = sysm.x[cols]
    j = int(np.searchsorted(cols, i))
    constraint = LinearConstraint(a, b, b) if rows.size else []
    integral = np.ones(cols.size)
    for lo, hi in ((x[j] + 1, np.inf), (1.0, x[j] - 1)):
        if hi < lo:
            continue
        lower = np.ones(cols.size)
        upper = np.full(cols.size, np.inf)
        lower[j], upper[j] = lo, hi
        res = milp(
            np.zeros(cols.size),
            constraints=constraint,
            bounds=Bounds(lower, upper),
            integrality=integral,
        )
        if res.status == 0:
            return True
    return False


def _repair(
    values: np.ndarray, suppressed: np.ndarray, relations: list[_Relation], determined: np.ndarray
) -> None:
    """Withhold, for each determined entry, the smallest published non-zero entry beside it."""
    shape = values.shape
    flat_v = values.reshape(-1)
    flat_s = suppressed.reshape(-1)
    for e in determined:
        if not _repair_one(shape, flat_v, flat_s, relations, int(e)):
            # no published non-zero neighbour: widen to everything reachable through relations
            _repair_wide(values, suppressed, relations, int(e))


def _members(shape: tuple[int, ...], rel: _Relation, coords: tuple[int, ...]) -> np.ndarray:
    """Flat indices of the relation instance of ``rel`` through ``coords``."""
    idx = np.concatenate([rel.parts, [rel.target]])
    full = [np.full(idx.size, c) for c in coords]
    full[rel.axis] = idx
    return np.ravel_multi_index(tuple(full), shape)


def _neighbours(shape: tuple[int, ...], relations: list[_Relation], e: int) -> np.ndarray:
    """Every entry sharing a relation instance with flat entry ``e``."""
    coords = np.unravel_index(e, shape)
    out = []
    for rel in relations:
        c = int(coords[rel.axis])
        if c == rel.target or c in rel.parts:
            out.append(_members(shape, rel, tuple(int(v) for v in coords)))
    return np.unique(np.concatenate(out)) if out else np.zeros(0, np.int64)


def _repair_one(
    shape: tuple[int, ...],
    flat_v: np.ndarray,
    flat_s: np.ndarray,
    relations: list[_Relation],
    e: int,
) -> bool:
    """Withhold the smallest published non-zero neighbour of ``e``; False when there is none."""
    near = _neighbours(shape, relations, e)
    near = near[~flat_s[near] & (flat_v[near] > 0)]
    if near.size == 0:
        return False
    flat_s[near[np.argmin(flat_v[near])]] = True
    return True


def _repair_wide(
    values: np.ndarray, suppressed: np.ndarray, relations: list[_Relation], e: int
) -> None:
    """Search outward through withheld entries for a published non-zero one to withhold."""
    shape = values.shape
    flat_v = values.reshape(-1)
    flat_s = suppressed.reshape(-1)
    seen = {e}
    frontier = [e]
    while frontier:
        nxt = []
        for f in frontier:
            for g in _neighbours(shape, relations, f):
                g = int(g)
                if g in seen:
                    continue
                seen.add(g)
                if flat_s[g]:
                    nxt.append(g)
                elif flat_v[g] > 0:
                    flat_s[g] = True
                    return
        frontier = nxt
    raise AssertionError("a determined entry always has a published non-zero entry to repair")
