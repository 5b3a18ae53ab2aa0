"""The WSGI entry point for gunicorn: `gunicorn geoapp.wsgi:app`."""

from geoapp import create_app

app = create_app()
