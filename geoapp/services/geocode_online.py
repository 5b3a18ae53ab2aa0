"""An optional online fallback for geocoding (a Nominatim-compatible service via geopy).

Off unless `GEOAPP_GEOCODER_URL` is set; asked only when the gazetteer has
nothing; bounded by a timeout; answers cached (so a resident retrying does not
hit a partner's server twice); and an answer outside the community is dropped.
The app works fully without it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from urllib.parse import urlsplit

from geopy.exc import GeopyError
from geopy.geocoders import Nominatim

log = logging.getLogger(__name__)


class OnlineGeocoder:
    """A Nominatim-compatible service with a timeout and a small in-process LRU cache."""

    def __init__(self, url: str, timeout_s: float = 3.0, cache_size: int = 1000) -> None:
        parts = urlsplit(url)
        self._client = Nominatim(
            domain=parts.netloc + parts.path.rstrip("/"), scheme=parts.scheme or "https",
            user_agent="geoapp (community safety map)", timeout=timeout_s,
        )  # fmt: skip
        self._cache: OrderedDict[tuple[str, tuple[float, ...]], list[tuple[str, float, float]]]
        self._cache = OrderedDict()
        self._size = cache_size

    def search(
        self, query: str, bbox: tuple[float, float, float, float]
    ) -> list[tuple[str, float, float]]:
        """(label, lon, lat) answers inside `bbox` (minx, miny, maxx, maxy); [] on any failure."""
        key = (query.strip().lower(), tuple(round(b, 4) for b in bbox))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        minx, miny, maxx, maxy = bbox
        try:
            found = self._client.geocode(
                query, exactly_one=False, limit=5, country_codes="ua", bounded=True,
                viewbox=[(miny, minx), (maxy, maxx)], language="uk",
            ) or []  # fmt: skip
        except GeopyError as exc:  # timeouts, refusals, bad answers: fall back to nothing
            log.warning("online geocoder unavailable: %s", type(exc).__name__)
            return []
        answers = [(loc.address, float(loc.longitude), float(loc.latitude)) for loc in found]
        self._cache[key] = answers
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return answers
