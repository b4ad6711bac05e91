"""A CSV track with a time of -1e308 ms (found by the fuzzer: an OverflowError) skips that
row with a note naming its line; the other rows are read."""

from __future__ import annotations

from dronesense.events import Fix, Reading, TimeSync
from dronesense.sources.csvtrack import CsvMap, read_csv_track


def test_time_of_minus_1e308_is_skipped_with_a_note(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("t,lat,lon,alt,pm\n"
                    "1714557600,52.0,5.0,40,12\n"
                    "-1e305,52.0,5.0,40,13\n"  # -1e308 ms
                    "1714557601,52.0,5.001,40,14\n"
                    "1e305,52.0,5.0,40,15\n")
    cmap = CsvMap(time="t", time_format="unix_s", lat="lat", lon="lon", alt="alt",
                  values={"pm": ("pm2p5", 1.0)})
    track = read_csv_track(path, cmap)
    sync = [e for _, e in track.events if isinstance(e, TimeSync)]
    assert [s.time_unix_usec for s in sync] == [1_714_557_600_000_000]
    assert [e.value for _, e in track.events if isinstance(e, Reading)] == [12.0, 14.0]
    assert len([e for _, e in track.events if isinstance(e, Fix)]) == 2
    assert any("lines 3, 5" in n and "skipped" in n for n in track.notes), track.notes
