"""The CF checker of the CF community (``cfchecks``, PyPI ``cfchecker``) run offline on a
product file.

``cfchecker`` needs the UDUNITS-2 C library (Debian ``libudunits2-0``) and three tables it
downloads by default: the standard names come from the table compliance-checker packages,
the area types and standardized region names from empty tables (dronesense products use
neither ``area_type`` nor ``region`` values).
"""

from __future__ import annotations

from pathlib import Path

import pytest

EMPTY_TABLES = {
    "area.xml": "<area_type_table><version_number>0</version_number><date>none</date>"
                "</area_type_table>\n",
    "region.xml": "<standardized_region_list><version_number>0</version_number>"
                  "<date>none</date></standardized_region_list>\n",
}


def cfchecks_messages(path: Path, workdir: Path) -> dict[str, list[str]]:
    """FATAL, ERROR and WARN messages of ``cfchecks`` on ``path`` against the newest CF
    version cfchecker knows (4.1: CF-1.8), each message prefixed with the variable it is
    about (``global`` for the file). Skips the test if cfchecker or UDUNITS-2 is missing."""
    try:
        from cfchecker.cfchecks import CFChecker, newest_version
    except (ImportError, OSError) as err:  # not installed, or cfunits finds no libudunits2
        pytest.skip(f"cfchecker cannot run here: {err}")
    from compliance_checker import cf

    tables = {}
    for name, text in EMPTY_TABLES.items():
        tables[name] = workdir / name
        tables[name].write_text('<?xml version="1.0"?>\n' + text)
    names = Path(cf.__file__).parent.parent / "data" / "cf-standard-name-table.xml"
    checker = CFChecker(cfStandardNamesXML=str(names), cfAreaTypesXML=str(tables["area.xml"]),
                        cfRegionNamesXML=str(tables["region.xml"]), version=newest_version,
                        silent=True)
    results = checker.checker(str(path))
    out: dict[str, list[str]] = {"FATAL": [], "ERROR": [], "WARN": []}
    parts = {"global": results["global"], **results["variables"]}
    for where, found in parts.items():
        for level in out:
            out[level] += [f"{where}: {msg}" for msg in found.get(level, [])]
    return out


#: What cfchecker 4.1 (CF up to 1.8) says of every file that declares a newer CF version:
#: it does not know ``CF-1.11`` and so reports the ``Conventions`` attribute, nothing else.
NEWER_CF_VERSION = ("global: (2.6.1): This netCDF file does not appear to contain CF "
                    "Convention data.")
