"""Sample rows as columns: what the batch pairing of a whole log gives, written without a
Python object per row.

:class:`SampleColumns` holds the fields of :class:`~dronesense.flight.rows.SampleRow` as numpy
arrays (UTC as integer UNIX µs, texts as codes into short lists); :meth:`SampleColumns.rows`
gives the rows themselves, identical to those of the streaming engine.

Examples
--------
>>> from dronesense.flight.rows import SampleRow
>>> row = SampleRow("2024-05-01T10:00:00.500000Z", 500.0, 0, 1, 52.0, 5.0, 40.0, 30.0,
...                 "ch4", "CH4", 1.9, "1e-6", 0.1, 0, "sync")
>>> cols = SampleColumns.from_rows([row])
>>> len(cols), cols.rows() == [row], cols.column("quantity").tolist()
(1, True, ['ch4'])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dronesense.flight.rows import SampleRow, format_utc

__all__ = ["TIME_SOURCES", "SampleColumns"]

#: ``time_source`` codes: 0 none, 1 ``sync``, 2 ``receive``.
TIME_SOURCES = ("", "sync", "receive")


@dataclass
class SampleColumns:
    """The columns of sample rows (see :class:`~dronesense.flight.rows.SampleRow`).

    ``unix_us`` with ``has_utc`` stand for ``time_utc``; ``quantity_code``, ``name_code`` index
    :attr:`quantities` (and :attr:`units`) and :attr:`names`; ``time_source`` indexes
    :data:`TIME_SOURCES`; missing floats are NaN.
    """

    unix_us: np.ndarray
    has_utc: np.ndarray
    time_source: np.ndarray
    time_boot_ms: np.ndarray
    boot: np.ndarray
    sysid: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt_amsl: np.ndarray
    height: np.ndarray
    quantity_code: np.ndarray
    name_code: np.ndarray
    value: np.ndarray
    position_gap: np.ndarray
    flag: np.ndarray
    quantities: list[str]
    names: list[str]
    units: list[str]

    def __len__(self) -> int:
        return int(self.value.shape[0])

    @classmethod
    def empty(cls) -> SampleColumns:
        """No rows."""
        return cls.from_rows([])

    @classmethod
    def from_rows(cls, rows: Sequence[SampleRow]) -> SampleColumns:
        """Columns of rows (the streaming engine's output)."""
        n = len(rows)
        tz = np.datetime64("1970-01-01T00:00:00", "us")
        utc = [r.time_utc for r in rows]
        has = np.array([u is not None for u in utc], dtype=bool)
        unix = np.zeros(n, dtype=np.int64)
        if has.any():
            stamps = np.array([u[:-1] for u in utc if u is not None], dtype="datetime64[us]")
            unix[has] = (stamps - tz).astype(np.int64)
        keys = list(dict.fromkeys((r.quantity, r.units) for r in rows))
        names = list(dict.fromkeys(r.name for r in rows))
        kidx = {k: i for i, k in enumerate(keys)}
        nidx = {k: i for i, k in enumerate(names)}

        def f(values):
            return np.array([math.nan if v is None else v for v in values], dtype=float)

        return cls(
            unix_us=unix, has_utc=has,
            time_source=np.array([TIME_SOURCES.index(r.time_source) for r in rows],
                                 dtype=np.int8),
            time_boot_ms=f([r.time_boot_ms for r in rows]),
            boot=np.array([r.boot for r in rows], dtype=np.int32),
            sysid=np.array([r.sysid for r in rows], dtype=np.int32),
            lat=f([r.lat for r in rows]), lon=f([r.lon for r in rows]),
            alt_amsl=f([r.alt_amsl for r in rows]), height=f([r.height for r in rows]),
            quantity_code=np.array([kidx[(r.quantity, r.units)] for r in rows], dtype=np.int32),
            name_code=np.array([nidx[r.name] for r in rows], dtype=np.int32),
            value=f([r.value for r in rows]), position_gap=f([r.position_gap for r in rows]),
            flag=np.array([r.flag for r in rows], dtype=np.int8),
            quantities=[k for k, _ in keys], names=names, units=[u for _, u in keys])

    def column(self, name: str) -> np.ndarray:
        """One column as a :class:`~dronesense.flight.rows.SampleRow` field would hold it
        (texts as object arrays, ``time_utc`` as ISO text or ``None``)."""
        if name == "quantity":
            return np.array([*self.quantities, ""], dtype=object)[self.quantity_code]
        if name == "units":
            return np.array([*self.units, ""], dtype=object)[self.quantity_code]
        if name == "name":
            return np.array([*self.names, ""], dtype=object)[self.name_code]
        if name == "time_source":
            return np.array(TIME_SOURCES, dtype=object)[self.time_source]
        if name == "time_utc":
            return np.array([format_utc(u) if h else None for u, h in
                             zip(self.unix_us.tolist(), self.has_utc.tolist(), strict=True)],
                            dtype=object)
        return getattr(self, name)

    def datetimes(self) -> np.ndarray:
        """``time_utc`` as ``datetime64[ns]`` (NaT where unknown)."""
        t = self.unix_us.astype("datetime64[us]").astype("datetime64[ns]")
        t[~self.has_utc] = np.datetime64("NaT")
        return t

    def rows(self) -> list[SampleRow]:
        """The rows, as the streaming engine makes them."""
        def opt(a):
            return [None if v != v else v for v in a.tolist()]

        cols = [self.column("time_utc").tolist(), self.time_boot_ms.tolist(),
                self.boot.tolist(), self.sysid.tolist(), opt(self.lat), opt(self.lon),
                opt(self.alt_amsl), opt(self.height), self.column("quantity").tolist(),
                self.column("name").tolist(), self.value.tolist(),
                self.column("units").tolist(), opt(self.position_gap), self.flag.tolist(),
                self.column("time_source").tolist()]
        return [SampleRow(*r) for r in zip(*cols, strict=True)]

    def select(self, keep: np.ndarray) -> SampleColumns:
        """The rows where ``keep`` (a boolean mask or indices) says."""
        out = {k: (v[keep] if isinstance(v, np.ndarray) else v)
               for k, v in self.__dict__.items()}
        return SampleColumns(**out)

    @classmethod
    def concat(cls, parts: Sequence[SampleColumns]) -> SampleColumns:
        """The rows of several columns, one after the other."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        keys: dict[tuple[str, str], int] = {}
        names: dict[str, int] = {}
        qcodes, ncodes = [], []
        for p in parts:
            qmap = np.array([keys.setdefault(k, len(keys)) for k in zip(p.quantities, p.units,
                                                                        strict=True)] or [0])
            nmap = np.array([names.setdefault(n, len(names)) for n in p.names] or [0])
            qcodes.append(qmap[p.quantity_code])
            ncodes.append(nmap[p.name_code])
        arrays = {k: np.concatenate([getattr(p, k) for p in parts])
                  for k, v in parts[0].__dict__.items()
                  if isinstance(v, np.ndarray) and k not in ("quantity_code", "name_code")}
        return cls(**arrays, quantity_code=np.concatenate(qcodes).astype(np.int32),
                   name_code=np.concatenate(ncodes).astype(np.int32),
                   quantities=[k for k, _ in keys], names=list(names),
                   units=[u for _, u in keys])

    def count_into(self, pairer) -> None:
        """Add the rows to a :class:`~dronesense.flight.pairing.Pairer`'s ``counts`` and
        ``latest`` as if it had made them (counted on the codes, no object per row)."""
        n = len(self)
        if not n:
            return
        names, units = [*self.quantities, ""], [*self.units, ""]
        totals: dict[str, int] = {}
        per_code = np.bincount(self.quantity_code, minlength=len(names)).tolist()
        for q, c in zip(names, per_code, strict=True):
            if c:
                totals[q] = totals.get(q, 0) + c
        for q in sorted(totals):
            pairer.counts[q] = pairer.counts.get(q, 0) + totals[q]
        # the last row of each (vehicle, quantity), the latest first
        index = {q: i for i, q in enumerate(dict.fromkeys(names))}
        of_code = np.array([index[q] for q in names], dtype=np.int64)
        key = self.sysid.astype(np.int64) * len(index) + of_code[self.quantity_code]
        _, first_from_end = np.unique(key[::-1], return_index=True)
        for i in np.sort(n - 1 - first_from_end)[::-1].tolist():
            code = int(self.quantity_code[i])
            pairer.latest[(int(self.sysid[i]), names[code])] = (float(self.value[i]),
                                                                 units[code])
