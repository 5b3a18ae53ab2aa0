"""Known vulnerabilities in what we run: the installed Python packages and the npm assets.

`make audit` (and so `make test`) runs pip-audit against the virtualenv and `npm audit`
against package-lock.json.  It fails when a vulnerability has a fixed version to move
to: then there is something to do (widen or raise the range in pyproject.toml or
package.json).  A vulnerability without a fix is printed and does not fail.  When the
vulnerability service cannot be reached (no network, a mirror without the audit API),
the check says loudly that nothing was audited and does not fail, so CI is not flaky.

    .venv/bin/python scripts/audit_deps.py [--python-only | --npm-only]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What pip-audit and npm print when they could not talk to the service at all.
UNREACHABLE = re.compile(
    r"ConnectionError|NewConnectionError|Max retries|timed out|Temporary failure|"
    r"Name or service not known|ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|"
    r"audit endpoint returned an error|ServiceError|HTTPError|ProxyError|SSLError",
    re.IGNORECASE,
)
NPM_LEVELS = ("low", "moderate", "high", "critical")  # "info" is advice, not a vulnerability


def warn(text: str) -> None:
    """A warning that stands out in CI's log."""
    print(f"WARNING: {text}", file=sys.stderr)


def python_findings(report: dict) -> tuple[list[str], list[str], int, int]:
    """(fixable, unfixable, audited, skipped) from pip-audit's JSON report."""
    fixable, unfixable, audited, skipped = [], [], 0, 0
    for dep in report.get("dependencies", []):
        if "skip_reason" in dep:
            skipped += 1
            continue
        audited += 1
        for vuln in dep.get("vulns", []):
            line = f"{dep['name']} {dep.get('version', '?')}: {vuln.get('id')}"
            if vuln.get("fix_versions"):
                fixable.append(f"{line} (fixed in {', '.join(vuln['fix_versions'])})")
            else:
                unfixable.append(f"{line} (no fixed version yet)")
    return fixable, unfixable, audited, skipped


def audit_python() -> bool:
    """Run pip-audit on this virtualenv; False when a fixable vulnerability is found."""
    pip_audit = Path(sys.executable).with_name("pip-audit")
    if not pip_audit.exists():
        print(f"pip-audit is not installed in {pip_audit.parent} (run `make setup`)")
        return False
    command = [str(pip_audit), "--local", "--skip-editable", "--format", "json",
               "--progress-spinner", "off"]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    except subprocess.TimeoutExpired:
        warn("pip-audit did not finish in 10 minutes: Python packages NOT audited")
        return True
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        if UNREACHABLE.search(done.stderr):
            warn("pip-audit could not reach the vulnerability service: Python packages NOT "
                 f"audited.\n{done.stderr.strip().splitlines()[-1]}")  # fmt: skip
            return True
        print(f"pip-audit failed:\n{done.stderr}")
        return False
    fixable, unfixable, audited, skipped = python_findings(report)
    if audited == 0 and skipped:
        warn(f"pip-audit got no answer for any of {skipped} packages (is pypi.org's JSON "
             "API reachable?): Python packages NOT audited")  # fmt: skip
        return True
    for line in unfixable:
        print(f"python: known, no fix yet: {line}")
    for line in fixable:
        print(f"python: VULNERABLE, fix available: {line}")
    print(f"python: {audited} packages audited, {skipped} skipped, "
          f"{len(fixable)} fixable vulnerabilities")  # fmt: skip
    return not fixable


def npm_findings(report: dict) -> tuple[list[str], list[str]]:
    """(fixable, unfixable) from `npm audit --json` (lockfile v2/v3 report)."""
    fixable, unfixable = [], []
    for name, vuln in sorted(report.get("vulnerabilities", {}).items()):
        if vuln.get("severity") not in NPM_LEVELS:
            continue
        via = [v.get("title") or v.get("url") for v in vuln.get("via", []) if isinstance(v, dict)]
        line = f"{name} {vuln.get('range', '')} [{vuln['severity']}] {'; '.join(via)}".strip()
        (fixable if vuln.get("fixAvailable") else unfixable).append(line)
    return fixable, unfixable


def audit_npm() -> bool:
    """Run `npm audit` on package-lock.json; False when a fixable vulnerability is found."""
    npm = shutil.which("npm")
    if npm is None:
        print("npm is not installed (run `make setup`)")
        return False
    command = [npm, "audit", "--omit=dev", "--package-lock-only", "--json"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    except subprocess.TimeoutExpired:
        warn("npm audit did not finish in 5 minutes: npm assets NOT audited")
        return True
    try:
        report = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        report = {}
    if "vulnerabilities" not in report:
        error = report.get("error") or {}
        text = f"{report.get('message', '')} {error.get('code', '')} {done.stderr}"
        if UNREACHABLE.search(text) or report.get("statusCode"):
            warn(f"npm audit could not use the registry's audit service: npm assets NOT "
                 f"audited.\n{(report.get('message') or done.stderr).strip()[:300]}")  # fmt: skip
            return True
        print(f"npm audit failed:\n{done.stdout[:2000]}\n{done.stderr[:2000]}")
        return False
    fixable, unfixable = npm_findings(report)
    for line in unfixable:
        print(f"npm: known, no fix yet: {line}")
    for line in fixable:
        print(f"npm: VULNERABLE, fix available: {line}")
    total = report.get("metadata", {}).get("dependencies", {}).get("total", "?")
    print(f"npm: {total} packages audited, {len(fixable)} fixable vulnerabilities")
    return not fixable


def main() -> None:
    """Run both audits (or one) and exit 1 if either found something to fix."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--python-only", action="store_true")
    only.add_argument("--npm-only", action="store_true")
    args = parser.parse_args()
    ok = True
    if not args.npm_only:
        ok = audit_python() and ok
    if not args.python_only:
        ok = audit_npm() and ok
    if not ok:
        print("audit: fixable vulnerabilities (or a broken audit) above; raise the version "
              "range in pyproject.toml / package.json and run `make setup`")  # fmt: skip
        sys.exit(1)


if __name__ == "__main__":
    main()
