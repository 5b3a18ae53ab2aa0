"""Serve the app from a separate process (`python -m tests.serve_app PORT`), for tests
that need more than one process, configured like production from the environment."""

from __future__ import annotations

import sys

from werkzeug.serving import run_simple

from geoapp import create_app

if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True)
