"""Property test of the Telegram webhook: whatever body arrives, never a 5xx (issue 16).

Arbitrary JSON, arbitrary bytes, and bodies shaped like updates with arbitrary values in the
fields we read. A 5xx would make Telegram send the same body again and again, for a day. (The
SMS webhook has its own: `test_hooks_sms_fuzz.py`.)
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bots.runtime import Runtime
from tests.fakes.telegram_api import make_update
from tests.fakes.telegram_fixtures import (
    WEBHOOK_SECRET,
    settings,  # noqa: F401
    telegram_api,  # noqa: F401
)
from web.hooks.telegram import SECRET_HEADER

FUZZ = hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _field(good: Any) -> st.SearchStrategy[Any]:
    """The field's normal value most of the time, anything at all otherwise."""
    return st.just(good) | json_values


@st.composite
def update_like(draw: st.DrawFn) -> Any:
    base = make_update(55_000_001, "Bonjour")
    message = dict(base["message"])
    for key in ("text", "date", "chat", "caption", "photo", "voice", "document", "from", "sticker"):
        if draw(st.booleans()):
            message[key] = draw(_field(message.get(key)))
    if draw(st.booleans()):
        message["chat"] = {"id": draw(_field(55_000_001)), "type": draw(_field("private"))}
    kind = draw(st.sampled_from(["message", "edited_message", "my_chat_member", "callback_query"]))
    body: dict[str, Any] = {"update_id": draw(_field(base["update_id"]))}
    if kind == "my_chat_member":
        body[kind] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "chat": _field({"id": 55_000_001, "type": "private"}),
                    "date": _field(1_700_000_000),
                    "new_chat_member": _field({"status": "kicked", "user": {"id": 1}}),
                    "old_chat_member": _field({"status": "member", "user": {"id": 1}}),
                    "from": json_values,
                },
            )
        )
    else:
        body[kind] = message
    return body


def post_telegram(client: Any, data: bytes) -> Any:
    return client.post(
        "/hooks/telegram",
        data=data,
        headers={SECRET_HEADER: WEBHOOK_SECRET},
        content_type="application/json",
    )


@FUZZ
@given(body=json_values | update_like())
def test_no_telegram_update_gets_a_5xx(client: Any, runtime: Runtime, body: Any) -> None:
    response = post_telegram(client, json.dumps(body).encode())
    assert response.status_code < 500, body


@FUZZ
@given(data=st.binary(max_size=200))
def test_no_telegram_body_of_bytes_gets_a_5xx(client: Any, data: bytes) -> None:
    assert post_telegram(client, data).status_code < 500
