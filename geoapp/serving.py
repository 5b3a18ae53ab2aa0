"""`geoapp serve`: the web server and the job worker as one command, started and stopped together.

Why a small supervisor rather than a shell `&` in the Makefile: Ctrl-C or a SIGTERM must stop
both (a background job of a non-interactive shell ignores SIGINT and outlives it), a worker
that crashes must come back while the web server runs, and the web server's exit must end
the worker.  Both children run in their own session, so a Ctrl-C reaches them once, from
here (RQ's worker takes a second signal as "stop now"); on Linux they are also told to stop
if this process dies without cleaning up.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

RESTARTS_PER_MINUTE = 5  # a worker failing faster than this is left down (the log says why)
STOP_SECONDS = 30  # how long a child may take to stop before it is killed


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _start(args: Sequence[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(list(args), start_new_session=True, preexec_fn=_die_with_parent)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve_with_worker(web: Sequence[str], worker: Sequence[str]) -> int:
    """Run `web` and `worker` until `web` ends or a signal comes; return web's exit code.

    SIGINT and SIGTERM are passed on to both (a second one again: RQ then stops its job
    at once).  A worker that exits is started again, at most RESTARTS_PER_MINUTE a minute.
    """
    web_proc, worker_proc = _start(web), _start(worker)
    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for proc in (web_proc, worker_proc):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    restarts: list[float] = []
    try:
        while web_proc.poll() is None:
            if not stopping and worker_proc.poll() is not None:
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < 60]
                if len(restarts) < RESTARTS_PER_MINUTE:
                    print(f"geoapp serve: the job worker exited ({worker_proc.returncode}); "
                          "starting it again", file=sys.stderr)  # fmt: skip
                    restarts.append(now)
                    worker_proc = _start(worker)
            time.sleep(0.5)
    finally:
        for proc in (worker_proc, web_proc):
            _stop(proc)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return web_proc.returncode or 0
