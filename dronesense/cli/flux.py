"""``dronesense flux``: mass-balance emission rate from a downwind curtain flight.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
>>> register(sub)
>>> a = p.parse_args(["flux", "f.tlog", "-q", "ch4", "--wind", "3@240", "--out", "f.nc"])
>>> a.input, a.quantity, a.wind, a.out
('f.tlog', 'ch4', '3@240', 'f.nc')
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from dronesense.cli.options import (
    add_log_options,
    add_range_option,
    finite,
    log_options,
    non_negative,
    output_file,
    parse_floats,
    parse_latlon,
    plausible_ranges,
    positive,
    probability,
)
from dronesense.errors import InputError, ParameterError

__all__ = ["register", "run"]

#: Parameters of the wind profile -> the options that set them.
_WIND_OPTIONS = {"exponent": "wind_exponent", "reference_height": "wind_height"}


def register(subparsers) -> None:
    """Add the ``flux`` sub-command."""
    p = subparsers.add_parser(
        "flux", help="emission rate (g/s, kg/h) from a downwind curtain (mass balance)",
        description="Estimate a source's emission rate from the samples of a downwind "
        "curtain flight: project on the curtain plane, subtract the background, interpolate "
        "the enhancement on a (distance, height) grid, multiply by the wind normal to the "
        "curtain and integrate. See docs/flux.md.",
    )
    p.add_argument("input", help="samples .nc / .csv, session directory, or a flight log "
                                 "(.tlog, .bin, .ulg: paired first)")
    p.add_argument("--quantity", "-q", required=True, help="quantity key (ch4, co2, pm2p5...)")
    p.add_argument("--wind", metavar="SPEED[±E]@FROM_DEG[±E]|FILE",
                   help="wind at --wind-height (m/s) and the direction it comes from, or a "
                   "wind time-series file read with --wind-map (a mast, a ground sonic, a "
                   "sonic on the drone, the track CSV's own wind columns); default: the "
                   "autopilot's WIND messages in the log")
    p.add_argument("--wind-map", metavar="MAP.toml",
                   help="the [wind] map of the --wind file (columns, units, height)")
    p.add_argument("--window", metavar="START/END",
                   help="only samples between these UTC times (ISO 8601, e.g. "
                   "2023-04-19T07:20:00Z/2023-04-19T07:25:30Z; either side may be empty)")
    p.add_argument("--box", action="store_true",
                   help="a box flight around an area source (dronesense mission box-flux): "
                   "the net flux out through its walls, the inflow subtracted")
    p.add_argument("--curtain", type=int, metavar="N",
                   help="with several curtains in the flight: estimate only curtain N "
                   "(0 = first flown); default each, and a combined figure where valid")
    p.add_argument("--wind-log", metavar="TLOG",
                   help="read the WIND messages from this .tlog (input is a samples file)")
    p.add_argument("--wind-height", type=positive, default=10.0, metavar="M",
                   help="reference height of the wind speed, m (10)")
    p.add_argument("--wind-exponent", type=finite, metavar="P",
                   help="power-law exponent of the wind profile (default 0 with --wind; "
                   "with WIND messages it asks for one fitted profile with this exponent)")
    p.add_argument("--wind-profile", action="store_true",
                   help="fit one power-law profile to the WIND messages instead of giving "
                   "each sample the wind reported at its own time (the default)")
    p.add_argument("--background", default="edges", metavar="VALUE[±E]|edges|percentile",
                   help="background in the quantity's units, or how to estimate it "
                   "(default: edges, the outer --edge-fraction of the curtain)")
    p.add_argument("--edge-fraction", type=probability, default=0.1, metavar="F",
                   help="fraction of the curtain width at each end for the background (0.1)")
    p.add_argument("--percentile", type=non_negative, default=5.0,
                   help="percentile for --background percentile (5)")
    p.add_argument("--method", default="idw", choices=["idw", "kriging", "block"],
                   help="interpolation on the curtain (default idw)")
    p.add_argument("--spacing", default="5,2.5", metavar="DS,DZ",
                   help="cell size along the curtain and in height, m (5,2.5)")
    p.add_argument("--ground", default="constant", choices=["constant", "zero"],
                   help="below the lowest pass: its values down to the ground (default) or 0")
    p.add_argument("--source", metavar="LAT,LON", help="the source: checks the curtain is "
                                                       "downwind of it")
    p.add_argument("--line", metavar="LAT1,LON1:LAT2,LON2",
                   help="the curtain line (default fitted to the samples)")
    p.add_argument("--max-offset", type=positive, default=20.0, metavar="M",
                   help="use samples within this distance of the curtain plane, m (20)")
    p.add_argument("--molar-mass", type=positive, metavar="G_PER_MOL",
                   help="molar mass of a gas dronesense does not know")
    add_log_options(p)
    add_range_option(p)
    p.add_argument("--no-jackknife", action="store_true",
                   help="skip the pass jackknife (interpolation uncertainty)")
    p.add_argument("--out", type=output_file, metavar="flux.nc|flux.json",
                   help="write the product (CF netCDF grids, or JSON summary + grids)")
    p.add_argument("--plot", metavar="FIG.png", help="figure of the curtain")
    p.set_defaults(func=run)


def _background(text: str) -> tuple[float | None, float, str]:
    t = text.strip().lower()
    if t in ("edges", "percentile"):
        return None, 0.0, t
    for sep in ("±", "+/-", "+-"):
        if sep in t:
            a, b = t.split(sep, 1)
            break
    else:
        a, b = t, "0"
    try:
        return float(a), float(b), "given"
    except ValueError:
        raise InputError(f"--background: expected a number, VALUE±ERR, edges or percentile, "
                         f"got {text!r}") from None


def _line(text: str):
    try:
        a, b = text.split(":")
    except ValueError:
        raise InputError(f"--line: expected LAT1,LON1:LAT2,LON2, got {text!r}") from None
    return parse_latlon(a, "--line"), parse_latlon(b, "--line")


def _load(args):
    """(samples Dataset, the log that may hold the wind or None: a tlog's WIND messages, a
    PX4 ULog's wind topic)."""
    from dronesense.samples.files import load_dataset, samples_kind
    from dronesense.sources.logs import detect_kind
    from dronesense.sources.session_folder import SessionFolder

    path = Path(args.input)
    ranges = plausible_ranges(args) or None
    # None: a flight log (or a session without samples, or one paired again for --range)
    kind = samples_kind(path, prefer_journal=ranges is None)
    tlog = None
    if path.is_dir():
        folder = SessionFolder(path)
        tlog = folder.tlog if folder.is_session() else None
    elif kind is None and detect_kind(path) in ("tlog", "ulog"):
        tlog = path
    if kind is None:
        return load_dataset(path, prefer_journal=False, ranges=ranges,
                            **log_options(args)), tlog
    return load_dataset(path, ranges=ranges), tlog  # samples: refused with ranges


def _log_path(args) -> Path | None:
    """The input when it is a flight log that holds no wind (a DataFlash log or a CSV
    track), to name it in the no-wind error."""
    from dronesense.samples.files import samples_kind

    path = Path(args.input)
    return path if not path.is_dir() and samples_kind(path) is None else None


def _window(text: str | None):
    """``START/END`` -> (start, end), either ``None`` when empty."""
    if not text:
        return None
    if text.count("/") != 1:
        raise InputError(f"--window: expected START/END (ISO 8601 UTC), got {text!r}")
    start, end = (part.strip() or None for part in text.split("/"))
    return start, end


def _wind(args, tlog: Path | None, samples=None):
    """The wind: ``--wind`` (a value, or a file with ``--wind-map``), or the WIND messages of
    ``--wind-log`` or the input (per sample, or one fitted profile with ``--wind-profile`` or
    ``--wind-exponent``)."""
    from dronesense.api import read_wind, wind_from_logs
    from dronesense.products.flux.wind import as_wind

    if args.wind_map and not args.wind:
        raise InputError("--wind-map: give the wind file as --wind FILE")
    if args.wind and args.wind_map:
        path = Path(args.wind)
        if not path.is_file():
            raise InputError("no such wind file (--wind)", path=path)
        if not Path(args.wind_map).is_file():
            raise InputError("no such wind map (--wind-map)", path=args.wind_map)
        return read_wind(path, Path(args.wind_map))
    if args.wind and Path(args.wind).is_file():
        raise InputError(f"--wind {args.wind}: a wind file needs --wind-map MAP.toml saying "
                         "which columns hold the wind")
    if args.wind:
        return as_wind(args.wind, reference_height=args.wind_height,
                       exponent=args.wind_exponent or 0.0)
    log = Path(args.wind_log) if args.wind_log else tlog
    if log is None:
        source = _log_path(args)
        if source is not None:
            raise InputError("no wind: this log has no MAVLink WIND messages; give --wind "
                             "SPEED@FROM_DEG (or --wind-log TLOG)", path=source)
        raise InputError("no wind: give --wind SPEED@FROM_DEG (or --wind-log TLOG with "
                         "WIND messages)")
    if not log.exists():
        raise InputError("no such file", path=log)
    wind = wind_from_logs([log], reference_height=args.wind_height,
                          exponent=args.wind_exponent, per_sample=not args.wind_profile,
                          samples=samples)
    if wind is None:
        raise InputError("no WIND messages in flight: give --wind SPEED@FROM_DEG", path=log)
    return wind


def run(args) -> int:
    """Estimate the emission, print the summary, write the product and figure."""
    from dronesense.products.flux.estimate import estimate_flux
    from dronesense.products.flux.inputs import usable_samples

    samples, tlog = _load(args)
    usable_samples(samples, args.quantity)  # the quantity is there, before asking for the wind
    try:
        wind = _wind(args, tlog, samples)
    except ParameterError as err:
        if err.parameter in _WIND_OPTIONS:
            raise ParameterError(_WIND_OPTIONS[err.parameter], err.detail) from None
        raise
    if hasattr(wind, "time"):
        print(f"wind: time series, {wind.source}")
    spacing = parse_floats(args.spacing, 2, "--spacing")
    value, err, how = _background(args.background)
    command = "dronesense flux " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    if args.box:
        from dronesense.products.flux.box import estimate_box_flux

        result = estimate_box_flux(
            samples, args.quantity, wind=wind, background=value, background_error=err,
            method=args.method, spacing=spacing, ground=args.ground,
            molar_mass=args.molar_mass,
            source=parse_latlon(args.source, "--source") if args.source else None,
            window=_window(args.window), wind_exponent=args.wind_exponent or 0.0,
            jackknife=not args.no_jackknife, history=command)
        return _report(result, args)
    result = estimate_flux(
        samples, args.quantity, wind=wind, background=value, background_error=err,
        background_method=how if how != "given" else "edges",
        edge_fraction=args.edge_fraction, percentile=args.percentile, method=args.method,
        spacing=spacing, ground=args.ground,
        source=parse_latlon(args.source, "--source") if args.source else None,
        line=_line(args.line) if args.line else None, max_offset=args.max_offset,
        molar_mass=args.molar_mass, jackknife=not args.no_jackknife,
        history=command, window=_window(args.window), curtain=args.curtain,
        wind_exponent=args.wind_exponent or 0.0)
    return _report(result, args)


def _report(result, args) -> int:
    """Print the summary, write the product and the figure."""
    from dronesense.products.flux.io import plot_flux, write_flux

    for line in result.lines():
        print(line)
    if args.out:
        write_flux(result, args.out)
        print(f"wrote {args.out}")
    if args.plot:
        plot_flux(result, args.plot)
        print(f"wrote {args.plot}")
    return 0
