"""``dronesense view``: one self-contained offline HTML report of a flight's products.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> args = p.parse_args(["view", "session1", "grid.nc", "--out", "report.html"])
>>> args.inputs, args.out
(['session1', 'grid.nc'], 'report.html')
"""

from __future__ import annotations

from pathlib import Path

from dronesense.cli.options import output_file
from dronesense.errors import InputError

__all__ = ["open_product", "register", "run"]


def register(subparsers) -> None:
    """Add the ``view`` sub-command."""
    p = subparsers.add_parser(
        "view", help="write one offline HTML report of a flight (map, slices, flux, provenance)",
        description="Write one self-contained HTML report (opens from disk, needs no internet) "
        "of a flight: a map of the samples with a time slider, interactive level slices, a "
        "vertical profile and curtains of each grid, the emission rate of each flux file with "
        "its uncertainty budget, and the provenance of every product.")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="session folder, flight log or samples file (.csv, .nc, .parquet), "
                   "grid (.nc, .zarr from 'grid') or flux result (.nc from 'flux')")
    p.add_argument("--out", required=True, type=output_file,
                   metavar="REPORT.html", help="the report to write")
    p.add_argument("--title", help="title (default: 'Flight report', date and place)")
    p.set_defaults(func=run)


def open_product(path: str | Path):
    """A samples, grid or flux Dataset from a path: netCDF/Zarr products as they are, any
    session folder, log or samples file through :func:`dronesense.read_samples`."""
    import xarray as xr

    from dronesense.products.report import product_kind

    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", path=path)
    if path.suffix.lower() in (".nc", ".zarr", ".nc4"):
        try:
            ds = (xr.open_zarr(path) if path.suffix.lower() == ".zarr"
                  else xr.open_dataset(path)).load()
        except (OSError, ValueError) as err:
            raise InputError(f"cannot read as netCDF/Zarr: {err}", path=path) from None
        try:
            kind = product_kind(ds)
        except InputError as err:
            raise InputError(str(err.args[0] if err.args else err), path=path) from None
        if kind != "samples":
            return ds
    from dronesense.api import read_samples

    return read_samples(path)


def run(args) -> int:
    """Write the report; returns the exit code."""
    from dronesense.products.report import write_report

    products = [(Path(p).name or str(p), open_product(p)) for p in args.inputs]
    out = write_report(products, args.out, title=args.title)
    kinds = ", ".join(Path(p).name for p in args.inputs)
    print(f"{out}: report of {kinds} ({out.stat().st_size / 1024:.0f} kB, opens offline)")
    return 0
