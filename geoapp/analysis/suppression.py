"""Cell suppression for published incident counts (statistical disclosure control).

Incident counts are published per cell x incident group x period together with totals
(the whole community, all groups, quarters, the year).  A count ``0 < n < k`` points at
very few incidents, so it is withheld (*primary* suppression); further counts are withheld
(*secondary* suppression) so that a withheld count cannot be worked back out of the
published counts and totals.

Attacker model
--------------
The attacker knows every published value; every relation (each aggregate entry equals the
sum of its parts along its axis, for every combination of the other indices, and so every
linear consequence such as year = sum of months); and that every withheld value is at
least 1.  They may treat withheld values as reals or as integers.  They know nothing else
about them: no upper bound, not which were primary, not the rule that chose them.

Guarantees of `protect`
-----------------------
1. No published value ``v`` has ``0 < v < k``.  Zeros are never withheld (a zero is
   published as 0).  Every withheld value is at least 1.
2. For every withheld entry there is an *integer* table that satisfies every relation,
   agrees with every published value, has every withheld entry >= 1, and differs from the
   true table in that entry by at least 1 (a *certificate*).  So neither an integer nor a
   real-valued attacker can determine any withheld entry: its minimum and maximum over
   the feasible set differ by at least 1.  `protect` does not return before every
   withheld entry has a certificate.
3. Nothing more.  The interval an attacker derives may be as narrow as width 1 (a withheld
   1 may be shown to be 1 or 2); there is no wider protection interval.  The pattern of
   zeros is published, so "something happened here" is never hidden.  An attacker who
   also knows this suppression rule, or holds outside information, is not covered.

Known limit: over-suppression in large components
-------------------------------------------------
Withheld entries are linked into components by the relations they share.  Components of
at most `EXACT_COMPONENT_LIMIT` entries are audited exactly (LP and integer programmes),
so they withhold only what the audit shows is needed.  Larger components, as in
production-shaped tables (thousands of sparse cells linked through the community totals
into one component of hundreds of thousands of entries), are far beyond an exact audit
in seconds; their entries are certified by explicit swap certificates only, and entries
without one are repaired by withholding whole chains (see `_swap_repair`).  The guarantee
still holds there, but more is withheld than an exact method would need: in sparse tables,
for example, every cell's own totals that cover a withheld count.

Algorithm, and why
------------------
* Extended table: each aggregate entry is the sum of its parts, built axis by axis so that
  aggregates along different axes combine ([community, all groups, year] and so on).
* Fixpoint, vectorised, one pass per relation and sweep until nothing changes.  In a
  relation instance with a published total, one withheld part is determined (total minus
  the published parts), and so are several withheld parts that are all 1 (their sum equals
  their number and each is >= 1); a withheld total whose parts are all published is
  determined too.  Each time the smallest non-zero published part is withheld as well (the
  total when there is none): the smallest, because that loses the least information.  This
  settles the usual cases cheaply but sees one relation at a time; in linked 2-D/3-D tables
  an entry can still be pinned by a chain of relations or by the lower bound 1 elsewhere.
* Explicit certificates, vectorised (no solver).  The chain of base entry ``p`` is every
  extended entry covering it.  (a) If its whole chain is withheld, adding 1 to ``p`` is
  feasible.  (b) Swap ``p`` with a sibling ``p'`` along one axis (same aggregates there):
  feasible when both chains, apart from the shared aggregates, are withheld and the
  decreasing one is >= 2 throughout.
* Exact audit of the other entries of small components (components share no variable, so
  the feasible set is their product).  Batch LPs over all small components at once, with
  random objectives, yield feasible tables; one counts for a component only where it is
  integral.  Entries still open get their own LP, and an integer programme (HiGHS via
  `scipy.optimize.milp`) only if the LP point is fractional: a feasible table with the
  entry >= true + 1, or <= true - 1.  An entry with neither is determined and is repaired
  by withholding the smallest published non-zero entry sharing a relation with it (else
  the nearest one through withheld entries).
* Swap repair for open entries of large components: withhold the chains of a base entry
  under the open entry and of its cheapest sibling donor, so that certificate (b) holds
  (or, with no usable sibling on any axis, the whole chain, for certificate (a)).
* Repeat from the fixpoint until every withheld entry has a certificate.  Withholding more
  only enlarges the attacker's feasible set, so a certificate stays valid in later rounds
  and only open entries are examined again.  The loop ends: every round withholds more,
  and once every non-zero entry is withheld, doubling the table certifies them all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

log = logging.getLogger(__name__)

EXACT_COMPONENT_LIMIT = 400
"""Largest component, in withheld entries, audited exactly; larger ones get swap repairs."""

_BATCH_ROUNDS = 8
_TOL = 1e-6


@dataclass(frozen=True)
class Protected:
    """A protected table: publish ``values`` where ``suppressed`` is False."""

    values: np.ndarray
    suppressed: np.ndarray
    primary: np.ndarray


@dataclass(frozen=True)
class _Axis:
    n: int  # base length
    aggregates: list[np.ndarray]  # parts (extended indices) of each aggregate, in order
    covered: list[slice | np.ndarray]  # base indices under each aggregate
    family: np.ndarray  # per base index: siblings (same aggregates along this axis) share it


@dataclass(frozen=True)
class _Relation:
    axis: int
    target: int
    parts: np.ndarray
    part_index: slice | np.ndarray  # the parts as a slice when contiguous: a view, no copy


def protect(
    base: np.ndarray,
    margins: Sequence[Sequence[Sequence[int]]],
    k: int = 10,
    forced: np.ndarray | None = None,
) -> Protected:
    """Extend ``base`` by its aggregates and choose which entries to withhold.

    ``margins[a]`` lists the aggregates of axis ``a``; aggregate ``j`` gets extended index
    ``base.shape[a] + j`` and sums the extended indices it lists, all smaller than its own,
    so a year may sum quarters that sum months.  The whole extended table is returned
    because the caller publishes from it and its relations are what an attacker exploits.
    ``forced`` (a boolean mask over the extended table) withholds entries another table
    already withholds, so that two tables sharing totals agree; zeros stay published.
    Returns only once every withheld entry has a certificate; see the module docstring
    for the guarantee and its limit.
    """
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
    axes = _axes(base, margins)
    values = _extend(base, axes)
    relations = [
        _Relation(a, ax.n + j, parts, _as_slice(parts))
        for a, ax in enumerate(axes)
        for j, parts in enumerate(ax.aggregates)
    ]
    primary = (values > 0) & (values < k)
    suppressed = primary.copy()
    if forced is not None:
        shaped = np.asarray(forced, dtype=bool).reshape(values.shape)
        suppressed |= shaped & (values > 0)
    certified = np.zeros(values.shape, dtype=bool)
    by_swaps = 0
    while True:
        _fixpoint(values, suppressed, relations)
        certified |= _chain_certificates(values, suppressed, axes)
        determined, open_large = _audit(values, suppressed, certified, relations)
        if determined.size:
            _repair(values, suppressed, relations, determined)
        elif open_large.size:
            before = int(suppressed.sum())
            _swap_repair(values, suppressed, open_large, axes)
            if int(suppressed.sum()) == before:
                raise RuntimeError("suppression: a swap repair withheld nothing new")
            by_swaps += int(suppressed.sum()) - before
        else:
            break
    assert (certified == suppressed).all()
    if by_swaps:  # worth knowing: an exact audit might have withheld less
        log.info(
            "suppression: %d withheld (%d primary), %d of them by swap repairs in large components",
            int(suppressed.sum()),
            int(primary.sum()),
            by_swaps,
        )
    if flat_table:
        values, suppressed, primary = values[0], suppressed[0], primary[0]
    return Protected(values=values, suppressed=suppressed, primary=primary)


def _axes(base: np.ndarray, margins: Sequence[Sequence[Sequence[int]]]) -> list[_Axis]:
    """Check the counts and margins; an aggregate may only sum indices below its own."""
    whole = base.dtype.kind in "iub" or (
        base.dtype.kind == "f" and bool(np.all(np.isfinite(base) & (base == np.round(base))))
    )
    if not whole:
        raise ValueError("base must hold integer counts")
    if base.size and base.min() < 0:
        raise ValueError("base must be non-negative")
    axes = []
    for a, aggregates in enumerate(margins):
        n = base.shape[a]
        parts_list = []
        under: list[np.ndarray] = []
        for j, raw in enumerate(aggregates):
            target = n + j
            parts = np.asarray(list(raw), dtype=np.int64)
            if parts.ndim != 1 or parts.size == 0:
                raise ValueError(f"aggregate {target} on axis {a} needs a non-empty list of parts")
            if parts.min() < 0 or parts.max() >= target or np.unique(parts).size != parts.size:
                raise ValueError(
                    f"aggregate {target} on axis {a}: parts must be distinct indices below {target}"
                )
            below = [parts[parts < n]] + [under[p - n] for p in parts[parts >= n]]
            under.append(np.unique(np.concatenate(below)))
            parts_list.append(parts)
        family = np.zeros(n, dtype=np.int64)
        if len(aggregates):  # siblings: base indices under exactly the same aggregates
            member = np.zeros((n, len(aggregates)), dtype=bool)
            for j, u in enumerate(under):
                member[u, j] = True
            family = np.unique(member, axis=0, return_inverse=True)[1].reshape(-1)
        axes.append(_Axis(n, parts_list, [_as_slice(u) for u in under], family))
    return axes


def _as_slice(parts: np.ndarray) -> slice | np.ndarray:
    """Contiguous parts as a slice, so that indexing gives a view instead of a copy."""
    if parts.size > 1 and not np.all(np.diff(parts) == 1):
        return parts
    return slice(int(parts[0]), int(parts[-1]) + 1)


def _at(axis: int, index: int | slice | np.ndarray) -> tuple:
    """Index selecting ``index`` along ``axis`` and everything along the other axes."""
    return (slice(None),) * axis + (index,)


def _extend(base: np.ndarray, axes: list[_Axis]) -> np.ndarray:
    """The extended table; aggregating axis by axis makes cross-axis aggregates right."""
    values = base.astype(np.int64)
    for a, ax in enumerate(axes):
        shape = list(values.shape)
        shape[a] = ax.n + len(ax.aggregates)
        grown = np.empty(shape, dtype=np.int64)
        grown[_at(a, slice(0, ax.n))] = values
        for j, parts in enumerate(ax.aggregates):
            grown[_at(a, ax.n + j)] = grown[_at(a, _as_slice(parts))].sum(axis=a)
        values = grown
    return values


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
    n_supp = parts_s.sum(axis=a)
    above_one = (parts_s & (values[_at(a, rel.part_index)] > 1)).any(axis=a)
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
    # no published non-zero part: withhold the total (only reachable when it is published)
    total = [i[~has] for i in inst]
    total.insert(a, np.full(count - int(has.sum()), rel.target))
    suppressed[tuple(total)] = True
    return True


def _chain_certificates(
    values: np.ndarray, suppressed: np.ndarray, axes: list[_Axis]
) -> np.ndarray:
    """Withheld entries with a cheap explicit certificate: a chain raise or a sibling swap.

    The chain of base entry ``p`` along a set of axes is every extended entry covering it
    there.  Raising ``p`` by 1 changes exactly its chain; swapping ``p`` with a sibling
    ``p'`` along axis ``a`` (same aggregates along ``a``) changes the two chains apart from
    the shared aggregates.  Pure array work, so it also runs on components far too large
    for the exact audit.
    """
    nd = values.ndim
    lowerable = suppressed & (values >= 2)
    certified = _spread(_chain(suppressed, axes, None, np.logical_and), axes, skip=None)
    for a, ax in enumerate(axes):
        up = _chain(suppressed, axes, a, np.logical_and)[_at(a, slice(0, ax.n))]
        down = _chain(lowerable, axes, a, np.logical_and)[_at(a, slice(0, ax.n))]
        swap = np.zeros(up.shape, dtype=bool)
        for fam in np.unique(ax.family):
            sib = np.flatnonzero(ax.family == fam)
            u, d = up[_at(a, sib)], down[_at(a, sib)]
            n_up = u.sum(axis=a, keepdims=True)
            n_down = d.sum(axis=a, keepdims=True)
            swap[_at(a, sib)] = (u & (n_down - d >= 1)) | (d & (n_up - u >= 1))
        spread = _spread(swap, axes, skip=a)
        pad = [(0, 0)] * nd
        pad[a] = (0, len(ax.aggregates))
        certified |= np.pad(spread, pad)
    return certified & suppressed


def _chain(x: np.ndarray, axes: list[_Axis], skip: int | None, combine: np.ufunc) -> np.ndarray:
    """Fold every extended entry covering a base index into it (along all axes but ``skip``).

    With ``np.logical_and`` a mask holds on everything covering the index; with ``np.add``
    the values over its covers are summed.
    """
    out = x
    for b, ax in enumerate(axes):
        if b == skip:
            continue
        reduced = out[_at(b, slice(0, ax.n))].copy()
        for j in range(len(ax.aggregates)):
            covered = _at(b, ax.covered[j])
            cover = out[_at(b, slice(ax.n + j, ax.n + j + 1))]
            reduced[covered] = combine(reduced[covered], cover)
        out = reduced
    return out


def _spread(flags: np.ndarray, axes: list[_Axis], skip: int | None) -> np.ndarray:
    """Mark every extended entry covering a flagged base entry (along all axes but ``skip``)."""
    out = flags
    for b, ax in enumerate(axes):
        if b == skip:
            continue
        shape = list(out.shape)
        shape[b] = ax.n + len(ax.aggregates)
        grown = np.zeros(shape, dtype=bool)
        grown[_at(b, slice(0, ax.n))] = out
        for j, parts in enumerate(ax.aggregates):
            grown[_at(b, ax.n + j)] = grown[_at(b, _as_slice(parts))].any(axis=b)
        out = grown
    return out


@dataclass
class _System:
    """The attacker's view: ``a @ x == b`` over the withheld entries, each >= 1."""

    flat: np.ndarray  # flat index in the extended table of each variable
    x: np.ndarray  # true values
    a: sparse.csr_matrix
    b: np.ndarray
    comp: np.ndarray  # component of each variable
    row_comp: np.ndarray  # component of each row
    comp_size: np.ndarray


