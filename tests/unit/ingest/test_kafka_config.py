"""The connector's consumer configuration: the manual commits the delivery guarantee rests on
cannot be turned off, everything else can be set."""

from __future__ import annotations

import pytest

from banktwin.errors import ConfigurationError
from banktwin.ingest.kafka_source import consumer_config


def test_offsets_are_committed_by_the_connector_only() -> None:
    config = consumer_config("b:9092", "g", {"security.protocol": "SASL_SSL"})
    assert config["enable.auto.commit"] is False and config["enable.auto.offset.store"] is False
    assert config["auto.offset.reset"] == "earliest" and config["group.id"] == "g"
    assert config["security.protocol"] == "SASL_SSL"
    assert (
        consumer_config("b:9092", "g", {"auto.offset.reset": "latest"})["auto.offset.reset"]
        == "latest"
    )


@pytest.mark.parametrize("key", ["enable.auto.commit", "enable.auto.offset.store"])
def test_turning_automatic_commits_on_is_refused_naming_the_option(key: str) -> None:
    with pytest.raises(ConfigurationError, match=f"-X {key}"):
        consumer_config("b:9092", "g", {key: "true"})
