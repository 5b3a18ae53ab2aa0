"""HTML to PDF with headless Chromium: the printed minutes look like the page.

Why Chromium: it is already a system package of the project (the browser tests drive
it), it lays out Ukrainian text with the system's fonts exactly as the HTML minutes
show on screen, and it needs no second layout engine to keep in step with the
template.  The HTML is written to a private temporary folder with its images inlined
and a Content-Security-Policy that forbids scripts (Chromium's own switch for that
stops printing), and the browser gets no network, so printing cannot fetch or run
anything.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-pdf-header-footer",
    "--proxy-server=127.0.0.1:9",  # no network: nothing in the minutes needs it
)


class PdfError(RuntimeError):
    """Chromium did not produce a PDF (missing, crashed or too slow)."""


def html_to_pdf(html: str, chromium: str = "/usr/bin/chromium", timeout: float = 60.0) -> bytes:
    """The PDF Chromium prints from `html` (A4, backgrounds on, no header or footer)."""
    with tempfile.TemporaryDirectory(prefix="geoapp-pdf-") as folder:
        page = Path(folder) / "minutes.html"
        out = Path(folder) / "minutes.pdf"
        page.write_text(html, encoding="utf-8")
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={folder}/profile",
                   f"--print-to-pdf={out}", page.as_uri()]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfError(f"chromium could not print: {exc}") from exc
        if not out.exists() or out.stat().st_size == 0:
            tail = done.stderr.decode("utf-8", "replace")[-500:]
            raise PdfError(f"chromium exited {done.returncode} without a PDF: {tail}")
        return out.read_bytes()
