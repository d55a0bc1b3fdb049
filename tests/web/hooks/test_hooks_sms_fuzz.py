"""Property test of Twilio's webhooks: whatever form arrives, correctly signed, never a 5xx.

The signature is computed over each arbitrary form as Twilio would (a forgery stops there and is
tested elsewhere); half the forms carry a well-formed SID and a sender, so that they go past the
first checks into the handler with arbitrary bodies, media counts and numbers. A 5xx would make
Twilio try again, then drop the habitant's message.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from bots.runtime import Runtime
from storage.config import Settings
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401

PUBLIC = "https://paroles.example.fr"
FUZZ = hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KEYS = [
    "MessageSid",
    "SmsSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MediaContentType0",
    "MessageStatus",
    "SmsStatus",
    "ErrorCode",
    "AccountSid",
]
text = st.text(max_size=40)
forms = st.dictionaries(st.sampled_from(KEYS) | st.text(min_size=1, max_size=10), text, max_size=8)
sids = st.builds(
    lambda prefix, digits: prefix + digits,
    st.sampled_from(["SM", "MM"]),
    st.text("0123456789abcdef", min_size=32, max_size=32),
)


@st.composite
def past_the_checks(draw: st.DrawFn) -> dict[str, str]:
    form = draw(forms)
    sid = draw(sids)
    form.update(MessageSid=sid, From=draw(st.just("+33612345678") | text))
    if draw(st.booleans()):
        form["SmsSid"] = sid
    if draw(st.booleans()):
        form["MessageStatus"] = draw(st.sampled_from(["delivered", "failed", "read"]) | text)
    return form


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    return with_twilio(settings, twilio, public_url=PUBLIC)  # type: ignore[no-any-return]


def signed_post(client: Any, path: str, form: dict[str, str], token: str) -> Any:
    signature = RequestValidator(token).compute_signature(PUBLIC + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


@FUZZ
@given(form=forms | past_the_checks(), path=st.sampled_from(["/hooks/sms", "/hooks/sms/status"]))
def test_no_signed_twilio_form_gets_a_5xx(
    client: Any, runtime: Runtime, form: dict[str, str], path: str
) -> None:
    response = signed_post(client, path, form, runtime.settings.twilio_auth_token)
    assert response.status_code < 500, form
