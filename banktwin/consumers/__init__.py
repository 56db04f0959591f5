"""The consumer runtime every engine of the log runs on (see ``docs/architecture.md``)."""
