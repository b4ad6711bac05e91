"""Write sample rows to CF netCDF (trajectory), CSV or Parquet.

The format follows the file suffix: ``.nc`` goes through :func:`dronesense.samples.to_dataset`
(CF discrete sampling geometry, ``featureType = "trajectory"``), ``.csv`` is the
``samples.csv`` journal format, ``.parquet`` is the same columns with the units of each
quantity and the provenance in the file's key-value metadata.

Examples
--------
>>> import tempfile, os
>>> from dronesense.samples import SampleRow
>>> row = SampleRow("2024-05-01T10:00:00.000000Z", 1000, 0, 1, 52.0, 5.0, 40.0, 30.0,
...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
>>> out = write_samples([row], os.path.join(tempfile.mkdtemp(), "s.parquet"), history="test")
>>> import pandas as pd
>>> pd.read_parquet(out)["value"].tolist()
[1.9]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from dronesense.errors import InputError
from dronesense.samples import COLUMNS, SampleRow

__all__ = ["FORMATS", "write_samples"]

#: Output suffixes understood by :func:`write_samples`.
FORMATS = (".nc", ".csv", ".parquet")


def write_samples(rows: Sequence[SampleRow], path: str | Path, *, names=None,
                  history: str = "", source: str = "") -> Path:
    """Write rows to ``path``; the suffix picks the format (see :data:`FORMATS`).

    Raises
    ------
    InputError
        For an unknown suffix or a file that cannot be written.
    """
    from dronesense import samples

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"output must end in {', '.join(FORMATS)}", path=path)
    try:
        if suffix == ".nc":
            ds = samples.to_dataset(rows, names, history=history, source=source)
            ds.to_netcdf(path)
        elif suffix == ".csv":
            with samples.JournalWriter(path) as journal:
                journal.write(rows)
        else:
            _write_parquet(rows, path, history=history, source=source)
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror or err}", path=path) from None
    return path


def _write_parquet(rows, path: Path, *, history: str, source: str) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dronesense import __version__

    df = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    for col in ("time_boot_ms", "lat", "lon", "alt_amsl", "height", "value", "position_gap"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df["time"] = pd.to_datetime(df["time_utc"].str.rstrip("Z"), errors="coerce", utc=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    units = {q: u for q, u in zip(df["quantity"], df["units"], strict=True)}
    meta = dict(table.schema.metadata or {})
    meta.update({
        b"dronesense": json.dumps({
            "featureType": "trajectory", "history": history, "source": source,
            "dronesense_version": __version__, "units": units,
            "columns": {"lat": "degrees_north", "lon": "degrees_east", "alt_amsl": "m",
                        "height": "m", "position_gap": "s", "time_boot_ms": "ms"},
        }).encode(),
    })
    pq.write_table(table.replace_schema_metadata(meta), path)
