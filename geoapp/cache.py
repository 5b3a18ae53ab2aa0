"""The app cache: Redis when REDIS_URL is set (shared by every worker), else process memory.

Derived layers (hot spots) and vector tiles are cached here under keys that carry the
data version, so a new import is never hidden by an old answer.
"""

from __future__ import annotations

import redis
from flask import Flask

from geoapp.services.hotspots import MemoryCache


def init_app(app: Flask) -> None:
    """Put the cache in `app.extensions["geoapp.cache"]`."""
    url = app.config.get("REDIS_URL")
    app.extensions["geoapp.cache"] = redis.Redis.from_url(url) if url else MemoryCache()
