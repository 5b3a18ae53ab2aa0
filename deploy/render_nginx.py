"""Write the nginx site for geoapp (deploy/nginx/geoapp.conf.in) with this office's values.

    .venv/bin/python deploy/render_nginx.py --server-name map.example.ua \
        --cert /etc/ssl/certs/map.pem --key /etc/ssl/private/map.key \
        > /etc/nginx/sites-available/geoapp

The upload limit comes from the app's own setting, so nginx and the app never disagree
on what size of file is refused.  The test renders it for a temporary port and runs it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx" / "geoapp.conf.in"


def app_upload_limit() -> int:
    """MAX_CONTENT_LENGTH as the app reads it (bytes)."""
    sys.path.insert(0, str(ROOT))
    from geoapp.config import from_environment

    return int(from_environment()["MAX_CONTENT_LENGTH"])


def render(server_name: str, cert: str, key: str, *, upstream: str, https_port: int = 443,
           http_port: int = 80, listen: str = "", static: str | None = None,
           max_body: int | None = None) -> str:  # fmt: skip
    """The site configuration with every placeholder filled; refuses to leave one empty."""
    body = max_body if max_body is not None else app_upload_limit()
    values = {
        "SERVER_NAME": server_name, "CERT": cert, "KEY": key, "UPSTREAM": upstream,
        "HTTPS_PORT": str(https_port), "HTTP_PORT": str(http_port),
        "HTTPS_SUFFIX": "" if https_port == 443 else f":{https_port}",
        "LISTEN": f"{listen}:" if listen else "",
        "STATIC": static or str(ROOT / "geoapp" / "static"),
        "MAX_BODY": f"{-(-body // (1024 * 1024))}m",  # whole MiB, rounded up
    }  # fmt: skip
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in values.items():
        if not value and name not in ("LISTEN", "HTTPS_SUFFIX"):
            raise ValueError(f"{name} is empty")
        text = text.replace("{{" + name + "}}", value)
    left = re.findall(r"\{\{\w+\}\}", text)
    if left:
        raise ValueError(f"template placeholders left: {left}")
    return text


def main() -> None:
    """Parse the options and print the configuration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-name", required=True, help="e.g. map.example.ua")
    parser.add_argument("--cert", required=True, help="certificate (full chain), PEM")
    parser.add_argument("--key", required=True, help="its private key, PEM")
    parser.add_argument(
        "--upstream",
        default="unix:/run/geoapp/gunicorn.sock",
        help="where gunicorn listens (default: the systemd unit's socket)",
    )
    parser.add_argument("--https-port", type=int, default=443)
    parser.add_argument("--http-port", type=int, default=80)
    parser.add_argument("--listen", default="", help="address to listen on (default: all)")
    parser.add_argument("--static", help="geoapp/static of the installed checkout")
    args = parser.parse_args()
    sys.stdout.write(render(args.server_name, args.cert, args.key, upstream=args.upstream,
                            https_port=args.https_port, http_port=args.http_port,
                            listen=args.listen, static=args.static))  # fmt: skip


if __name__ == "__main__":
    main()
