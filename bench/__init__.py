"""banktwin's benchmarks: ``python -m bench`` (or ``make bench``). Not part of the tests."""
