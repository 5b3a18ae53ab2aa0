"""Background jobs: incident imports of the web form run by an RQ worker, not by the request.

Why: a large export takes longer than a gunicorn worker may hold a request, and a queue in
Redis (the one the limits and caches already use) survives a worker restart: a job enqueued
while no worker runs waits, and runs when one starts.  The form stores the upload under a
name of ours (the job's random id and an extension) in GEOAPP_UPLOAD_DIR (0700, the file
0600), enqueues, and sends the analyst to a status page that polls the job's progress,
which the job writes into its meta.  Jobs, their meta and results are JSON in Redis, not
pickles.

`geoapp worker` runs `run_import` in an app context and a database session of its own,
under a time limit (GEOAPP_IMPORT_TIMEOUT).  The upload is deleted however the job ends:
done, refused, failed, over its time (the job's own `finally`), its work horse killed (the
worker's handler), stopped, or abandoned by a dead worker (the failure callback); a worker
starting also removes uploads whose job is gone.  The user's file name is only ever the
batch's display name, never a path.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
import unicodedata
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import IO, Any

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from rq import Callback, Queue, SimpleWorker, Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

IMPORT_FUNC = "geoapp.jobs.run_import"
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
STORED = re.compile(r"^([0-9a-f]{32})\.[a-z]{3,7}$")
# The kinds an upload may be (the readers decide by content; the extension is cosmetic).
EXTENSIONS = {".csv", ".txt", ".xlsx", ".geojson", ".json", ".gpkg"}
NAME_CHARS = 200  # a display name is cut to this many characters (the column holds 300)
RESULT_TTL = 24 * 3600  # seconds a finished or failed job's report stays to be seen
SHOWN_REFUSED = 10_000  # rejected rows a refusal keeps for its report and download
SWEEP_AGE = 60  # seconds: an upload younger than this may still be waiting to be enqueued
ENDED = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


class JobsUnavailableError(RuntimeError):
    """No job queue can be used: REDIS_URL unset, Redis not answering, or no room to store."""


@cache
def _redis(url: str) -> Redis:
    return Redis.from_url(url)


def connection(config: Mapping[str, Any]) -> Redis:
    """The Redis of REDIS_URL; JobsUnavailableError when none is configured."""
    url = config.get("REDIS_URL")
    if not url:
        raise JobsUnavailableError("REDIS_URL is not set: background jobs need Redis")
    return _redis(url)


def queue(config: Mapping[str, Any]) -> Queue:
    """The app's job queue (GEOAPP_JOB_QUEUE on REDIS_URL), JSON-serialised."""
    return Queue(config["GEOAPP_JOB_QUEUE"], connection=connection(config),
                 serializer=JSONSerializer)  # fmt: skip


def display_name(filename: str | None) -> str:
    """The name an upload is shown and kept under: its last path part, printable, short.

    Browsers send a bare name, but a client may send any string: `../../etc/passwd`
    keeps only `passwd`, `..` or nothing becomes `upload`, control characters go, and a
    long name is cut to NAME_CHARS characters with its extension kept (a Cyrillic name of
    150 characters is 300 bytes, over a file system's limit, which is why it is no path).
    """
    last = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in last if unicodedata.category(ch)[0] != "C").strip()
    if name in ("", ".", ".."):
        name = "upload"
    if len(name) > NAME_CHARS:
        suffix = PurePosixPath(name).suffix[:10]
        name = name[: NAME_CHARS - len(suffix) - 1] + "…" + suffix
    return name


def _extension(filename: str | None) -> str:
    suffix = PurePosixPath(display_name(filename)).suffix.lower()
    return suffix if suffix in EXTENSIONS else ".dat"


