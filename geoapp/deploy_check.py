"""`geoapp check-deploy`: whether this configuration is safe to run for an office.

In the spirit of Django's `check --deploy`: the settings (the app's config mapping)
and a few facts about the process are looked at, and every setting that would leave
residents' data exposed is named with what to do about it.  Flask-free, so it can be
tested with plain mappings and run before the app has ever served a request.
An "error" is unsafe (the command exits non-zero); a "warning" should be fixed soon.
"""

from __future__ import annotations

import math
import os
import stat
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from geoapp.config import KNOWN_WEAK_SECRETS, MIN_SECRET_LENGTH

ERROR, WARNING = "error", "warning"
OLD_DEFAULT_KEYS = KNOWN_WEAK_SECRETS  # the start refuses these too (config.check_secret)
MIN_KEY_BYTES = MIN_SECRET_LENGTH
MIN_KEY_BITS = 128  # estimated from the key's own character frequencies
MIN_KEY_SYMBOLS = 10  # a hex key has 16; "abcd" repeated has 4
GENERATE = 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'


@dataclass(frozen=True)
class Facts:
    """What the check cannot read from the settings: who runs it and how."""

    euid: int
    workers: int = 1
    database_dir: str | None = None  # PostgreSQL's data directory, when it can be known


@dataclass(frozen=True)
class Finding:
    """One thing wrong: how bad (`error`, `warning`), a stable code, and what to do."""

    level: str
    code: str
    message: str


def check(settings: Mapping[str, Any], facts: Facts) -> list[Finding]:
    """Every finding for these settings and this process, errors first."""
    found: list[Finding] = []
    for rule in (_secret_key, _https, _debug, _limiter, _root, _hosts, _backup, _contact_key):
        found.extend(rule(settings, facts))
    return sorted(found, key=lambda f: f.level != ERROR)


def unsafe(findings: list[Finding]) -> bool:
    """Whether any finding is an error (the command's exit status)."""
    return any(f.level == ERROR for f in findings)


def key_bits(key: str) -> float:
    """The key's entropy as its own character frequencies estimate it (bits).

    Generous to random keys (token_urlsafe(48) scores ~350) and hard on patterns:
    "aaaa…" scores 0, "abcdabcd…" 2 bits a character.
    """
    if not key:
        return 0.0
    counts = Counter(key)
    per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    return per_char * len(key)


def _secret_key(settings: Mapping[str, Any], _facts: Facts) -> list[Finding]:
    key = settings.get("SECRET_KEY") or ""
    if isinstance(key, bytes):
        key = key.decode("latin-1")
    fix = f"Generate one once ({GENERATE}), put it in /etc/geoapp/geoapp.env (mode 600)."
    if not key:
        return [Finding(ERROR, "secret_key", f"SECRET_KEY is not set. {fix}")]
    if key in OLD_DEFAULT_KEYS:
        return [Finding(ERROR, "secret_key", "SECRET_KEY is a published default: anyone can "
                        f"forge a staff session. {fix}")]  # fmt: skip
    if len(key.encode()) < MIN_KEY_BYTES:
        return [Finding(ERROR, "secret_key", f"SECRET_KEY is {len(key.encode())} bytes; use at "
                        f"least {MIN_KEY_BYTES} random bytes. {fix}")]  # fmt: skip
    if key_bits(key) < MIN_KEY_BITS or len(set(key)) < MIN_KEY_SYMBOLS:
        return [Finding(ERROR, "secret_key", "SECRET_KEY is long but repetitive (about "
                        f"{key_bits(key):.0f} bits); use a random one. {fix}")]  # fmt: skip
    return []


def _https(settings: Mapping[str, Any], _facts: Facts) -> list[Finding]:
    out = []
    url = settings.get("GEOAPP_PUBLIC_URL") or ""
    if not url:
        out.append(Finding(ERROR, "public_url", "GEOAPP_PUBLIC_URL is not set: links in answers "
                           "would be built on the Host header a client sends. Set it to the "
                           "office's https address, e.g. https://map.example.ua."))  # fmt: skip
    elif urlsplit(url).scheme != "https":
        out.append(Finding(ERROR, "https", f"GEOAPP_PUBLIC_URL is {url}: residents' reports and "
                           "staff passwords would cross the network in clear. Serve it over "
                           "https (nginx with TLS, deploy/) and set an https:// URL."))  # fmt: skip
    if settings.get("GEOAPP_LOCAL_DEV"):
        out.append(Finding(ERROR, "local_dev", "GEOAPP_LOCAL_DEV=1 is for a laptop (`make run`): "
                           "it sends the session cookie over plain http. Remove it."))  # fmt: skip
    elif not settings.get("SESSION_COOKIE_SECURE"):
        out.append(Finding(ERROR, "cookie_secure", "SESSION_COOKIE_SECURE is off: the staff "
                           "session cookie would be sent over plain http. Turn it on.",
                           ))  # fmt: skip
    return out