def _system(values: np.ndarray, suppressed: np.ndarray, relations: list[_Relation]) -> _System:
    """One row per relation instance that touches a withheld entry."""
    # scipy is imported here, not at module level: the web app imports this module at
    # start-up, and scipy would add ~65 MB to its memory at rest.
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    shape = values.shape
    flat = np.flatnonzero(suppressed)
    rows, cols, coefs = [], [], []
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
        cols.append(np.ravel_multi_index(tuple(t_full), shape))
        cols.append(np.ravel_multi_index(tuple(p_full), shape))
        coefs.append(np.concatenate([np.ones(t_inst.size), -np.ones(p_inst.size)]))
        n_rows += keys.size
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    col = np.searchsorted(flat, np.concatenate(cols)) if cols else row
    coef = np.concatenate(coefs) if coefs else np.zeros(0)
    a_mat = sparse.csr_matrix((coef, (row, col)), shape=(n_rows, flat.size))
    x = values.reshape(-1)[flat].astype(float)
    n = flat.size
    links = sparse.coo_matrix((np.ones(row.size), (row + n, col)), shape=(n + n_rows,) * 2)
    _, labels = connected_components(links, directed=False)
    comp_size = np.bincount(labels[:n], minlength=labels.max() + 1 if labels.size else 0)
    return _System(flat, x, a_mat, a_mat @ x, labels[:n], labels[n:], comp_size)


