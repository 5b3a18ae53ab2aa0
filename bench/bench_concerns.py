"""Concern submissions per second through the API under gunicorn, against pgbench's INSERT."""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import requests
from sqlalchemy import Engine, bindparam, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from bench.common import BOUNDARY_FOLDER, Outcome, Row, data_dir, log, scratch_database, timed
from geoapp.config import PROJECT_ROOT
from geoapp.services.categories import sync_defaults
from geoapp.services.pilot import load_pilot

NAME = "concerns"
GOAL = 0.3  # geoapp submissions per second / pgbench transactions per second, with 0 lost
SEED = 11
SUBMISSIONS = 2_000
WARM_UP = 50
CLIENTS = 16
WORKERS = 2 * len(os.sched_getaffinity(0)) + 1  # gunicorn's rule of thumb: 2 × cores + 1
PGBENCH_THREADS = 2
COMMUNITY = "bucha"
CATEGORY = "poor_lighting"
CENTRE = (30.21, 50.545)  # lon, lat, inside the Bucha hromada
SPREAD = (0.003, 0.002)  # ± degrees of lon, lat around CENTRE
GRID_M = 100  # GEOAPP_PUBLIC_GRID_M's default, which the app runs with here
REPORT_LIMIT = "1000000 per hour"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 60.0
GUNICORN = PROJECT_ROOT / ".venv" / "bin" / "gunicorn"
PATH = f"/api/v1/communities/{COMMUNITY}/concerns"
PGBENCH_SCRIPT = f"""\
\\set dlon random(-{round(SPREAD[0] * 1e6)}, {round(SPREAD[0] * 1e6)})
\\set dlat random(-{round(SPREAD[1] * 1e6)}, {round(SPREAD[1] * 1e6)})
INSERT INTO concern (public_id, tracking_token, short_code, client_token, community_id,
                     category_id, description, point, public_point, address, located_by,
                     geocode_score, status)
SELECT gen_random_uuid()::text, replace(gen_random_uuid()::text, '-', ''),
       upper(substr(md5(random()::text), 1, 8)), 'pgb-' || gen_random_uuid()::text, c.id,
       (SELECT id FROM category WHERE code = '{CATEGORY}' AND domain = 'concern'
          AND community_id IS NULL),
       'pgbench: the street light is out', pt.geom,
       ST_Transform(ST_SnapToGrid(ST_Transform(pt.geom, c.metric_srid), {GRID_M}), 4326),
       NULL, 'pin', NULL, 'new'
FROM community c,
     (SELECT ST_SetSRID(ST_MakePoint({CENTRE[0]} + :dlon / 1000000.0,
                                     {CENTRE[1]} + :dlat / 1000000.0), 4326) AS geom) pt
WHERE c.id = (SELECT id FROM community WHERE slug = '{COMMUNITY}')
ON CONFLICT (client_token) DO NOTHING
RETURNING id;
"""


@dataclass
class Submission:
    """One request to the API: its body, then what came back and how long it took."""

    body: bytes
    token: str
    status: int = 0  # 0: no HTTP answer (connection error or timeout)
    seconds: float = 0.0
    error: str = ""


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_submissions(rng: random.Random, n: int) -> list[Submission]:
    """`n` valid concern bodies at random points around CENTRE, each with its own client token."""
    submissions = []
    for i in range(n):
        token = uuid.uuid4().hex
        body = {
            "category": CATEGORY,
            "lon": CENTRE[0] + rng.uniform(-SPREAD[0], SPREAD[0]),
            "lat": CENTRE[1] + rng.uniform(-SPREAD[1], SPREAD[1]),
            "description": f"Benchmark concern {i}: the street light by the crossing is out",
            "client_token": token,
        }
        submissions.append(Submission(json.dumps(body).encode(), token))
    return submissions


