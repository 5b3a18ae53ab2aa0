"""The layer sources, one module per kind; `geoapp.layers` registers them by kind."""