def _audit(
    values: np.ndarray,
    suppressed: np.ndarray,
    certified: np.ndarray,
    relations: list[_Relation],
) -> tuple[np.ndarray, np.ndarray]:
    """Certify open withheld entries, updating ``certified`` in place.

    Returns one determined entry per component (repairing one at a time withholds less)
    and the open entries of components above the limit (flat indices).
    """
    sysm = _system(values, suppressed, relations)
    cert = certified.reshape(-1)[sysm.flat]
    small = sysm.comp_size[sysm.comp] <= EXACT_COMPONENT_LIMIT
    if (small & ~cert).any():
        _batch_certify(sysm, cert, small)
    determined: dict[int, int] = {}
    for i in np.flatnonzero(small & ~cert):
        if cert[i] or sysm.comp[i] in determined:
            continue  # certified on the way, or its component waits for the next round
        if not _single_certify(sysm, i, cert):
            determined[int(sysm.comp[i])] = int(sysm.flat[i])
    certified.reshape(-1)[sysm.flat[cert]] = True
    open_large = sysm.flat[~cert & ~small]
    return np.asarray(list(determined.values()), dtype=np.int64), open_large


def _sub(sysm: _System, cols: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """The rows and columns of ``sysm`` restricted to the components of ``cols``."""
    keep = np.zeros(sysm.comp_size.size, dtype=bool)
    keep[sysm.comp[cols]] = True
    rows = np.flatnonzero(keep[sysm.row_comp])
    return sysm.a[rows][:, cols], sysm.b[rows], rows


def _harvest(y: np.ndarray, x: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """Entries a feasible point certifies: those >= 1 from the truth, in integral components."""
    fractional = np.zeros(comp.max() + 1 if comp.size else 0, dtype=bool)
    fractional[comp[np.abs(y - np.round(y)) > _TOL]] = True
    return (np.abs(y - x) >= 1 - _TOL) & ~fractional[comp]


def _batch_certify(sysm: _System, cert: np.ndarray, small: np.ndarray) -> None:
    """Many certificates per solve: LPs with random objectives over all small components.

    Components share no variable, so one LP over all of them equals one per component but
    pays the solver's overhead once.  Rounds stop when one certifies nothing new.
    """
    # scipy is imported here, not at module level: the web app imports this module at
    # start-up, and scipy would add ~65 MB to its memory at rest.
    from scipy.optimize import Bounds, LinearConstraint, milp

    cols = np.flatnonzero(small)
    a, b, _ = _sub(sysm, cols)
    x = sysm.x[cols]
    found = cert[cols]
    rng = np.random.default_rng(0)
    constraint = LinearConstraint(a, b, b)
    bounds = Bounds(np.ones_like(x), 2 * x + 10)  # any finite box keeps the LP bounded
    for round_ in range(_BATCH_ROUNDS):
        if found.all():
            break
        sign = (-1.0, 1.0)[round_] if round_ < 2 else rng.choice([-1.0, 1.0], size=x.size)
        c = np.where(found, 0.0, sign * rng.uniform(1.0, 2.0, size=x.size))
        res = milp(c, constraints=constraint, bounds=bounds)
        if res.x is None:
            break
        new = _harvest(res.x, x, sysm.comp[cols]) & ~found
        found |= new
        if round_ >= 2 and not new.any():
            break
    cert[cols] = found


def _single_certify(sysm: _System, i: int, cert: np.ndarray) -> bool:
    """Exact check of one entry: an integer feasible table with it at least 1 from the truth.

    The LP relaxation comes first (infeasible means no certificate, integral means one);
    the integer programme only when the LP point is fractional.  Any point found also
    certifies the other entries it moves by at least 1, which saves later solves.
    """
    # scipy is imported here, not at module level: the web app imports this module at
    # start-up, and scipy would add ~65 MB to its memory at rest.
    from scipy.optimize import Bounds, LinearConstraint, milp

    cols = np.flatnonzero(sysm.comp == sysm.comp[i])
    a, b, rows = _sub(sysm, cols)
    x = sysm.x[cols]
    comp = sysm.comp[cols]
    j = int(np.searchsorted(cols, i))
    constraint = [LinearConstraint(a, b, b)] if rows.size else []
    rng = np.random.default_rng(i)
    for lo, hi in ((x[j] + 1, np.inf), (1.0, x[j] - 1)):
        if hi < lo:
            continue
        lower = np.ones(cols.size)
        upper = 2 * x + 10 + abs(x[j])  # finite, so the random objective stays bounded
        lower[j], upper[j] = lo, hi
        c = np.where(cert[cols], 0.0, rng.uniform(-1.0, 1.0, size=cols.size))
        for integrality in (None, np.ones(cols.size)):
            res = milp(
                c, constraints=constraint, bounds=Bounds(lower, upper), integrality=integrality
            )
            if res.x is None:
                break  # no real point, so no integer point either
            got = _harvest(res.x, x, comp)
            cert[cols] |= got
            if got[j]:
                return True
    return False


def _repair(
    values: np.ndarray, suppressed: np.ndarray, relations: list[_Relation], determined: np.ndarray
) -> None:
    """Withhold, for each determined entry, the nearest smallest published non-zero entry.

    Nearest means sharing a relation instance with it, else reachable through withheld
    entries.  One always exists: were every non-zero entry reachable withheld, doubling
    them all would be feasible and the entry would not be determined.
    """
    shape = values.shape
    flat_v = values.reshape(-1)
    flat_s = suppressed.reshape(-1)
    for e in determined:
        seen = {int(e)}
        frontier = [int(e)]
        while frontier:
            near = np.unique(np.concatenate([_neighbours(shape, relations, f) for f in frontier]))
            near = near[~np.isin(near, list(seen))]
            seen.update(int(g) for g in near)
            open_ = near[~flat_s[near] & (flat_v[near] > 0)]
            if open_.size:
                flat_s[open_[np.argmin(flat_v[open_])]] = True
                break
            frontier = [int(g) for g in near[flat_s[near]]]
        else:
            raise AssertionError("a determined entry always has a published entry to repair")


def _neighbours(shape: tuple[int, ...], relations: list[_Relation], e: int) -> np.ndarray:
    """Every entry sharing a relation instance with flat entry ``e``."""
    coords = np.unravel_index(e, shape)
    out = []
    for rel in relations:
        c = int(coords[rel.axis])
        if c == rel.target or c in rel.parts:
            members = np.concatenate([rel.parts, [rel.target]])
            full = [np.full(members.size, int(v)) for v in coords]
            full[rel.axis] = members
            out.append(np.ravel_multi_index(tuple(full), shape))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _swap_repair(
    values: np.ndarray, suppressed: np.ndarray, open_: np.ndarray, axes: list[_Axis]
) -> None:
    """Give each open entry of a large component a swap certificate by withholding more.

    Each open entry ``e`` is assigned a base entry ``p`` it covers and an axis ``a`` along
    which ``e`` is not an aggregate (the one with most siblings: most donors to choose from).
    The chains of ``p`` and of a sibling donor (>= 2 to give one up, else ``p`` gives one
    up to any non-zero sibling) are withheld in full, cheapest donor first (the least
    published total in its chain).  The next `_chain_certificates` pass then certifies
    ``e``.  Without a usable sibling on any axis, the whole chain of ``p`` is withheld,
    which makes raising ``p`` a certificate.  Conservative: it may withhold entries that an
    exact audit would have certified, which is the price of not auditing large components.
    """
    shape = values.shape
    base_shape = tuple(ax.n for ax in axes)
    coords = np.array(np.unravel_index(open_, shape)).T
    score = np.zeros(coords.shape, dtype=np.int64)
    for a, ax in enumerate(axes):
        sizes = np.bincount(ax.family)[ax.family]
        here = coords[:, a] < ax.n
        score[here, a] = sizes[coords[here, a]]
    chosen = np.where(score.max(axis=1) >= 2, score.argmax(axis=1), -1)
    raise_whole = np.zeros(base_shape, dtype=bool)
    for a in range(len(axes)):
        picked = chosen == a
        if not picked.any():
            continue
        p = np.unique(_descend(values, coords[picked], axes), axis=0)
        marks, failed = _swap_partners(values, suppressed, p, a, axes)
        spread = _spread(marks, axes, skip=a)
        pad = [(0, 0)] * len(axes)
        pad[a] = (0, len(axes[a].aggregates))
        suppressed |= np.pad(spread, pad)
        raise_whole[tuple(failed.T)] = True
    rest = chosen == -1
    if rest.any():
        raise_whole[tuple(_descend(values, coords[rest], axes).T)] = True
    if raise_whole.any():
        suppressed |= _spread(raise_whole, axes, skip=None)


def _descend(values: np.ndarray, coords: np.ndarray, axes: list[_Axis]) -> np.ndarray:
    """From each entry to a base entry it covers, taking the largest part at every step.

    The largest part of a non-zero entry is non-zero, so the base entry is too.
    """
    coords = coords.copy()
    for b, ax in enumerate(axes):
        while (coords[:, b] >= ax.n).any():
            for j in np.unique(coords[coords[:, b] >= ax.n, b]):
                rows = np.flatnonzero(coords[:, b] == j)
                parts = ax.aggregates[j - ax.n]
                idx = [coords[rows, d][:, None] for d in range(len(axes))]
                idx[b] = parts[None, :]
                coords[rows, b] = parts[values[tuple(idx)].argmax(axis=1)]
    return coords


def _swap_partners(
    values: np.ndarray, suppressed: np.ndarray, p: np.ndarray, a: int, axes: list[_Axis]
) -> tuple[np.ndarray, np.ndarray]:
    """Base entries whose chains (along all axes but ``a``) to withhold, and the failures.

    For each base entry in ``p``: itself and its cheapest sibling partner along ``a``.
    """
    ax = axes[a]
    base = tuple(slice(0, x.n) for x in axes)
    published = np.where(suppressed, 0, values)
    cost = _chain(published, axes, a, np.add)[_at(a, slice(0, ax.n))]
    base_v = values[base]
    marks = np.zeros(base_v.shape, dtype=bool)
    failed = []
    for fam in np.unique(ax.family[p[:, a]]):
        rows = p[ax.family[p[:, a]] == fam]
        members = np.flatnonzero(ax.family == fam)
        uq, inv = np.unique(np.delete(rows, a, axis=1), axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        own = np.searchsorted(members, rows[:, a])
        partner = np.full(rows.shape[0], -1)
        # p gains one from a sibling >= 2; else p (if >= 2) gives one to any non-zero sibling
        for least, allowed in ((2, True), (1, base_v[tuple(rows.T)] >= 2)):
            two, valid = _two_cheapest(base_v, cost, uq, a, members, least)
            take = (two[inv, 0] == own).astype(np.int64)
            pick = two[inv, take]
            ok = valid[inv, take] & (pick != own) & (partner < 0) & allowed
            partner[ok] = pick[ok]
        good = partner >= 0
        marks[tuple(rows[good].T)] = True
        donor = rows[good].copy()
        donor[:, a] = members[partner[good]]
        marks[tuple(donor.T)] = True
        failed.append(rows[~good])
    return marks, np.concatenate(failed) if failed else np.zeros((0, len(axes)), np.int64)


def _two_cheapest(
    base_v: np.ndarray,
    cost: np.ndarray,
    positions: np.ndarray,
    a: int,
    members: np.ndarray,
    least: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per position (base coordinates but ``a``): the two cheapest members >= ``least``.

    Returns member positions (n, 2), cheapest first, and whether each exists.  Works in
    chunks of positions so that a family of 20,000 cells stays within a few dozen MB.
    """
    n = positions.shape[0]
    two = np.zeros((n, 2), dtype=np.int64)
    valid = np.zeros((n, 2), dtype=bool)
    if members.size < 2:
        return two, valid
    big = np.iinfo(np.int64).max
    chunk = max(1, (1 << 22) // members.size)
    for lo in range(0, n, chunk):
        rows = slice(lo, lo + chunk)
        idx = [positions[rows, d][:, None] for d in range(positions.shape[1])]
        idx.insert(a, members[None, :])
        score = np.where(base_v[tuple(idx)] >= least, cost[tuple(idx)], big)
        pair = np.argpartition(score, 1, axis=1)[:, :2]
        pair_score = np.take_along_axis(score, pair, axis=1)
        order = np.argsort(pair_score, axis=1)
        two[rows] = np.take_along_axis(pair, order, axis=1)
        valid[rows] = np.take_along_axis(pair_score, order, axis=1) < big
    return two, valid
