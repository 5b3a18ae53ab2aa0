"""The keys that seal residents' contact details, kept apart from the database.

Privacy rule 1: contact details are encrypted at rest, with keys that a copy of the
database does not contain.  The keys are Fernet keys (cryptography's AES-128-CBC +
HMAC-SHA256), newest first; the newest seals, every listed key opens.  They come from

- `GEOAPP_CONTACT_KEY_FILE`: a file with one key per line (`#` comments allowed),
  mode 600 or stricter; a file that group or others may read is refused, because a
  key that every local account can read is not kept apart from anything;
- `GEOAPP_CONTACT_KEYS`: the same keys from the environment (containers), separated
  by commas, spaces or new lines;
- in local development only (`make run` sets GEOAPP_LOCAL_DEV=1), a file generated once
  under var/ and kept, so that the demo runs as a deployment would.

The file is read again whenever it changes (size, mtime, inode), so that running
workers pick up a rotated key without a restart.  Flask-free: the migration and the
CLI use the same code.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

_SEPARATORS = re.compile(r"[\s,]+")
UNREADABLE = "the contact cannot be decrypted with the configured key"


class ContactKeyError(RuntimeError):
    """The contact keys are missing or unusable; the message says what to do."""


class ContactUnreadable(ValueError):  # noqa: N818 - an outcome a coordinator is shown
    """A stored contact cannot be decrypted with the configured keys."""


def key_id(key: str) -> str:
    """A short, non-secret name for a key (for the audit trail and messages, never the key)."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:12]


def _parse(text: str, where: str) -> list[str]:
    keys: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        for part in _SEPARATORS.split(line):
            if not part:
                continue
            try:
                Fernet(part)
            except (ValueError, TypeError) as exc:
                raise ContactKeyError(
                    f"{where}, line {number}: not a Fernet key (32 url-safe base64 bytes); "
                    "make one with `geoapp contacts rotate-key` or Fernet.generate_key()"
                ) from exc
            keys.append(part)
    if not keys:
        raise ContactKeyError(f"{where} holds no key")
    return keys


def check_mode(path: Path) -> os.stat_result:
    """Refuse a key file that is not a regular file or that group or others may read."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise ContactKeyError(f"GEOAPP_CONTACT_KEY_FILE {path} does not exist") from exc
    except PermissionError as exc:
        raise ContactKeyError(f"GEOAPP_CONTACT_KEY_FILE {path} cannot be read") from exc
    if not stat.S_ISREG(info.st_mode):
        raise ContactKeyError(f"GEOAPP_CONTACT_KEY_FILE {path} is not a regular file")
    if info.st_mode & 0o077:
        raise ContactKeyError(
            f"GEOAPP_CONTACT_KEY_FILE {path} may be read by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):o}); refusing to use it. "
            f"Run: chmod 600 {path}"
        )
    return info


def write_key_file(path: Path, keys: list[str]) -> None:
    """Replace the key file atomically (a reader sees the old or the new list, never half)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write("# geoapp contact keys, newest first (see README: contact details)\n")
            out.write("".join(f"{k}\n" for k in keys))
            out.flush()
            os.fsync(out.fileno())
        _keep_owner(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _keep_owner(path: Path, tmp: Path) -> None:
    """Give the new file the old one's owner (root rotating must not lock the app's user out)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(tmp, info.st_uid, info.st_gid)
        except PermissionError as exc:
            raise ContactKeyError(
                f"{path} belongs to another user; run the rotation as that user"
            ) from exc


def generate_key_file(path: Path) -> None:
    """Create a key file with one new key, mode 600, unless it exists (then keep it)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write("# geoapp contact keys, newest first (generated for local development)\n")
            out.write(Fernet.generate_key().decode("ascii") + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.link(tmp, path)  # atomic, complete, and never over a key another process made
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


class ContactKeys:
    """The configured keys: from a file (re-read when it changes) or from the environment.

    Not a dataclass on purpose: its repr must never show a key (tracebacks, debuggers).
    """

    def __init__(self, path: Path | None = None, env_keys: tuple[str, ...] = ()) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._keys: list[str] = list(env_keys)
        self._multi: MultiFernet | None = None
        self.keys()  # a bad file stops the caller now, not at the first resident

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "GEOAPP_CONTACT_KEYS"
        return f"<ContactKeys from {where}>"

    @property
    def from_environment(self) -> bool:
        """True when the keys come from GEOAPP_CONTACT_KEYS (rotation cannot edit them)."""
        return self.path is None

    def keys(self) -> list[str]:
        """The keys, newest first, reading the file again if it changed."""
        with self._lock:
            if self.path is not None:
                info = check_mode(self.path)
                seen = (info.st_ino, info.st_size, info.st_mtime_ns)
                if seen != self._seen:
                    try:
                        text = self.path.read_text(encoding="ascii", errors="replace")
                    except OSError as exc:
                        raise ContactKeyError(
                            f"GEOAPP_CONTACT_KEY_FILE {self.path} cannot be read ({exc.strerror}); "
                            "it must belong to the user the app runs as"
                        ) from exc
                    self._keys = _parse(text, f"GEOAPP_CONTACT_KEY_FILE {self.path}")
                    self._multi, self._seen = None, seen
            if self._multi is None:
                self._multi = MultiFernet([Fernet(k) for k in self._keys])
            return list(self._keys)

    def multi(self) -> MultiFernet:
        """Seal with the newest key, open with any."""
        self.keys()
        assert self._multi is not None
        return self._multi

    def seal(self, value: str | None) -> str:
        """A Fernet token for a value (an absent value is sealed as "", so absence is hidden)."""
        return self.multi().encrypt((value or "").encode("utf-8")).decode("ascii")

    def unseal(self, token: str) -> str | None:
        """The value behind a token; None for an absent one; ContactUnreadable if no key fits."""
        try:
            value = self.multi().decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise ContactUnreadable(UNREADABLE) from exc
        return value or None


def from_settings(config: Mapping[str, Any]) -> ContactKeys | None:
    """The contact keys the settings name; None when none are configured (not local dev).

    Raises ContactKeyError for a configuration that is present but unusable (both
    sources at once, a missing or group-readable file, a malformed key): that stops the
    start instead of quietly losing residents' contacts.
    """
    path = config.get("GEOAPP_CONTACT_KEY_FILE")
    env = (config.get("GEOAPP_CONTACT_KEYS") or "").strip()
    if path and env:
        raise ContactKeyError(
            "set GEOAPP_CONTACT_KEY_FILE or GEOAPP_CONTACT_KEYS, not both: which key is the "
            "newest would be a guess"
        )
    if env:
        return ContactKeys(env_keys=tuple(_parse(env, "GEOAPP_CONTACT_KEYS")))
    if path:
        return ContactKeys(path=Path(path))
    dev_file = config.get("GEOAPP_CONTACT_DEV_KEY_FILE")
    if dev_file:
        generate_key_file(Path(dev_file))
        return ContactKeys(path=Path(dev_file))
    return None


NOT_CONFIGURED = (
    "no contact key is configured: set GEOAPP_CONTACT_KEY_FILE (a mode-600 file of Fernet "
    "keys) or GEOAPP_CONTACT_KEYS; until then residents' contact details are not stored"
)
