"""`geoapp check-deploy` as an office's administrator runs it: the real command in a
subprocess with the environment of a careless and of a careful deployment.  Each unsafe
setting is named (and the exit status says so); safe settings leave it silent."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from geoapp.config import PROJECT_ROOT, default_data_dir
from geoapp.deploy_check import ERROR, WARNING, Facts, check, key_bits

GEOAPP = PROJECT_ROOT / ".venv" / "bin" / "geoapp"
# Run as root (this machine's CI), the command rightly names that too, and only that.
AS_ROOT = {"root"} if os.geteuid() == 0 else set()


SAFE = {"SECRET_KEY": secrets.token_urlsafe(48), "GEOAPP_PUBLIC_URL": "https://m.ua",
        "SESSION_COOKIE_SECURE": True, "TRUSTED_HOSTS": ["m.ua"],
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}  # fmt: skip


def run(database_url: str, env: dict[str, str]):
    """The command with only `env` (plus what Python needs): no settings leak in from here."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(PROJECT_ROOT),
            "DATABASE_URL": database_url, "GEOAPP_DATA_DIR": str(default_data_dir()),
            "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    return subprocess.run([str(GEOAPP), "check-deploy"], env={**base, **env}, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def codes(output: str) -> dict[str, str]:
    """`{code: level}` of the findings printed, e.g. {"secret_key": "ERROR"}."""
    found = {}
    for line in output.splitlines():
        level, _sep, rest = line.partition(": [")
        if rest and level in ("ERROR", "WARNING"):
            found[rest.split("]", 1)[0]] = level
    return found


def test_a_careless_deployment_is_refused_with_every_finding(database_url, tmp_path):
    not_a_dir = tmp_path / "backups"
    not_a_dir.write_text("a file, not a folder")
    key = tmp_path / "contact.key"
    key.write_bytes(secrets.token_bytes(32))
    key.chmod(0o644)
    result = run(database_url, {
        "SECRET_KEY": "dev-only-not-secret", "GEOAPP_PUBLIC_URL": "http://map.example.ua",
        "GEOAPP_LOCAL_DEV": "1", "REDIS_URL": "", "WEB_CONCURRENCY": "4",
        "GEOAPP_BACKUP_DIR": str(not_a_dir), "GEOAPP_CONTACT_KEY_FILE": str(key),
    })  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    found = codes(result.stdout)
    expected = {"secret_key", "https", "local_dev", "limiter", "trusted_hosts", "backup",
                "contact_key"} | AS_ROOT  # fmt: skip
    assert set(found) == expected, result.stdout
    assert set(found.values()) == {"ERROR"}
    assert "4 workers" in result.stdout and "chmod 600" in result.stdout
    assert "published default" in result.stdout


def test_nothing_configured_names_the_key_the_public_url_and_the_backup(database_url):
    result = run(database_url, {})
    found = codes(result.stdout)
    assert result.returncode == 1
    assert found["secret_key"] == found["public_url"] == found["contact_key"] == "ERROR"
    assert found["backup"] == "WARNING"
    assert "token_urlsafe" in result.stdout  # says how to make a key


@pytest.mark.parametrize(
    ("secret", "says"),
    [("", "not set"), ("short-key", "9 bytes"), ("ab" * 40, "repetitive"),
     ("abcd" * 16, "repetitive"), ("test-secret", "published default")],
)  # fmt: skip
def test_a_weak_secret_key_is_named(secret, says):
    found = [f for f in check({**SAFE, "SECRET_KEY": secret}, Facts(euid=1000))
             if f.code == "secret_key"]  # fmt: skip
    assert len(found) == 1 and found[0].level == ERROR and says in found[0].message


@pytest.fixture()
def careful(tmp_path) -> dict[str, str]:
    """A deployment done by the README: key file 600, backups writable by the service."""
    backups = tmp_path / "backups"
    backups.mkdir(mode=0o700)
    key = tmp_path / "contact.key"
    key.write_bytes(secrets.token_bytes(32))
    key.chmod(0o600)
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "GEOAPP_PUBLIC_URL": "https://map.example.ua",
        "GEOAPP_TRUSTED_HOSTS": "map.example.ua",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "WEB_CONCURRENCY": "4",
        "GEOAPP_BACKUP_DIR": str(backups),
        "GEOAPP_CONTACT_KEY_FILE": str(key),
    }


def test_a_careful_deployment_passes_clean(database_url, careful):
    result = run(database_url, careful)
    assert set(codes(result.stdout)) == AS_ROOT, result.stdout + result.stderr
    if not AS_ROOT:
        assert result.returncode == 0 and "no problems found" in result.stdout


def test_the_contact_key_beside_the_backups_is_refused(database_url, careful):
    inside = Path(careful["GEOAPP_BACKUP_DIR"]) / "contact.key"
    shutil.copy(careful["GEOAPP_CONTACT_KEY_FILE"], inside)
    inside.chmod(0o600)
    result = run(database_url, {**careful, "GEOAPP_CONTACT_KEY_FILE": str(inside)})
    assert result.returncode == 1 and set(codes(result.stdout)) == {"contact_key"} | AS_ROOT
    assert "backup directory" in result.stdout


def test_what_only_the_process_knows_root_and_the_database_dir(tmp_path):
    """Facts the subprocess cannot fake: euid 0, a key inside PostgreSQL's data directory."""
    key = tmp_path / "pgdata" / "contact.key"
    key.parent.mkdir()
    key.write_bytes(b"k" * 32)
    key.chmod(0o600)
    (tmp_path / "backups").mkdir()
    settings = {**SAFE, "GEOAPP_BACKUP_DIR": str(tmp_path / "backups"),
                "GEOAPP_CONTACT_KEY_FILE": str(key)}  # fmt: skip
    found = check(settings, Facts(euid=0, workers=1, database_dir=str(key.parent)))
    by_code = {f.code: f for f in found}
    assert by_code["root"].level == ERROR and "geoapp" in by_code["root"].message
    assert "data directory" in by_code["contact_key"].message
    clean = check({**settings, "GEOAPP_BACKUP_DIR": str(tmp_path / "pgdata"),
                   "GEOAPP_CONTACT_KEY_FILE": str(key)}, Facts(euid=1000))  # fmt: skip
    assert [f.code for f in clean] == ["contact_key"]  # the key in the backups, still refused


def test_cookie_not_secure_and_one_worker_in_memory():
    found = check({**SAFE, "SESSION_COOKIE_SECURE": False, "RATELIMIT_STORAGE_URI": "memory://",
                   "GEOAPP_CONTACT_KEY_FILE": None}, Facts(euid=1000, workers=1))  # fmt: skip
    by_code = {f.code: f.level for f in found}
    assert by_code["cookie_secure"] == ERROR
    assert by_code["limiter"] == WARNING  # one worker: forgotten at restart, not multiplied


def test_random_keys_score_high_and_patterns_low():
    assert key_bits(secrets.token_urlsafe(48)) > 200
    assert key_bits(secrets.token_hex(32)) > 128
    assert key_bits("a" * 64) == 0 and key_bits("abcd" * 16) == 128
