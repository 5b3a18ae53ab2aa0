"""geoapp: the community safety map of the Community Prosecutor pilot.

`create_app` wires config -> database -> layers -> i18n -> blueprints, in that
order, so a bad layer file stops the start before any request.  The `geoapp`
command lives in geoapp.cli.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from geoapp import config as config_module
from geoapp.geo import gdal_safety  # noqa: F401 - before anything loads GDAL: its GDAL_SKIP


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app; `config` overrides settings read from the environment."""
    app = Flask(__name__, template_folder="../templates")
    app.config.update(config_module.from_environment())
    if config:
        app.config.update(config)
        if "DATABASE_URL" in config:
            app.config["DATABASE_URL"] = config_module.normalise_database_url(
                config["DATABASE_URL"]
            )

    config_module.check_secret(app.config)
    proxies = int(app.config.get("GEOAPP_PROXY_FIX") or 0)
    if proxies > 0:  # behind nginx: trust its X-Forwarded-For/-Proto/-Host, and only its
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )

    from geoapp import cache, db, i18n, web
    from geoapp.layers import load_layers
    from geoapp.services import contact_keys

    app.json.sort_keys = False  # keep GeoJSON members in RFC 7946 order
    db.init_app(app)
    # Residents' contact keys (privacy rule 1): an unusable key setting stops the start;
    # no setting at all (outside local development) only means contacts are not stored.
    app.extensions["geoapp.contact_keys"] = contact_keys.from_settings(app.config)
    if app.extensions["geoapp.contact_keys"] is None and not app.config.get("TESTING"):
        app.logger.warning(contact_keys.NOT_CONFIGURED)
    app.extensions["geoapp.layers"] = load_layers(app.config["GEOAPP_LAYERS_DIR"])
    cache.init_app(app)
    if app.config.get("GEOAPP_GEOCODER_URL"):
        from geoapp.services.geocode_online import OnlineGeocoder

        app.extensions["geoapp.geocoder"] = OnlineGeocoder(
            app.config["GEOAPP_GEOCODER_URL"], app.config["GEOAPP_GEOCODER_TIMEOUT"]
        )
    i18n.init_app(app)
    web.init_app(app)
    return app
