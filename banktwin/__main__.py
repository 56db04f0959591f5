"""``python -m banktwin`` is the ``banktwin`` command."""

from banktwin.cli import main

main()
