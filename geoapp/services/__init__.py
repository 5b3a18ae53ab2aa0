"""Use cases, Flask-free: each takes a Session and owns its transaction."""
