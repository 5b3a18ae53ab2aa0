"""One geoapp GeoJSON export in a process of its own, so its peak memory is its own.

`python -m bench.export_worker DATABASE_URL SLUG LAYER OUT` creates the app (no Redis),
asks for `/api/v1/communities/SLUG/layers/LAYER.geojson` as the public would, writes the
streamed body to OUT and prints one JSON line: the export's seconds (request to last
byte, app start-up excluded), bytes, and the peak RSS before and after (MB).
"""

from __future__ import annotations

import json
import resource
import secrets
import sys
import time

from geoapp import create_app


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    """Run the export named by `argv` and report it on stdout."""
    url, slug, layer, out = argv
    secret = secrets.token_urlsafe(48)  # config.check_secret refuses a short or known key
    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": secret})
    client = app.test_client()
    client.get("/api/v1/communities")  # warm the pool and the imports, as a server would be
    before = _peak_mb()
    start = time.perf_counter()
    size = 0
    with open(out, "wb") as fh:
        response = client.get(f"/api/v1/communities/{slug}/layers/{layer}.geojson",
                              buffered=False)  # fmt: skip
        for chunk in response.response:
            fh.write(chunk)
            size += len(chunk)
        response.close()
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "bytes": size, "rss_before_mb": before,
                      "rss_peak_mb": _peak_mb(), "status": response.status_code}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
