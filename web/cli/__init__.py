"""The `paroles` command line, one module per command group (`web.cli.main` puts them together).

Nothing in the app imports this package: the commands build the app (`create_app`) and act on
it, never the other way round.
"""

from __future__ import annotations

from flask import current_app

from bots.runtime import Runtime


def current_runtime() -> Runtime:
    """The runtime of the app the command runs in."""
    runtime: Runtime = current_app.extensions["paroles"]
    return runtime
