"""The channel registry: one small module per channel, registered here and nowhere else.

A channel turns a provider's payload into `bots.handler.Inbound` (in its own adapter) and sends
one outbox row (`send`). The engine knows nothing of channels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bots.runtime import Runtime
from storage.config import Settings


@dataclass(frozen=True)
class Outgoing:
    """One outbox row, ready to send: the address is decrypted only for this."""

    message_id: int
    address: str
    text: str
    choices: tuple[str, ...] = ()
    expects: str = "none"
    kind: str = "reply"  # reply, invitation, reminder, retour... (`Message.kind`)
    participant_id: int | None = None


@dataclass(frozen=True)
class Sent:
    """What a provider accepted: its id, and the paid units it counts (SMS segments, WhatsApp
    conversations opened) when the channel is a paid one (`bots.budget`)."""

    provider_id: str
    units: int | None = None
    price: float | None = None  # what the provider says it charged (positive), when it says
    price_unit: str | None = None


class SendError(Exception):
    """A send failed. `transient` ones are retried; `unreachable` marks the participant.

    `ambiguous`: the provider may have accepted the message all the same (it answered 5xx, or
    its answer never came back). Such a failure is settled like an interrupted send, by the
    channel's `find_sent`, before any retry (see `bots.outbox`).
    """

    def __init__(
        self,
        reason: str,
        *,
        transient: bool,
        unreachable: bool = False,
        code: str = "",
        ambiguous: bool = False,
    ):
        super().__init__(reason)
        self.transient = transient
        self.unreachable = unreachable
        self.code = code
        self.ambiguous = ambiguous


class Channel(Protocol):
    """What the outbox needs of a channel.

    A channel whose provider can list what it accepted may also define
    `find_sent(message: Outgoing, since: datetime) -> list[str | Sent]`: the provider's ids of
    the messages that may be this one (as a `Sent` when it also tells the paid units and price,
    so that a settled row counts in the budget), whose sending started at `since`, oldest first;
    `[]` only
    when the provider certainly has no such message (the outbox then sends it again). It raises
    SendError when the provider cannot tell (`transient`: ask again later). The outbox uses it
    to settle a send interrupted by a crash (see `bots.outbox`).
    """

    name: str
    rate_per_second: float

    def send(self, message: Outgoing) -> str | Sent:
        """Send one message; return the provider's id for it (or a `Sent`), or raise SendError."""
        ...


ChannelFactory = Callable[[Runtime], Channel]
IsConfigured = Callable[[Settings], bool]
_REGISTRY: dict[str, tuple[ChannelFactory, IsConfigured]] = {}


def register(
    name: str, configured: IsConfigured = lambda settings: True
) -> Callable[[ChannelFactory], ChannelFactory]:
    """Register a channel's factory, with the test of whether its settings are present."""

    def add(factory: ChannelFactory) -> ChannelFactory:
        _REGISTRY[name] = (factory, configured)
        return factory

    return add


def channel_names() -> tuple[str, ...]:
    _load_builtin()
    return tuple(_REGISTRY)


def configured_channels(settings: Settings) -> tuple[str, ...]:
    """The channels this deployment can send on (the simulator always)."""
    _load_builtin()
    return tuple(name for name, (_, configured) in _REGISTRY.items() if configured(settings))


def make_channel(name: str, runtime: Runtime) -> Channel:
    _load_builtin()
    return _REGISTRY[name][0](runtime)


def _load_builtin() -> None:
    from bots.channels import simulator, sms, telegram, whatsapp  # noqa: F401