def upload_dir(config: Mapping[str, Any]) -> Path:
    """The folder uploads wait in for the worker, created readable by this user only."""
    folder = Path(config["GEOAPP_UPLOAD_DIR"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _stored_path(config: Mapping[str, Any], stored: str) -> Path:
    """Where an upload of ours is; ValueError for any name we would not have chosen."""
    if not STORED.match(stored):
        raise ValueError(f"not an upload name of ours: {stored!r}")
    return upload_dir(config) / stored


def enqueue_import(
    config: Mapping[str, Any],
    source: IO[bytes],
    filename: str | None,
    community_id: int,
    actor: str,
    profile: str,
    strict: bool,
) -> str:
    """Store an upload and queue its import; return the job's id.

    Redis is asked first, so nothing is stored when the queue cannot take the job; a job
    that cannot be queued leaves no file behind.  Raises JobsUnavailableError.
    """
    jobs = queue(config)
    try:
        jobs.connection.ping()
    except RedisError as exc:
        raise JobsUnavailableError(f"Redis does not answer: {exc}") from exc
    job_id = secrets.token_hex(16)
    stored = job_id + _extension(filename)
    try:
        path = _stored_path(config, stored)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    except OSError as exc:
        raise JobsUnavailableError(f"cannot store the upload: {exc.strerror}") from exc
    name = display_name(filename)
    try:
        jobs.enqueue(
            run_import, job_id=job_id, job_timeout=int(config["GEOAPP_IMPORT_TIMEOUT"]),
            result_ttl=RESULT_TTL, failure_ttl=RESULT_TTL,
            description=f"incident import into community {community_id}",
            meta={"community_id": community_id, "name": name, "stage": "queued",
                  "fraction": 0.0},
            on_failure=Callback(discard_failed), on_stopped=Callback(discard_stopped),
            kwargs={"stored": stored, "community_id": community_id, "actor": actor,
                    "profile": profile, "strict": strict, "name": name},
        )  # fmt: skip
    except RedisError as exc:
        path.unlink(missing_ok=True)
        raise JobsUnavailableError(f"cannot queue the import: {exc}") from exc
    return job_id


_APP: Flask | None = None


def _app() -> Flask:
    """The app a job runs in: the worker's (`geoapp worker`), else one made from the env."""
    global _APP
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _APP is None:
        from geoapp import create_app

        _APP = create_app()
    return _APP


def run_import(
    stored: str, community_id: int, actor: str, profile: str, strict: bool, name: str
) -> dict[str, Any]:
    """The job: import one stored upload; the result is the batch, or the refusal.

    A refused file (unreadable, or strict with bad rows) is a finished job whose result
    carries the message and the report; a failure (an error, the time limit) is a failed
    job.  The upload is deleted in every case.
    """
    from geoapp import db
    from geoapp.services.incidents import CellPolicy, IncidentFileError, import_file

    app = _app()
    job = get_current_job()

    def progress(stage: str, done: float) -> None:
        if job is None:
            return
        job.meta.update(stage=stage, fraction=done)
        with suppress(RedisError):  # the bar stands still for a moment; the import goes on
            job.save_meta()

    with app.app_context():
        config = app.config
        path = _stored_path(config, stored)
        try:
            with db.cli_session() as sess:
                report = import_file(
                    sess, path, community_id, config["SECRET_KEY"], config["GEOAPP_DATA_DIR"],
                    actor=actor, profile=profile, strict=strict,
                    cells=CellPolicy.from_config(config), progress=progress, name=name,
                )  # fmt: skip
        except IncidentFileError as exc:
            rejected = exc.report.rejected
            return {"refused": str(exc), "file_name": exc.report.file_name,
                    "accepted": exc.report.accepted, "rejected_total": len(rejected),
                    "rejected": [list(r) for r in rejected[:SHOWN_REFUSED]]}  # fmt: skip
        finally:
            path.unlink(missing_ok=True)
    return {"batch_id": report.batch_id, "accepted": report.accepted,
            "rejected_total": len(report.rejected)}  # fmt: skip


def _discard(job: Job) -> None:
    """Delete a job's upload, if it is still there (the job could not do it itself)."""
    stored = (job.kwargs or {}).get("stored") if job.func_name == IMPORT_FUNC else None
    if isinstance(stored, str) and STORED.match(stored):
        _stored_path(_app().config, stored).unlink(missing_ok=True)


def discard_failed(job: Job, connection: Redis, *exc_info: object) -> None:
    """RQ's failure callback: also runs for a job abandoned by a worker that died."""
    _discard(job)


def discard_stopped(job: Job, connection: Redis) -> None:
    """RQ's callback for a job stopped on purpose (`rq` stop command)."""
    _discard(job)


def _horse_killed(job: Job, retpid: int, ret_val: int, rusage: object) -> None:
    """The worker's handler for a work horse that died (killed, out of memory)."""
    _discard(job)


def sweep_uploads(config: Mapping[str, Any]) -> int:
    """Delete uploads whose job is gone or has ended; return how many.

    Run when a worker starts: it catches what a crash of the whole machine left.
    """
    jobs = queue(config)
    removed = 0
    for path in upload_dir(config).iterdir():
        found = STORED.match(path.name)
        if not found or time.time() - path.stat().st_mtime < SWEEP_AGE:
            continue
        try:
            status = Job.fetch(found[1], connection=jobs.connection,
                               serializer=JSONSerializer).get_status(refresh=False)  # fmt: skip
        except NoSuchJobError:
            status = None
        if status is None or status in ENDED:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


_FORK_SAFE: set[int] = set()


def work(app: Flask, burst: bool = False, simple: bool = False) -> bool:
    """Run the app's queue until stopped (or, `burst`, until it is empty).

    The forking worker runs each job in a child process (a crash or a leak ends with the
    job); the child drops the database connections it inherited.  `simple` runs jobs in
    this process (tests).  Returns whether any job ran.
    """
    jobs = queue(app.config)
    sweep_uploads(app.config)
    engine = app.extensions["geoapp.engine"]
    if id(engine) not in _FORK_SAFE:
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        _FORK_SAFE.add(id(engine))
    worker_class = SimpleWorker if simple else Worker
    worker = worker_class([jobs], connection=jobs.connection, serializer=JSONSerializer,
                          log_job_description=False,  # it would log file names and emails
                          work_horse_killed_handler=_horse_killed)  # fmt: skip
    with app.app_context():
        return worker.work(burst=burst, logging_level="WARNING" if burst else "INFO")


@dataclass(frozen=True)
class ImportJob:
    """What the status page shows of one import job."""

    id: str
    status: str  # queued, started, finished, failed (RQ's names), or stopped, canceled
    stage: str  # queued, reading, checking, writing, counting
    fraction: float
    name: str
    result: dict[str, Any] | None  # a finished job's: batch_id, or refused and its report
    timed_out: bool  # a failed job ended by its time limit
    profile: str  # what the form asked for, to show it again with a refusal
    strict: bool

    @property
    def done(self) -> bool:
        """No more progress will come."""
        return self.status in ENDED


def import_job(config: Mapping[str, Any], job_id: str, community_id: int) -> ImportJob | None:
    """The import job `job_id` of this community, or None (unknown, expired, someone else's).

    Raises JobsUnavailableError or RedisError when the queue cannot be asked.
    """
    if not JOB_ID.match(job_id):
        return None
    try:
        job = Job.fetch(job_id, connection=connection(config), serializer=JSONSerializer)
    except NoSuchJobError:
        return None
    meta = job.get_meta(refresh=False)
    if job.func_name != IMPORT_FUNC or meta.get("community_id") != community_id:
        return None
    status = job.get_status(refresh=False)
    result = job.return_value() if status == JobStatus.FINISHED else None
    timed_out = False
    if status == JobStatus.FAILED:
        latest = job.latest_result()
        timed_out = latest is not None and "JobTimeoutException" in (latest.exc_string or "")
    kwargs = job.kwargs or {}
    return ImportJob(id=job.id, status=str(status.value if status else "unknown"),
                     stage=str(meta.get("stage", "queued")),
                     fraction=float(meta.get("fraction") or 0.0), name=str(meta.get("name", "")),
                     result=result if isinstance(result, dict) else None,
                     timed_out=timed_out, profile=str(kwargs.get("profile", "default")),
                     strict=bool(kwargs.get("strict")))  # fmt: skip
