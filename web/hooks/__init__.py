"""The HTTP endpoints the channels' providers call (`/hooks/...`), one module per channel.

Each view authenticates the provider (secret header or signature) before reading anything,
hands a parsed `Inbound` to `bots.handler.handle_inbound`, and answers at once.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
