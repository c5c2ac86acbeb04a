"""The ``ipad-iqa`` command line: one entry point, one module per subcommand."""
