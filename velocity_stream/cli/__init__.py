"""The ``velocity-stream`` command line: one module per command group, all thin."""
