"""The simulator: a habitant's phone in the terminal or a web page, showing what SMS would show.

Sending only marks the row as sent: the outbox rows themselves are what the simulator displays.
"""

from __future__ import annotations

from dataclasses import dataclass

from bots.channels import Outgoing, register
from bots.runtime import Runtime
from bots.sms_text import render_sms

NAME = "simulator"


def render(message: Outgoing) -> str:
    """Exactly the text an SMS would carry."""
    return render_sms(message.text, message.choices, numbered=message.expects != "scale")


@dataclass
class SimulatorChannel:
    name: str = NAME
    rate_per_second: float = 1000.0

    def send(self, message: Outgoing) -> str:
        return f"sim-{message.message_id}"


@register(NAME)
def make(runtime: Runtime) -> SimulatorChannel:
    return SimulatorChannel()
