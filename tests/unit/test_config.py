"""Where the settings put the log and the state store when they are not given."""

from __future__ import annotations

from pathlib import Path

import pytest

from banktwin.config import Settings, load_settings
from banktwin.errors import ConfigurationError


@pytest.mark.parametrize(
    ("log_url", "store_url"),
    [
        (None, "sqlite:///data/twin-state.db"),
        ("sqlite:///data/events.db?partitions=2", "sqlite:///data/events-state.db"),
        ("sqlite:////srv/bank/twin.db", "sqlite:////srv/bank/twin-state.db"),
        ("postgresql://twin@db/bank?schema=t", "postgresql://twin@db/bank?schema=t"),
        ("memory://", "sqlite:///data/twin-state.db"),
    ],
)
def test_a_sqlite_log_gets_its_state_store_in_a_file_of_its_own(
    log_url: str | None, store_url: str
) -> None:
    settings = Settings(data_dir=Path("data"), log_url=log_url)
    assert settings.event_log_url == (log_url or "sqlite:///data/twin.db")
    assert settings.state_store_url == store_url


def test_a_given_store_url_is_kept() -> None:
    settings = Settings(log_url="sqlite:///a.db", store_url="sqlite:///a.db")
    assert settings.state_store_url == "sqlite:///a.db"


def test_partitions_name_the_setting_when_malformed() -> None:
    assert load_settings(partitions="0,2").owned_partitions == [0, 2]
    assert load_settings().owned_partitions is None
    with pytest.raises(ConfigurationError, match=r"BANKTWIN_PARTITIONS \(--partitions\)"):
        load_settings(partitions="0;2")
