"""``dronesense profile``: the vertical profile product of a flight, against a ground station.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> a = p.parse_args(["profile", "f.tlog", "--stations", "st.csv", "-o", "p.nc"])
>>> a.input, a.stations, a.bin_height, a.rh_limit, a.out
('f.tlog', 'st.csv', 10.0, 80.0, 'p.nc')
"""

from __future__ import annotations

import math

from dronesense.cli.options import command_history, finite, output_file, positive
from dronesense.errors import InputError
from dronesense.quantities import display_units

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``profile`` sub-command."""
    p = subparsers.add_parser(
        "profile", help="vertical profile of a flight: height bins, mixing-layer height, "
                        "inversion, humidity check, nearest ground station",
        description="Bin every quantity of a profile flight by height, find the mixing-layer "
                    "height (gradient method) with its uncertainty, the inversion and the "
                    "column means, flag (or correct) particle readings in humid air, and "
                    "compare the lowest levels with the nearest ground station at the same "
                    "hour. See docs/programs.md.")
    p.add_argument("input", help="samples .nc / .csv, session directory, or a flight log")
    p.add_argument("--bin", dest="bin_height", type=positive, default=10.0, metavar="M",
                   help="height of the bins, m (10)")
    p.add_argument("--quantity", "-q", dest="quantities", action="append",
                   help="quantity to profile (repeatable; default: all)")
    p.add_argument("--mlh-quantity", help="quantity whose fall marks the mixing-layer top "
                                          "(default: pm2p5, pm10, pm1, humidity, ...)")
    p.add_argument("--rh-limit", type=finite, default=80.0, metavar="PCT",
                   help="flag particle readings above this relative humidity, %% (80)")
    p.add_argument("--hygroscopic", action="store_true",
                   help="correct particle readings for hygroscopic growth (kappa-Koehler)")
    p.add_argument("--kappa", type=positive, default=0.4, help="hygroscopicity kappa (0.4)")
    p.add_argument("--particle-density", type=positive, default=1.65, metavar="G_CM3",
                   help="dry particle density, g cm-3 (1.65)")
    p.add_argument("--stations", metavar="CSV", help="hourly ground-station readings "
                                                      "(AirKorea or EEA layout)")
    p.add_argument("--station-positions", metavar="CSV",
                   help="station_id,lat,lon of the stations, if the readings lack them")
    p.add_argument("--utc-offset", type=finite, metavar="H", dest="station_utc_offset",
                   help="hours the station times are ahead of UTC (default 9 for AirKorea)")
    p.add_argument("--lowest", type=positive, default=20.0, metavar="M",
                   help="depth of the lowest levels compared with the station, m (20)")
    p.add_argument("--max-distance", type=positive, metavar="M",
                   help="farthest station compared, m (default: any)")
    p.add_argument("--out", "-o", type=output_file,
                   metavar="PROFILE.nc", help="write the profile (netCDF)")
    p.add_argument("--plot", metavar="FIG.png",
                   help="figure of the profile with the station value")
    p.set_defaults(func=run)


def _fmt(value: float, units: str = "", digits: int = 3) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}g} {units}".rstrip()


def run(args) -> int:
    """Run ``dronesense profile``."""
    from dronesense.programs import city_profile

    if args.out and not args.out.endswith(".nc"):
        raise InputError("the profile is written as netCDF: --out must end in .nc",
                         path=args.out)
    prof = city_profile(args.input, stations=args.stations,
                        station_positions=args.station_positions,
                        station_utc_offset=args.station_utc_offset, lowest=args.lowest,
                        max_distance=args.max_distance, bin_height=args.bin_height,
                        quantities=args.quantities, mlh_quantity=args.mlh_quantity,
                        rh_limit=args.rh_limit, hygroscopic=args.hygroscopic,
                        kappa=args.kappa, particle_density=args.particle_density,
                        history=command_history("profile"))
    print(f"{prof.sizes['z']} bins of {args.bin_height:g} m, top {float(prof.z_bounds[-1, 1]):g} m")
    print(f"mixing-layer height: {_fmt(float(prof.mixing_layer_height), 'm')} "
          f"± {_fmt(float(prof.mixing_layer_height_uncertainty), 'm', 2)} "
          f"({prof.attrs.get('mixing_layer_quantity', '')})")
    print(f"inversion: {_fmt(float(prof.inversion_strength), 'K', 2)} from "
          f"{_fmt(float(prof.inversion_base), 'm')} to {_fmt(float(prof.inversion_top), 'm')}")
    for k in [v.removesuffix("_column_mean") for v in prof.data_vars
              if v.endswith("_column_mean")]:
        units = display_units(prof[k].attrs.get("units", ""), k) if prof[k].attrs.get(
            "units") else ""
        line = f"{k}: column mean {_fmt(float(prof[k + '_column_mean']), units)}"
        if f"{k}_humid_fraction" in prof:
            frac = prof[f"{k}_humid_fraction"].values
            n = int((frac > 0).sum())
            line += f", {n} bins with readings above {args.rh_limit:g} % RH"
        if f"{k}_station" in prof:
            line += (f"; lowest {args.lowest:g} m {_fmt(float(prof[k + '_lowest']))} vs station "
                     f"{_fmt(float(prof[k + '_station']))} (ratio "
                     f"{_fmt(float(prof[k + '_station_ratio']))})")
        print(line)
    if "station_comparison" in prof.attrs:
        print(prof.attrs["station_comparison"])
    if args.out:
        try:
            prof.to_netcdf(args.out)
        except OSError as err:
            raise InputError(f"cannot write: {err.strerror or err}", path=args.out) from None
        print(f"wrote {args.out}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from dronesense.products.profile_station import plot_station_comparison

        key = prof.attrs.get("mixing_layer_quantity") or next(
            v.removesuffix("_column_mean") for v in prof.data_vars if v.endswith("_column_mean"))
        ax = plot_station_comparison(prof, key)
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
        plt.close(ax.figure)
        print(f"wrote {args.plot}")
    return 0
