"""banktwin: an event-sourced, real-time digital twin of a bank."""

__version__ = "0.1.0"
