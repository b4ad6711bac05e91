"""A stack plume: CO2 and other gases leaving one chimney at known molar ratios.

A ``[[stack]]`` table of the field file becomes one Gaussian plume (``[[plume]]``) per gas,
all from the same point with the same dispersion, so that downwind the enhancement of every
gas over its background is the stack's molar ratio times the CO2 enhancement, everywhere::

    [[stack]]
    lat = 37.5000
    lon = 126.9000
    stack_height = 40.0      # m
    co2_emission = 2000.0    # g/s of CO2
    stability = "D"          # optional, default the [wind] stability
    [stack.ratios]           # mol of the gas per mol of CO2 in the flue gas
    so2 = 0.002
    co = 0.0005

This is the truth an emission-factor estimate is tested against: ``ratio`` in mol/mol, i.e.
``ratio * M_gas / M_CO2`` grams of the gas per gram of CO2.

Examples
--------
>>> tables = plume_tables([{"lat": 37.5, "lon": 126.9, "stack_height": 40.0,
...                         "co2_emission": 2000.0, "ratios": {"so2": 0.002}}], "f")
>>> [(t["quantity"], round(t["emission"], 3)) for t in tables]
[('co2', 2000.0), ('so2', 5.823)]
"""

from __future__ import annotations

from .errors import SimError

#: molar masses (g/mol) of the gases a stack emits
MOLAR_MASS = {"co2": 44.01, "co": 28.01, "so2": 64.07, "no2": 46.01, "ch4": 16.04,
              "nh3": 17.03, "h2s": 34.08, "no": 30.01}


def plume_tables(stacks: list[dict], source: str) -> list[dict]:
    """The ``[[plume]]`` tables of the ``[[stack]]`` tables of a field file."""
    out = []
    for i, t in enumerate(stacks):
        where = f"{source}: stack {i + 1}"
        if not isinstance(t, dict):
            raise SimError(f"{where}: must be a table")
        for key in ("lat", "lon", "stack_height", "co2_emission"):
            v = t.get(key)
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise SimError(f"{where}: {key} must be a number, got {v!r}")
        extra = set(t) - {"lat", "lon", "stack_height", "co2_emission", "stability", "ratios"}
        if extra:
            raise SimError(f"{where}: unknown key {sorted(extra)[0]!r}")
        ratios = t.get("ratios", {})
        if not isinstance(ratios, dict):
            raise SimError(f"{where}: ratios must be a table gas = mol per mol of CO2")
        base = {k: t[k] for k in ("lat", "lon", "stack_height")}
        if "stability" in t:
            base["stability"] = t["stability"]
        q_co2 = float(t["co2_emission"])
        out.append({**base, "quantity": "co2", "emission": q_co2})
        for gas, ratio in ratios.items():
            if gas not in MOLAR_MASS:
                raise SimError(f"{where}: no molar mass for {gas!r} (know "
                               f"{', '.join(sorted(MOLAR_MASS))})")
            if isinstance(ratio, bool) or not isinstance(ratio, int | float) or ratio < 0:
                raise SimError(f"{where}: ratio of {gas} must be a number >= 0")
            emission = q_co2 / MOLAR_MASS["co2"] * float(ratio) * MOLAR_MASS[gas]
            out.append({**base, "quantity": gas, "emission": emission})
    return out