def _debug(settings: Mapping[str, Any], _facts: Facts) -> list[Finding]:
    if settings.get("DEBUG"):
        return [Finding(ERROR, "debug", "DEBUG is on: an error page would show code and "
                        "settings. Remove FLASK_DEBUG from the environment.")]  # fmt: skip
    return []


def _limiter(settings: Mapping[str, Any], facts: Facts) -> list[Finding]:
    storage = settings.get("RATELIMIT_STORAGE_URI") or settings.get("REDIS_URL") or "memory://"
    if not str(storage).startswith("memory://"):
        return []
    fix = "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) so every worker counts together."
    if facts.workers > 1:
        return [Finding(ERROR, "limiter", f"The sign-in and report limits are kept in memory, "
                        f"per worker: with {facts.workers} workers an attacker gets "
                        f"{facts.workers} times the password guesses. {fix}")]  # fmt: skip
    return [Finding(WARNING, "limiter", "The sign-in and report limits are kept in memory and "
                    f"forgotten at every restart. {fix}")]  # fmt: skip


def _root(_settings: Mapping[str, Any], facts: Facts) -> list[Finding]:
    if facts.euid == 0:
        return [Finding(ERROR, "root", "This runs as root: a flaw in the app would own the "
                        "machine. Run it as the system user geoapp (deploy/geoapp-web.service; "
                        "check with `sudo -u geoapp geoapp check-deploy`).")]  # fmt: skip
    return []


def _hosts(settings: Mapping[str, Any], _facts: Facts) -> list[Finding]:
    if settings.get("TRUSTED_HOSTS"):
        return []
    return [Finding(ERROR, "trusted_hosts", "GEOAPP_TRUSTED_HOSTS is not set: the app answers "
                    "any Host a client claims. Set it to the public host name(s), "
                    "comma-separated, e.g. map.example.ua.")]  # fmt: skip


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def _backup(settings: Mapping[str, Any], _facts: Facts) -> list[Finding]:
    configured = settings.get("GEOAPP_BACKUP_DIR")
    if not configured:
        return [Finding(WARNING, "backup", "GEOAPP_BACKUP_DIR is not set: there is nowhere for "
                        "backups to go. Set it to a directory the geoapp user may write, "
                        "on another disk than the database.")]  # fmt: skip
    if not _writable_dir(Path(configured)):
        return [Finding(ERROR, "backup", f"GEOAPP_BACKUP_DIR {configured} is not a directory "
                        "this user may write. Create it (owner geoapp, mode 700).")]  # fmt: skip
    return []


def _inside(path: Path, folder: str | None) -> bool:
    if not folder:
        return False
    try:
        return path.resolve().is_relative_to(Path(folder).resolve())
    except OSError:
        return False


def _contact_key(settings: Mapping[str, Any], facts: Facts) -> list[Finding]:
    configured = settings.get("GEOAPP_CONTACT_KEY_FILE")
    if not configured:
        return [Finding(ERROR, "contact_key", "GEOAPP_CONTACT_KEY_FILE is not set: residents' "
                        "contact details need their encryption key. Create the key file "
                        "(mode 600, owner geoapp) and name it there.")]  # fmt: skip
    path = Path(configured)
    try:
        mode = path.stat().st_mode
    except OSError:
        return [Finding(ERROR, "contact_key", f"GEOAPP_CONTACT_KEY_FILE {configured} does not "
                        "exist or cannot be read. Create it (mode 600, owner geoapp).",
                        )]  # fmt: skip
    out = []
    if not stat.S_ISREG(mode) or stat.S_IMODE(mode) & 0o077:
        out.append(Finding(ERROR, "contact_key", f"The contact key {configured} has mode "
                           f"{stat.S_IMODE(mode):03o}: others on this machine may read it. "
                           f"Run: chmod 600 {configured}"))  # fmt: skip
    for folder, what in ((facts.database_dir, "database's data directory"),
                         (settings.get("GEOAPP_BACKUP_DIR"), "backup directory")):  # fmt: skip
        if _inside(path, folder):
            out.append(Finding(ERROR, "contact_key", f"The contact key {configured} lies in the "
                               f"{what} ({folder}): whoever copies that copies the key with "
                               "the data it protects. Keep it in /etc/geoapp."))  # fmt: skip
    return out
