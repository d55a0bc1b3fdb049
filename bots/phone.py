"""Phone numbers: one habitant, one number, however it was written.

A French habitant may be written down as `06 12 34 56 78`, `+33 6 12 34 56 78` or
`0033 6 12 34 56 78`; all three are the same person, so everything that stores or looks up a
number goes through `to_e164()` first (the pseudonym is derived from the E.164 form, so it stays
stable). Numbers are never shown or logged whole: `masked()` keeps the country and the last two
digits, enough for a chef de projet to tell two people apart on a call, not to dial them.
"""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "FR"
# Channels whose address is a phone number: the same number on both is the same person, with one
# pseudonym (derived as for SMS, so that SMS pseudonyms made before WhatsApp stay the same).
PHONE_CHANNELS = ("sms", "whatsapp")
WHATSAPP_PREFIX = "whatsapp:"


class InvalidPhone(ValueError):
    """Not something a phone number can be (letters, too short, too long)."""


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """`06 12 34 56 78` -> `+33612345678`. Raises InvalidPhone if it cannot be a number.

    "Possible" rather than "valid" on purpose: a number plan that `phonenumbers` does not know yet
    (or a test number) must not lock a habitant out; the provider will tell us if it is wrong.
    """
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {masked(raw)}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone(f"not a possible phone number: {masked(raw)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Metropolitan France and the overseas départements and collectivités that share its plan.
FRENCH_REGIONS = frozenset({"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"})


def french_mobile(raw: str) -> str:
    """A French mobile number in E.164, for a number typed by an intervenant in the field.

    Stricter than `to_e164`: the habitant is in front of them, so a landline or a digit too
    few is a typing mistake to fix now, not a number to try.
    """
    try:
        number = phonenumbers.parse(raw, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {masked(raw)}") from exc
    mobile = phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    region = phonenumbers.region_code_for_number(number)
    if not (phonenumbers.is_valid_number(number) and mobile and region in FRENCH_REGIONS):
        raise InvalidPhone(f"not a French mobile number: {masked(raw)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sender_address(raw: str, region: str = DEFAULT_REGION) -> str:
    """The address of whoever sent an SMS: E.164 if it is a number, else as given.

    Short codes (`36179`) and alphanumeric senders are not phone numbers but are still someone
    we must not lose, so they are kept as they are, trimmed.
    """
    try:
        return to_e164(raw, region)
    except InvalidPhone:
        return raw.strip()


def identity_channel(channel: str) -> str:
    """The channel a pseudonym is derived with: `sms` for every phone channel."""
    return "sms" if channel in PHONE_CHANNELS else channel


def whatsapp_address(raw: str, region: str = DEFAULT_REGION) -> str:
    """`whatsapp:+33 6 12...` -> `+33612...`: a WhatsApp sender is a phone number like any other.

    The number alone is kept (the channel adds `whatsapp:` back when it writes), so the same
    person writing by SMS and by WhatsApp has one address and one pseudonym.
    """
    return sender_address(raw.strip().removeprefix(WHATSAPP_PREFIX), region)


def masked(raw: str) -> str:
    """`+33612345678` -> `+33 •• •• •• •• 78`: the country and the last two digits only."""
    digits = "".join(c for c in raw if c.isdigit())
    if len(digits) < 6:
        return "••••"
    try:
        number = phonenumbers.parse(raw, DEFAULT_REGION)
        country = f"+{number.country_code} "
    except phonenumbers.NumberParseException:
        country = ""
    return f"{country}•• •• •• •• {digits[-2:]}"
