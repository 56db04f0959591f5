"""``python -m banktwin`` is the ``banktwin`` command."""

from banktwin.cli import main

if __name__ == "__main__":  # not when a replay process imports this module again (spawn)
    main()
