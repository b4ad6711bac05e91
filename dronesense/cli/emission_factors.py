"""``dronesense emission-factors``: carbon-balance emission factors of a stack plume flight.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> a = p.parse_args(["emission-factors", "f.tlog", "--gas", "so2", "--cems", "tms.csv"])
>>> a.input, a.gases, a.cems, a.co2
('f.tlog', ['so2'], 'tms.csv', 'co2')
"""

from __future__ import annotations

from dronesense.cli.options import command_history, finite, non_negative, output_file, positive
from dronesense.errors import InputError

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``emission-factors`` sub-command."""
    p = subparsers.add_parser(
        "emission-factors", help="stack plume: emission ratios to CO2 and carbon-balance "
                                 "emission factors (g/kg C) per pass and per flight",
        description="Find the plume passes of a flight by the CO2 enhancement, integrate each "
                    "gas over each pass and give its emission ratio to CO2 and its emission "
                    "factor (grams per kilogram of carbon burned) with uncertainties; "
                    "compare with the stack's own CEMS/TMS readings. See docs/programs.md.")
    p.add_argument("input", help="samples .nc / .csv, session directory, or a flight log")
    p.add_argument("--gas", dest="gases", action="append",
                   help="gas quantity key (repeatable; default: every gas but CO2)")
    p.add_argument("--co2", default="co2", help="the CO2 quantity key (co2)")
    p.add_argument("--threshold", type=non_negative, metavar="PPM",
                   help="CO2 enhancement marking the plume, ppm (default: 3 background "
                        "standard deviations)")
    p.add_argument("--merge", dest="merge_s", type=non_negative, default=5.0, metavar="S",
                   help="join passes closer than this, s (5)")
    p.add_argument("--pad", dest="pad_s", type=non_negative, default=3.0, metavar="S",
                   help="widen each pass by this on both sides, s (3)")
    p.add_argument("--min-pass", dest="min_pass_s", type=non_negative, default=2.0,
                   metavar="S", help="shortest pass above the threshold, s (2)")
    p.add_argument("--carbon-fraction", type=positive, metavar="F",
                   help="carbon mass fraction of the fuel (0-1): factors per kg of fuel too")
    p.add_argument("--cems", metavar="CSV", help="the stack's own readings (CEMS / TMS)")
    p.add_argument("--cems-utc-offset", type=finite, default=0.0, metavar="H",
                   help="hours the CEMS times are ahead of UTC (0; 9 for Korean TMS)")
    p.add_argument("--out", "-o", type=output_file,
                   metavar="EF.nc", help="write the result (netCDF)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``dronesense emission-factors``."""
    from dronesense.programs import stack_emission_factors

    if args.out and not args.out.endswith(".nc"):
        raise InputError("--out must end in .nc", path=args.out)
    res = stack_emission_factors(args.input, args.gases, co2=args.co2, cems=args.cems,
                                 cems_utc_offset=args.cems_utc_offset,
                                 threshold=args.threshold, merge_s=args.merge_s,
                                 pad_s=args.pad_s, min_pass_s=args.min_pass_s,
                                 carbon_fraction=args.carbon_fraction,
                                 history=command_history("emission-factors"))
    print(f"{res.sizes['pass']} plume passes; CO2 background {res.attrs['co2_background_ppm']} "
          f"ppm, threshold {res.attrs['co2_threshold_ppm']} ppm")
    gases = [k.removesuffix("_flight_emission_ratio") for k in res.data_vars
             if k.endswith("_flight_emission_ratio")]
    for g in gases:
        er, eru = float(res[f"{g}_flight_emission_ratio"]), \
            float(res[f"{g}_flight_emission_ratio_uncertainty"])
        ef, efu = float(res[f"{g}_flight_emission_factor"]), \
            float(res[f"{g}_flight_emission_factor_uncertainty"])
        line = (f"{g}: d{g.upper()}/dCO2 = {er:.4g} ± {eru:.2g} mol/mol, "
                f"EF = {ef:.4g} ± {efu:.2g} g/kg C")
        if f"{g}_cems_emission_ratio" in res:
            line += (f"; stack monitor {float(res[f'{g}_cems_emission_ratio']):.4g} mol/mol "
                     f"(drone/stack {float(res[f'{g}_drone_over_cems']):.3f})")
        print(line)
    if args.out:
        try:
            res.to_netcdf(args.out)
        except OSError as err:
            raise InputError(f"cannot write: {err.strerror or err}", path=args.out) from None
        print(f"wrote {args.out}")
    return 0
