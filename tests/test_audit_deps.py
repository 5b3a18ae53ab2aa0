"""`make audit`'s verdict on the audit tools' reports: a vulnerability with a fixed version
fails the build, one without a fix is only shown, and an audit service that could not be
reached is a warning that nothing was audited, never a failure (CI must not flicker)."""

from __future__ import annotations

import importlib.util

from geoapp.config import PROJECT_ROOT

spec = importlib.util.spec_from_file_location(
    "audit_deps", PROJECT_ROOT / "scripts" / "audit_deps.py"
)
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

PIP_AUDIT = {  # the shape `pip-audit -f json` writes (2.x)
    "dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {"name": "werkzeug", "version": "3.0.0", "vulns": [
            {"id": "GHSA-2g68-c3qc-8985", "fix_versions": ["3.0.3"], "aliases": []}]},
        {"name": "ecdsa", "version": "0.19.0", "vulns": [
            {"id": "GHSA-wj6h-64fc-37mp", "fix_versions": [], "aliases": []}]},
        {"name": "private-pkg", "skip_reason": "Dependency not found on PyPI"},
    ],
}  # fmt: skip


def test_a_python_vulnerability_with_a_fix_is_to_do_and_one_without_is_shown():
    fixable, unfixable, audited, skipped = audit.python_findings(PIP_AUDIT)
    assert fixable == ["werkzeug 3.0.0: GHSA-2g68-c3qc-8985 (fixed in 3.0.3)"]
    assert unfixable == ["ecdsa 0.19.0: GHSA-wj6h-64fc-37mp (no fixed version yet)"]
    assert (audited, skipped) == (3, 1)


NPM_AUDIT = {  # the shape `npm audit --json` writes (npm 7+)
    "vulnerabilities": {
        "leaflet": {"name": "leaflet", "severity": "moderate", "range": "<1.9.4",
                    "via": [{"title": "XSS in popups", "url": "https://github.com/advisories/x"}],
                    "fixAvailable": {"name": "leaflet", "version": "1.9.4"}},
        "old-dep": {"name": "old-dep", "severity": "high", "range": "*", "via": ["leaflet"],
                    "fixAvailable": False},
        "advice": {"name": "advice", "severity": "info", "via": [], "fixAvailable": True},
    },
    "metadata": {"dependencies": {"total": 6}},
}  # fmt: skip


def test_an_npm_vulnerability_with_a_fix_is_to_do_and_info_is_not():
    fixable, unfixable = audit.npm_findings(NPM_AUDIT)
    assert fixable == ["leaflet <1.9.4 [moderate] XSS in popups"]
    assert unfixable == ["old-dep * [high]"]


def test_an_unreachable_service_is_recognised_in_what_the_tools_print():
    osv = ("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev', "
           "port=443): Max retries exceeded with url: /v1/query")  # fmt: skip
    npm = "npm error audit endpoint returned an error"
    offline = "npm error code EAI_AGAIN"
    assert all(audit.UNREACHABLE.search(text) for text in (osv, npm, offline))
    assert not audit.UNREACHABLE.search("ENOLOCK: This command requires an existing lockfile")
