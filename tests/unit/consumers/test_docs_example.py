"""The "write your own consumer" example of docs/architecture.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from banktwin.consumers.consumer import Consumer
from banktwin.log.memory import InMemoryEventLog
from banktwin.store.kv_memory import InMemoryKeyValueStore
from tests.factories import event, new_id

DOC = Path(__file__).parents[3] / "docs" / "architecture.md"


def example_engine() -> Any:
    """The example's code up to where it starts consuming, executed."""
    section = DOC.read_text().split("### Write your own consumer", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "the example is a python code block"
    definitions = code.group(1).split("\nconsumer = ", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(definitions, str(DOC), "exec"), namespace)
    return namespace["LoginCounter"]


def test_the_documented_engine_counts_logins_once_across_restarts() -> None:
    login_counter = example_engine()
    log, kv = InMemoryEventLog(partitions=2), InMemoryKeyValueStore()
    customer = new_id()
    login = {"channel": "web"}
    log.append([event("customer.login", customer, login) for _ in range(3)])
    Consumer(log, login_counter(kv), batch_size=2).run_until_caught_up()
    log.append([event("customer.login", customer, login, minutes=5)])
    Consumer(log, login_counter(kv)).run_until_caught_up()  # a restart: from the store
    partition = log.partition_of(customer)
    assert kv.get_many("logins", [f"{partition}/{customer}"]) == {f"{partition}/{customer}": b"4"}
