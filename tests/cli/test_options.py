"""Command-line option parsers: one --lag grammar, numbers, spacings, positions."""

import pytest

from dronesense.cli.options import parse_floats, parse_lags, parse_latlon, parse_spacing
from dronesense.errors import InputError
from dronesense.flight.lag import split_lags


def test_parse_lag_option():
    assert split_lags(parse_lags(["ch4=1.5,pm2p5=auto"])) == ({"ch4": 1.5}, {"pm2p5"}, False)
    with pytest.raises(InputError):
        parse_lags(["ch4=soon"])


@pytest.mark.parametrize("text", ["ch4=nan", "ch4=inf", "ch4", "=2", "ch4=auto,auto"])
def test_parse_lags_refuses(text):
    with pytest.raises(InputError, match="--lag"):
        parse_lags([text])


def test_live_lags_are_numbers():
    assert parse_lags(["ch4=2.5"], allow_auto=False) == {"ch4": 2.5}
    with pytest.raises(InputError, match="number of seconds"):
        parse_lags(["ch4=auto"], allow_auto=False)
    assert parse_lags(None) is None


def test_numbers():
    assert parse_spacing("4") == (4.0, 4.0, 4.0)
    assert parse_spacing("10,10,5") == (10.0, 10.0, 5.0)
    assert parse_latlon("50.9934,6.9877", "--source") == (50.9934, 6.9877)
    with pytest.raises(InputError, match="--region: expected 6 numbers"):
        parse_floats("1,2", 6, "--region")
    with pytest.raises(InputError, match="finite"):
        parse_spacing("nan")
