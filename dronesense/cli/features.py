"""``dronesense campaign --features``: profile features of many flights for forecasting.

The options are added to ``dronesense campaign`` (:func:`add_feature_options`); with
``--features`` the command writes one tidy table (netCDF or Zarr, one row per flight) of the
flights' profile features aligned to station hours, with blocked cross-validation folds by
day, instead of a grid (:func:`dronesense.campaign_features`).

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser()
>>> add_feature_options(p)
>>> a = p.parse_args(["--features", "--stations", "st.csv", "--folds", "3"])
>>> a.features, a.stations, a.folds, a.bin_height
(True, 'st.csv', 3, 10.0)
"""

from __future__ import annotations

import math
from pathlib import Path

from dronesense.cli.options import command_history, finite, positive, positive_int
from dronesense.errors import InputError

__all__ = ["add_feature_options", "run_features"]


def add_feature_options(p) -> None:
    """The ``--features`` options of ``dronesense campaign``."""
    g = p.add_argument_group(
        "forecasting features (--features: one row per flight instead of a grid; "
        "docs/programs.md)")
    g.add_argument("--features", action="store_true",
                   help="write the flights' profile features aligned to station hours, "
                        "with blocked cross-validation folds by day")
    g.add_argument("--stations", metavar="CSV",
                   help="hourly ground-station readings (AirKorea or EEA layout)")
    g.add_argument("--station-positions", metavar="CSV",
                   help="station_id,lat,lon, if the readings lack positions")
    g.add_argument("--station-utc-offset", type=finite, metavar="H",
                   help="hours the station times are ahead of UTC (default 9 for AirKorea)")
    g.add_argument("--folds", type=positive_int, default=5,
                   help="blocked cross-validation folds by day (5)")
    g.add_argument("--bin", dest="bin_height", type=positive, default=10.0, metavar="M",
                   help="height of the profile bins, m (10)")
    g.add_argument("--rh-limit", type=finite, default=80.0, metavar="PCT",
                   help="flag particle readings above this relative humidity, %% (80)")
    g.add_argument("--hygroscopic", action="store_true",
                   help="correct particle readings for hygroscopic growth first")


def run_features(args) -> int:
    """Run ``dronesense campaign --features``."""
    from dronesense.products.features import write_features
    from dronesense.programs import campaign_features

    out = Path(args.out)
    if out.suffix not in (".nc", ".zarr"):
        raise InputError("output must end in .nc or .zarr", path=out)
    feats = campaign_features(
        args.inputs, stations=args.stations, station_positions=args.station_positions,
        station_utc_offset=args.station_utc_offset, quantities=[args.quantity],
        n_folds=args.folds, history=command_history("campaign"), bin_height=args.bin_height,
        rh_limit=args.rh_limit, hygroscopic=args.hygroscopic)
    write_features(feats, out)
    folds = int(feats["fold"].max()) + 1
    days = len({str(t)[:10] for t in feats["time"].values})
    print(f"{feats.sizes['flight']} flights on {days} days, {folds} folds by day")
    q = args.quantity
    for i in range(feats.sizes["flight"]):
        mlh = float(feats["mixing_layer_height"].values[i])
        st = float(feats[f"{q}_station"].values[i])
        print(f"  {str(feats['time'].values[i])[:16]}Z fold {int(feats['fold'].values[i])}: "
              f"mixing layer {'n/a' if not math.isfinite(mlh) else f'{mlh:.0f} m'}, "
              f"{q} column {float(feats[f'{q}_column_mean'].values[i]):.3g}"
              + (f", station {st:.3g}" if math.isfinite(st) else ""))
    print(f"wrote {out}")
    return 0
