"""The demo set-up `make run` prints: a coordinator of every pilot community, and data.

With `--scale N`, every pilot community with a boundary also gets N synthetic incidents.

Each run gives the demo account a fresh random password (only its hash is
kept, so the old one cannot be shown again); the account is an ordinary
coordinator and, like every coordinator, sets up two-step sign-in at its first
sign-in (a second factor set up once is kept across runs).
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geoapp.analysis.synthetic import article_weights, generate
from geoapp.geo.crs import project, transformer
from geoapp.models.community import Community
from geoapp.models.incident import ImportBatch
from geoapp.models.user import Agency, Role
from geoapp.services import accounts, incident_cells
from geoapp.services.incident_groups import group_of_article, known_articles
from geoapp.services.incidents import CellPolicy, copy_incidents, ref_hashes

DEMO_EMAIL = "demo.coordinator@geoapp.local"


def ensure_demo_staff(session: Session) -> tuple[str, str]:
    """Create or re-key the demo coordinator; return (email, new password)."""
    password = secrets.token_urlsafe(12)
    user = accounts.user_by_email(session, DEMO_EMAIL)
    if user is None:
        user = accounts.create_user(
            session, DEMO_EMAIL, "Демо-координатор", Agency.PROSECUTOR, password, actor="demo"
        )
    else:
        accounts.reset_password(session, user, password, actor="demo")
    pilots = session.scalars(select(Community).where(Community.pilot)).all()
    for community in pilots:
        accounts.grant(session, user, community, Role.COORDINATOR, actor="demo")
    session.commit()
    return DEMO_EMAIL, password


SYNTHETIC_PROFILE = "synthetic"


def load_synthetic_incidents(
    session: Session,
    community: Community,
    n: int,
    *,
    secret: str,
    data_dir: str,
    policy: CellPolicy,
    seed: int = 2026,
    today: date | None = None,
) -> int:
    """Replace the community's synthetic incidents with `n` new ones; return how many.

    The rows come from `geoapp.analysis.synthetic` (clustered, seasonal, with the national
    article mix) over the last three calendar years up to yesterday, and go in by COPY as
    one batch marked `synthetic`, so real imports are never touched and a second run
    replaces the first.  The cells are rebuilt as after any import.
    """
    if community.geom is None:
        return 0
    today = today or date.today()
    start, end = date(today.year - 2, 1, 1), today - timedelta(days=1)
    area = shapely.from_wkb(bytes(community.geom.data))
    metric = project(area, 4326, community.metric_srid)
    drawn = generate(metric, n, weights=article_weights(data_dir), seed=seed, start=start, end=end)
    lon, lat = transformer(community.metric_srid, 4326).transform(drawn.x, drawn.y)
    known = known_articles(data_dir)
    groups = {a: group_of_article(session, a, known[a]) for a in np.unique(drawn.article)}
    session.execute(
        text("DELETE FROM import_batch WHERE community_id = :c AND profile = :p"),
        {"c": community.id, "p": SYNTHETIC_PROFILE},
    )
    batch = ImportBatch(community_id=community.id, file_name=f"synthetic-{n}-seed-{seed}",
                        sha256="-", profile=SYNTHETIC_PROFILE, accepted=n, rejected=0,
                        actor="demo")  # fmt: skip
    session.add(batch)
    session.flush()
    rows = pd.DataFrame({
        "category_id": [groups[a] for a in drawn.article], "article": drawn.article,
        "occurred_on": drawn.occurred_on.astype("datetime64[D]").astype(str),
        "lon": lon, "lat": lat,
        "ref_hash": ref_hashes(secret, community.id, (f"synthetic-{seed}-{k}" for k in range(n))),
    })  # fmt: skip
    copy_incidents(session, rows, community.id, batch.id)
    incident_cells.rebuild(session, community.id, policy.k, policy.public_sizes)
    session.commit()
    return n
