"""SQL that is longer than a line lives here as .sql files, loaded by name."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from sqlalchemy import TextClause, text


@cache
def load(name: str) -> TextClause:
    """The statement in `geoapp/sql/<name>.sql`, ready for `session.execute`."""
    return text(files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8"))


@cache
def raw(name: str) -> str:
    """The text of `geoapp/sql/<name>.sql` for a plain psycopg cursor (%(name)s placeholders)."""
    return files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


@cache
def raw_text(name: str) -> str:
    """The text of `geoapp/sql/<name>.sql` with its comments and final semicolon removed.

    For statements that are composed (wrapped as a subquery) before they run.
    """
    lines = [ln for ln in raw(name).splitlines() if not ln.lstrip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";")
