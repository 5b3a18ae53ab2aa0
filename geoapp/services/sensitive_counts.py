"""Counts of sensitive concern categories: released per closed quarter, frozen, k-suppressed.

Sensitive categories (drugs, suspicious activity, domestic and sexual violence) never
leave as points, only as counts (privacy rule 2).  Counted live, those counts were an
attack of their own (issue 18, attack 3): `n: 1` was published, and every change of the
number dated one acceptance, so whoever watched the page knew when the office accepted
a neighbour's report.  The release policy (RELEASE_POLICY.md, item 3):

* a count covers the concerns *reported* in one closed calendar quarter (Kyiv time) that
  are accepted, in progress or resolved;
* a quarter is released the first time anyone asks after it closed and a further
  GEOAPP_SENSITIVE_RELEASE_LAG_DAYS passed (time for moderation to catch up), and is
  written to `sensitive_release*` then; from then on it is read, never recounted, so
  accepting (or rejecting) one more concern of that quarter changes nothing published;
* a count 0 < n < k is published as null with `suppressed: true` ("fewer than k"), with
  the k the quarter was released under, so a later change of k reopens nothing.

A quarter still open or within the lag is not published at all.  The series starts at
the quarter of the community's first concern of any category, so where it starts does
not say when the first *sensitive* concern came.

Flask-free: `due_quarters` and `published` decide (pure); `releases` runs the SQL in
`geoapp/sql/sensitive_*.sql`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from geoapp import privacy, sql

KYIV = ZoneInfo(privacy.TIME_ZONE)  # the SQL counts days in this zone too


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter, named as the API names periods (2025-Q3)."""

    year: int
    number: int  # 1..4

    @classmethod
    def of(cls, day: date) -> Quarter:
        """The quarter a day falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> date:
        """Its first day."""
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def stop(self) -> date:
        """The first day after it (the day it closed)."""
        following = self.next()
        return following.start

    @property
    def label(self) -> str:
        """2025-Q3."""
        return f"{self.year}-Q{self.number}"

    def next(self) -> Quarter:
        """The quarter after this one."""
        if self.number == 4:
            return Quarter(self.year + 1, 1)
        return Quarter(self.year, self.number + 1)


def due_quarters(first_day: date | None, today: date, lag_days: int) -> list[Quarter]:
    """The quarters that may be published on `today`, oldest first.

    From the quarter of `first_day` (the community's first concern; None: nothing) up to
    the last quarter that closed at least `lag_days` days ago.  A quarter that closed
    on day D is due from D + lag_days on.
    """
    if first_day is None:
        return []
    out = []
    quarter = Quarter.of(first_day)
    while quarter.stop + timedelta(days=lag_days) <= today:
        out.append(quarter)
        quarter = quarter.next()
    return out


def published(n: int, k: int) -> tuple[int | None, bool]:
    """(what may be shown, withheld?) for an exact count: 0 < n < k is (None, True).

    Zero is published: "nobody" names no one, and withholding it would make every
    withheld cell a sure "at least one".
    """
    if n < 0:
        raise ValueError(f"a count cannot be negative: {n}")
    if 0 < n < k:
        return None, True
    return n, False


@dataclass(frozen=True)
class CategoryCount:
    """One sensitive category's published count in one quarter."""

    code: str
    name_uk: str
    name_en: str
    n: int | None  # None when withheld
    suppressed: bool


@dataclass(frozen=True)
class QuarterRelease:
    """One released quarter: its period, the k it was released under, its counts."""

    quarter: Quarter
    k: int
    counts: list[CategoryCount]

    def as_dict(self) -> dict[str, Any]:
        """As JSON metadata: the period as `2025-Q3` with its first and last day."""
        return {
            "quarter": self.quarter.label, "from": self.quarter.start.isoformat(),
            "to": (self.quarter.stop - timedelta(days=1)).isoformat(), "k": self.k,
            "counts": [{"code": c.code, "name_uk": c.name_uk, "name_en": c.name_en, "n": c.n,
                        "suppressed": c.suppressed} for c in self.counts],
        }  # fmt: skip


def shape(rows: Iterable[Mapping[str, Any]]) -> list[QuarterRelease]:
    """Rows of `sensitive_release_read.sql` (exact, frozen counts) as published releases."""
    by_quarter: dict[date, tuple[int, list[CategoryCount]]] = {}
    for row in rows:
        k, counts = by_quarter.setdefault(row["quarter_start"], (int(row["k"]), []))
        if row["code"] is None:
            continue  # a released quarter with no sensitive category to count
        n, suppressed = published(int(row["n"]), k)
        counts.append(CategoryCount(row["code"], row["name_uk"], row["name_en"], n, suppressed))
    return [QuarterRelease(Quarter.of(start), k, counts)
            for start, (k, counts) in sorted(by_quarter.items())]  # fmt: skip


def releases(
    session: Session, community_id: int, k: int, lag_days: int, today: date | None = None
) -> list[QuarterRelease]:
    """The community's released quarters, releasing the ones now due first.

    Releasing writes (and commits) the due quarters not yet written, under an advisory
    lock per community so two first visitors cannot release one quarter twice; when
    nothing is due, this only reads.  `today` defaults to today in Kyiv.
    """
    today = today or datetime.now(KYIV).date()
    params = {"community_id": community_id, **privacy.policy_params()}
    first_day = session.execute(sql.load("sensitive_first_day"), params).scalar()
    due = due_quarters(first_day, today, lag_days)
    if due:
        _release(session, community_id, due, k)
    rows = session.execute(sql.load("sensitive_release_read"), params).mappings()
    return shape(rows)


def _release(session: Session, community_id: int, due: list[Quarter], k: int) -> None:
    """Write the due quarters that are not written yet (never touching a written one)."""
    params = {"community_id": community_id, **privacy.policy_params()}

    def missing() -> list[Quarter]:
        done = set(session.execute(sql.load("sensitive_released_quarters"), params).scalars())
        return [q for q in due if q.start not in done]

    if not missing():
        return
    session.execute(sql.load("sensitive_release_lock"), params)
    for quarter in missing():  # again under the lock: another releaser may have been first
        dates = {"start": quarter.start, "stop": quarter.stop, "k": k}
        session.execute(sql.load("sensitive_release_insert"), {**params, **dates})
    session.commit()
