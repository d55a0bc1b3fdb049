"""The HTTP endpoints the channels' providers call (`/hooks/...`), one module per channel.

Each view authenticates the provider (secret header or signature) before reading anything,
records the parsed `Inbound` (`bots.inbound.record`: one INSERT, nothing else) and answers at
once; the drain (`bots.inbound.process_inbound`, in the worker) makes the dialogue step.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
