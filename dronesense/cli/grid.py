"""``dronesense grid``: samples of one quantity -> a CF 3D grid (netCDF or Zarr)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from dronesense.cli.options import (
    add_range_option,
    finite,
    output_path,
    parse_floats,
    parse_spacing,
    plausible_ranges,
)
from dronesense.errors import InputError

if TYPE_CHECKING:  # numpy and xarray load when the command runs, not for ``--help``
    import xarray as xr

__all__ = ["register", "run", "summarise"]


def register(subparsers) -> None:
    """Add the ``grid`` sub-command."""
    p = subparsers.add_parser(
        "grid", help="grid one quantity of a session onto a 3D CF grid",
        description="Grid the paired samples of one quantity onto a 3D grid in a local "
                    "east/north/up frame and write a CF netCDF (or Zarr) file.",
    )
    p.add_argument("input", help="session directory or samples .csv journal, .nc or .parquet "
                                 "(or a flight log, paired first)")
    p.add_argument("--quantity", "-q", required=True, help="quantity key (ch4, pm2p5, ...)")
    p.add_argument("--spacing", help="voxel size DX,DY,DZ in metres (or DXY,DZ or D)")
    p.add_argument("--method", default="block",
                   choices=["block", "idw", "dmv", "kriging", "auto"],
                   help="gridding method (default block statistics)")
    p.add_argument("--statistic", default="mean", choices=["mean", "median"],
                   help="block estimate (default mean)")
    p.add_argument("--region", help="WEST,EAST,SOUTH,NORTH,BOTTOM,TOP in metres in the local "
                                    "frame (default: fitted to the data)")
    p.add_argument("--origin", help="LAT,LON,ALT of the local frame (default: home point)")
    p.add_argument("--vertical", choices=["height", "amsl", "agl"],
                   help="vertical reference: height above home (default), AMSL, above ground")
    p.add_argument("--terrain", type=finite, help="ground altitude AMSL (m) for --vertical agl")
    p.add_argument("--levels", choices=["layers", "regular"],
                   help="vertical levels: centred on the flown layers (layers, the default) or "
                        "on multiples of the vertical spacing (regular)")
    p.add_argument("--grid-spec", dest="spec",
                   help="reuse a grid definition: JSON file or an earlier grid")
    p.add_argument("--save-spec", help="write the grid definition used to this JSON file")
    p.add_argument("--cv", action="store_true",
                   help="store blocked cross-validation RMSE and bias (always with auto)")
    p.add_argument("--error-model", action=argparse.BooleanOptionalAction, default=True,
                   help="report the grid's expected error from a variogram fitted to the "
                        "samples (the estimation variance of the method's own weights; the "
                        "default; where no variogram can be fitted, the cross-validation's "
                        "figure if any); --no-error-model: only the cross-validation's "
                        "figure (with --cv or auto)")
    p.add_argument("--out", "-o", type=output_path,
                   help="output .nc or .zarr (default: beside the input)")
    p.add_argument("--zarr-format", dest="zarr_format", type=int, choices=[2, 3], default=2,
                   help="Zarr version of a .zarr output: 2 (default, consolidated metadata; "
                        "read by netCDF-C and GDAL) or 3")
    add_range_option(p)
    p.set_defaults(func=run)


def _default_out(inp: Path, quantity: str) -> Path:
    if inp.is_dir():
        return inp / f"grid_{quantity}.nc"
    return inp.with_name(f"{inp.stem}_grid_{quantity}.nc")


def run(args: argparse.Namespace) -> int:
    """Run ``dronesense grid``."""
    from dronesense.gridding.dataset import write_grid
    from dronesense.gridding.grid import grid
    from dronesense.gridding.spec import GridSpec
    from dronesense.samples.files import load_dataset

    inp = Path(args.input)
    if args.ranges:  # a log (a session's flight.tlog) paired with these ranges
        samples = load_dataset(inp, prefer_journal=False, ranges=plausible_ranges(args))
    else:
        samples = load_dataset(inp)
    out = Path(args.out) if args.out else _default_out(inp, args.quantity)
    if out.suffix not in (".nc", ".zarr"):
        raise InputError("output must end in .nc or .zarr", path=out)
    ds = grid(samples, args.quantity, spec=args.spec,
              spacing=parse_spacing(args.spacing) if args.spacing else None,
              region=parse_floats(args.region, 6, "--region") if args.region else None,
              origin=parse_floats(args.origin, 3, "--origin") if args.origin else None,
              vertical=args.vertical, terrain=args.terrain, levels=args.levels,
              method=args.method,
              statistic=args.statistic, cross_validate=args.cv,
              error_model=args.error_model, inputs=[str(inp)])
    write_grid(ds, out, zarr_format=args.zarr_format)
    if args.save_spec:
        GridSpec.from_attrs(ds.attrs).save(args.save_spec)
    summarise(ds, args.quantity, chosen="cross_validation_candidates" in ds.attrs)
    print(f"wrote {out}")
    return 0


def summarise(ds: xr.Dataset, quantity: str, *, chosen: bool = False) -> None:
    """Print what a grid holds, in display units (``ppm``; the file keeps CF ``1e-6``)."""
    import numpy as np

    from dronesense.gridding.spec import GridSpec
    from dronesense.quantities import display_units

    q = ds[quantity]
    count = ds["number_of_observations"].values
    filled = int(np.isfinite(q.values).sum())
    nz, ny, nx = q.shape
    spacing = "{:g} x {:g} x {:g} m".format(*GridSpec.from_attrs(ds.attrs).spacing)
    units = display_units(q.attrs.get("units", ""), quantity)
    unit_text = f" {units}" if units else ""
    print(f"{ds.attrs.get('number_of_samples', int(count.sum()))} {quantity} samples -> "
          f"{nx} x {ny} x {nz} voxels of {spacing} ({ds.attrs['vertical_reference']})")
    print(f"method {ds.attrs['made_by']}" + (" (chosen by cross-validation)" if chosen else ""))
    if ds.attrs.get("cross_validation_notes"):
        print(f"note: {ds.attrs['cross_validation_notes']}")
    print(f"voxels with data {int((count > 0).sum())}, with an estimate {filled} of {q.size}")
    if filled:
        print(f"{quantity} min {np.nanmin(q.values):.4g}  mean {np.nanmean(q.values):.4g}  "
              f"max {np.nanmax(q.values):.4g}{unit_text}")
    _print_errors(ds.attrs, unit_text)


def _print_errors(attrs, unit_text: str) -> None:
    """The grid's reported error and how it was made, then the cross-validation's figures."""
    import numpy as np

    from dronesense.gridding.reportederror import reported_error

    not_model = str(attrs.get("model_grid_rmse_method", ""))
    why = f"; variogram model {not_model}" if not_model.startswith("not estimable") else ""
    error, how = reported_error(attrs)
    if error is not None:
        print(f"estimated grid error {error:.4g}{unit_text} ({how}{why})")
    elif why:
        print(f"estimated grid error: none (variogram model {not_model}; --cv gives the "
              f"cross-validation's)")
    if "cross_validation_rmse" in attrs:
        print(f"blocked cross-validation: RMSE {attrs['cross_validation_rmse']:.4g}"
              f"{unit_text}, bias {attrs['cross_validation_bias']:.4g}{unit_text}")
        noise = attrs.get("cross_validation_noise_std")
        grid_rmse = attrs.get("cross_validation_grid_rmse", attrs.get("estimated_grid_rmse"))
        if noise is not None and np.isfinite(noise) and grid_rmse is not None:
            print(f"  sample noise {noise:.4g}{unit_text}: grid error by cross-validation "
                  f"{grid_rmse:.4g}{unit_text}")