def start_gunicorn(url: URL, port: int, log_file: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start geoapp under gunicorn on `port` against the scratch database; wait for /healthz."""
    env = os.environ | {
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "GEOAPP_LOCAL_DEV": "1",
        "GEOAPP_REPORT_LIMIT": REPORT_LIMIT,
        "REDIS_URL": "",
        "SECRET_KEY": "bench",
    }
    command = [str(GUNICORN), "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(
        [*command, "geoapp.wsgi:app"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {proc.returncode} before it served")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_gunicorn(proc)
    raise RuntimeError(f"gunicorn did not answer /healthz within {START_TIMEOUT_S:.0f} s")


def stop_gunicorn(proc: subprocess.Popen[bytes]) -> None:
    """Stop the gunicorn master started here (SIGTERM, then SIGKILL) and wait for it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def post(conn: http.client.HTTPConnection, submission: Submission) -> None:
    """Send one submission and record its status, latency and any error."""
    start = time.perf_counter()
    try:
        conn.request(
            "POST", PATH, body=submission.body, headers={"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        response.read()
        submission.status = response.status
        if response.status != 201:
            submission.error = f"HTTP {response.status}"
    except (OSError, http.client.HTTPException) as exc:
        submission.error = f"{type(exc).__name__}: {exc}"
        conn.close()
    submission.seconds = time.perf_counter() - start


def submit(port: int, warm: list[Submission], timed_part: list[Submission]) -> float:
    """Send the submissions from CLIENTS threads; return the wall seconds of the timed part.

    Each thread sends its share of the warm-up, waits for every other thread, then sends its
    share of `timed_part` back to back; the clock runs from that common start until the last
    thread is done.
    """
    shares = [(warm[i::CLIENTS], timed_part[i::CLIENTS]) for i in range(CLIENTS)]
    ready = threading.Barrier(CLIENTS + 1)
    start_flag = threading.Event()

    def work(warm_share: list[Submission], timed_share: list[Submission]) -> None:
        """One client thread: warm-up, wait for the others, then the timed submissions."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        try:
            for submission in warm_share:
                post(conn, submission)
            ready.wait()
            start_flag.wait()
            for submission in timed_share:
                post(conn, submission)
        except BaseException:
            ready.abort()  # do not leave the other threads and the caller waiting
            raise
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=share, daemon=True) for share in shares]
    for thread in threads:
        thread.start()
    ready.wait()
    with timed() as wall:
        start_flag.set()
        for thread in threads:
            thread.join()
    return wall.seconds


@dataclass
class Pgbench:
    """One pgbench run: rate without connection time, per-transaction latencies, its report."""

    tps: float
    latencies_s: np.ndarray
    failed: int
    output: str


def run_pgbench(url: URL, script: Path, workdir: Path, transactions: int, clients: int) -> Pgbench:
    """Run pgbench with `script`, `transactions` in all over `clients` clients, logging each."""
    prefix = workdir / f"pgbench_log_{clients}x{transactions}"
    command = [
        "pgbench", "-n", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
        "-U", url.username or "postgres", "-c", str(clients),
        "-j", str(min(PGBENCH_THREADS, clients)), "-t", str(transactions // clients),
        "-f", str(script), "-r", "-l", f"--log-prefix={prefix}", str(url.database),
    ]  # fmt: skip
    env = os.environ | ({"PGPASSWORD": url.password} if url.password else {})
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed ({done.returncode}):\n{output}")
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    if tps is None:
        raise RuntimeError(f"no tps in pgbench's report:\n{output}")
    latencies = [
        int(line.split()[2]) / 1e6
        for path in sorted(workdir.glob(prefix.name + ".*"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    return Pgbench(float(tps.group(1)), np.array(latencies), int(failed.group(1)) if failed else 0,
                   output)  # fmt: skip


def stored_tokens(engine: Engine, tokens: list[str]) -> set[str]:
    """Which of `tokens` are client tokens of rows in `concern`."""
    query = text("SELECT client_token FROM concern WHERE client_token IN :tokens").bindparams(
        bindparam("tokens", expanding=True)
    )
    with engine.connect() as conn:
        return set(conn.scalars(query, {"tokens": tokens}))


def counts(engine: Engine) -> dict[str, int]:
    """Rows in concern written by each side, and history rows in concern_event."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE client_token LIKE 'pgb-%'), "
                "count(*) FILTER (WHERE client_token NOT LIKE 'pgb-%'), "
                "(SELECT count(*) FROM concern_event) FROM concern"
            )
        ).one()
    return {"pgbench": row[0], "geoapp": row[1], "events": row[2]}


def percentile_ms(latencies_s: np.ndarray, q: float) -> float:
    """A latency percentile in milliseconds."""
    return float(np.percentile(latencies_s, q) * 1000)


def run() -> Outcome:
    """Set up Bucha and the categories, time the API under gunicorn, then pgbench's INSERT."""
    scratch = scratch_database(NAME)
    engine = scratch.engine
    url = scratch.url
    with tempfile.TemporaryDirectory(prefix="bench-concerns-") as tmp:
        workdir = Path(tmp)
        with Session(engine) as session:
            load_pilot(session, str(data_dir() / BOUNDARY_FOLDER), workdir / "cache")
            categories = sync_defaults(session)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) community, category, concern, concern_event"))

        everything = make_submissions(random.Random(SEED), WARM_UP + SUBMISSIONS)
        warm, submissions = everything[:WARM_UP], everything[WARM_UP:]
        port = free_port()
        log_path = workdir / "gunicorn.log"
        with log_path.open("wb") as log_file:
            proc = start_gunicorn(url, port, log_file)
            log(f"[{NAME}] gunicorn ({WORKERS} workers, pid {proc.pid}) on port {port}")
            try:
                geoapp_s = submit(port, warm, submissions)
            finally:
                stop_gunicorn(proc)
        gunicorn_errors = [
            line for line in log_path.read_text(errors="replace").splitlines()
            if "[ERROR]" in line or "Traceback" in line
        ]  # fmt: skip
        geoapp_rate = SUBMISSIONS / geoapp_s
        log(f"[{NAME}] geoapp: {geoapp_s:.2f} s for {SUBMISSIONS:,} ({geoapp_rate:,.0f}/s)")

        statuses: dict[str, int] = {}
        for s in submissions:
            key = str(s.status) if s.status else "no answer"
            statuses[key] = statuses.get(key, 0) + 1
        not_created = [s for s in submissions if s.status != 201]
        acknowledged = [s.token for s in submissions if s.status == 201]
        stored = stored_tokens(engine, acknowledged) if acknowledged else set()
        missing = len(acknowledged) - len(stored)
        lost = len(not_created) + missing
        geoapp_latencies = np.array([s.seconds for s in submissions])
        errors = sorted({s.error for s in not_created})[:3]

        script = workdir / "concern_insert.pgbench.sql"
        script.write_text(PGBENCH_SCRIPT, encoding="utf-8")
        run_pgbench(url, script, workdir, WARM_UP, 2)
        pgb = run_pgbench(url, script, workdir, SUBMISSIONS, CLIENTS)
        pgbench_s = SUBMISSIONS / pgb.tps
        log(f"[{NAME}] pgbench: {pgb.tps:,.0f} tps, {len(pgb.latencies_s):,} logged transactions")
    rows_now = counts(engine)

    ratio = geoapp_rate / pgb.tps
    met = ratio >= GOAL and lost == 0
    if not met:
        log(f"[{NAME}] goal missed; pgbench's report:\n{pgb.output}")
    rows = [
        Row(
            benchmark=f"concerns: {SUBMISSIONS:,} submissions from {CLIENTS} clients, "
            f"API under gunicorn ({WORKERS} workers) vs pgbench INSERT",
            geoapp_s=geoapp_s,
            anchor_s=pgbench_s,
            ratio=f"{ratio:.2f}× ({geoapp_rate:,.0f} vs {pgb.tps:,.0f} submissions/s)",
            goal=f"≥ {GOAL}× with 0 lost",
            met=met,
        ),
        Row(
            benchmark="concerns: latency per submission, p50 / p99",
            geoapp_s=None,
            anchor_s=None,
            ratio=f"geoapp {percentile_ms(geoapp_latencies, 50):.1f} / "
            f"{percentile_ms(geoapp_latencies, 99):.1f} ms, pgbench "
            f"{percentile_ms(pgb.latencies_s, 50):.1f} / "
            f"{percentile_ms(pgb.latencies_s, 99):.1f} ms",
            goal="n/a",
            met=None,
        ),
        Row(
            benchmark="concerns: lost submissions (not 201, or 201 but not stored)",
            geoapp_s=None,
            anchor_s=None,
            ratio=f"{lost} lost ({len(not_created)} not 201, {missing} acknowledged but "
            f"missing); pgbench {pgb.failed} failed",
            goal="0",
            met=lost == 0,
        ),
    ]
    notes = [
        f"setup: the pilot communities (load_pilot) and the {categories} default categories "
        "(sync_defaults) in the scratch database, then VACUUM (ANALYZE) of community, "
        "category, concern and concern_event, untimed",
        f"geoapp: `gunicorn --workers {WORKERS} --bind 127.0.0.1:PORT geoapp.wsgi:app` (sync "
        f"workers, 2 × {len(os.sched_getaffinity(0))} cores + 1), no Redis (in-memory rate "
        f"limiter per worker, limit {REPORT_LIMIT!r}); {CLIENTS} client threads in the "
        "benchmark process (http.client, one connection object per thread; the sync workers "
        "close the connection after each response, so every request opens a new one), on the "
        f"same machine as the server and PostgreSQL; each thread sends {SUBMISSIONS // CLIENTS} "
        f"timed POSTs to {PATH} back to back after its share of {WARM_UP} warm-up POSTs; "
        "submissions/s = timed submissions / wall time from the common start to the last "
        "answer; latency = one request, client work included",
        f"bodies: category {CATEGORY!r}, lon {CENTRE[0]} ± {SPREAD[0]}, lat {CENTRE[1]} ± "
        f"{SPREAD[1]} (uniform, random.Random({SEED})), a 60-character description and a "
        "fresh uuid4 hex client_token each",
        "per submission geoapp does more than the INSERT: it looks up the community by slug, "
        "looks for an earlier concern with the client token, validates the body, looks up the "
        "category, checks with PostGIS (ST_Covers) that the point lies in the community, "
        "inserts the concern (geoapp/sql/concern_insert.sql: snapped public point, ON "
        "CONFLICT (client_token) DO NOTHING), inserts its first concern_event history row and "
        "commits, plus HTTP, JSON and Flask's request handling and the rate limiter",
        f"pgbench: `pgbench -n -c {CLIENTS} -j {PGBENCH_THREADS} -t {SUBMISSIONS // CLIENTS} "
        "-f script -r -l` on the same database after gunicorn stopped (one untimed run of "
        f"{WARM_UP} transactions on 2 clients first); the script is concern_insert.sql with "
        "the same point spread (\\set random), gen_random_uuid() for public_id, tracking token "
        "and client_token ('pgb-' prefix), md5 for the short code, and the category and "
        "community ids from subqueries; one statement, autocommit, no history row; rate = "
        "pgbench's tps without initial connection time; anchor time = "
        f"{SUBMISSIONS:,} / that rate; p50 / p99 from the per-transaction log",
        f"geoapp answers: {', '.join(f'{k} × {v}' for k, v in sorted(statuses.items()))}"
        + (f"; first errors: {'; '.join(errors)}" if errors else "")
        + f"; gunicorn log lines with [ERROR] or a traceback: {len(gunicorn_errors)}",
        f"rows afterwards: concern {rows_now['geoapp']:,} from the API (warm-up included) and "
        f"{rows_now['pgbench']:,} from pgbench (warm-up included), concern_event "
        f"{rows_now['events']:,}",
    ]
    engine.dispose()
    return Outcome(name=NAME, rows=rows, notes=notes, url=url)
