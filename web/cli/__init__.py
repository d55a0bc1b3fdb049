"""The `paroles` command line, one module per command group."""
