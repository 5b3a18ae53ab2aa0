"""Import reasons in the analyst's language.

The import service reports in plain English (it also serves the CLI, an admin tool);
here the reasons an analyst meets most are matched and said again through gettext, with
what was written kept as written.  A reason not in the table is shown as it came.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

# (pattern, translation), the named groups passed on as they were written.
_REASONS: list[tuple[re.Pattern[str], Callable[..., str]]] = [
    (re.compile(r"^date '(?P<value>.*)' not understood"),
     lambda value: _("date “%(value)s” not understood (or in the future, or before 2000)",
                     value=value)),
    (re.compile(r"^'(?P<value>.*)' is no article of the Criminal Code$"),
     lambda value: _("“%(value)s” is not an article of the Criminal Code", value=value)),
    (re.compile(r"^address '(?P<value>.*)' not found in the gazetteer$"),
     lambda value: _("address “%(value)s” not found in the community's address list",
                     value=value)),
    (re.compile(r"^missing or unreadable location$"), lambda: _("no readable location")),
    (re.compile(r"^unreadable lon/lat"), lambda: _("no readable location")),
    (re.compile(r"^lon and lat look swapped$"),
     lambda: _("longitude and latitude look swapped")),
    (re.compile(r"^no source reference$"), lambda: _("no source reference (case number)")),
    (re.compile(r"^the same reference as row (?P<row>\d+)$"),
     lambda row: _("the same reference as row %(row)s", row=row)),
    (re.compile(r"^outside the community$"), lambda: _("outside the community")),
    (re.compile(r"^already imported$"), lambda: _("already imported earlier")),
    (re.compile(r"^(?P<name>.+): the file is empty$"),
     lambda name: _("%(name)s: the file is empty", name=name)),
    (re.compile(r"^(?P<name>.+): no data rows below the header$"),
     lambda name: _("%(name)s: there are no data rows below the header", name=name)),
    (re.compile(r"^(?P<name>.+): missing column\(s\) (?P<cols>[^ ]+(?:, [^ ]+)*) for profile"),
     lambda name, cols: _("%(name)s: missing column(s) %(cols)s for the chosen profile",
                          name=name, cols=cols)),
    (re.compile(r"^(?P<name>.+): the file is larger than the (?P<mb>\d+) MB"),
     lambda name, mb: _("%(name)s: the file is larger than %(mb)s MB", name=name, mb=mb)),
    (re.compile(r"^(?P<name>.+): unknown format"),
     lambda name: _("%(name)s: not a CSV, XLSX, GeoJSON or GeoPackage file", name=name)),
    (re.compile(r"^(?P<name>.+): not a readable GeoJSON file: it must be a FeatureCollection"),
     lambda name: _("%(name)s: not a GeoJSON feature collection (a JSON object with "
                    "\"type\": \"FeatureCollection\" and a list of \"features\" is needed)",
                    name=name)),
    (re.compile(r"^(?P<name>.+): the JSON is nested more than (?P<n>\d+) levels deep"),
     lambda name, n: _("%(name)s: the JSON is nested more than %(n)s levels deep; it is not "
                       "a GeoJSON file", name=name, n=n)),
    (re.compile(r"^(?P<name>.+): not a readable GeoJSON file \(not valid JSON"),
     lambda name: _("%(name)s: not valid JSON", name=name)),
    (re.compile(r"^(?P<name>.+): an SQLite database, not a GeoPackage$"),
     lambda name: _("%(name)s: an SQLite database, not a GeoPackage", name=name)),
    (re.compile(r"^(?P<name>.+): the layer '(?P<layer>.*)' (is a view|is not a plain table|"
                r"has computed columns)"),
     lambda name, layer: _("%(name)s: the layer “%(layer)s” is not a plain table (a view or "
                           "computed columns); export the data itself as a table",
                           name=name, layer=layer)),
    (re.compile(r"^(?P<name>.+): more than (?P<n>[\d,]+) rows; the limit"),
     lambda name, n: _("%(name)s: more than %(n)s rows, the limit for one file; split the "
                       "export", name=name, n=n)),
    (re.compile(r"^(?P<name>.+): row (?P<row>\d+) has a value beyond column (?P<n>\d+)"),
     lambda name, row, n: _("%(name)s: row %(row)s has a value beyond column %(n)s, the limit",
                            name=name, row=row, n=n)),
    (re.compile(r"^(?P<name>.+): the workbook is packed unusually tightly"),
     lambda name: _("%(name)s: the workbook is packed unusually tightly; save it again from a "
                    "spreadsheet program or as CSV", name=name)),
    (re.compile(r"^(?P<name>.+): (?P<n>\d+) rows cannot be imported; with --strict"),
     lambda name, n: _("%(name)s: %(n)s rows cannot be imported; in “all or nothing” mode "
                       "nothing was imported", name=name, n=n)),
]  # fmt: skip


def translate_reason(reason: str) -> str:
    """The reason in the interface language, or as given when it is not a known one."""
    for pattern, say in _REASONS:
        match = pattern.match(reason)
        if match:
            return say(**match.groupdict())
    return reason
