"""`signed_by_twilio` accepts exactly the requests Twilio's own `RequestValidator.validate`
accepts, computing one signature instead of two when the first matches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from web.hooks.twilio import signed_by_twilio

TOKEN = "test-twilio-auth-token-0123456789"
URLS = (
    "https://paroles.example.fr/hooks/sms",
    "https://paroles.example.fr:443/hooks/sms",
    "http://127.0.0.1:8000/hooks/sms",
    "http://127.0.0.1/hooks/sms?x=1",
    "https://paroles.example.fr/hooks/sms?bodySHA256=abc",
)
FORM = MultiDict([("MessageSid", "SM" + "0" * 32), ("Body", "bonjour"), ("From", "+33612345678")])


@pytest.mark.parametrize("signed", URLS)
@pytest.mark.parametrize("called", URLS)
@pytest.mark.parametrize("algorithm", ["HMAC_SHA1", "HMAC_SHA256", "HMAC_MD5"])
def test_the_same_answer_as_twilios_validator(signed: str, called: str, algorithm: str) -> None:
    validator = RequestValidator(TOKEN)
    known = algorithm != "HMAC_MD5"
    signature = validator.compute_signature(signed, FORM, algorithm if known else None)
    expected = validator.validate(called, FORM, signature, algorithm)
    assert signed_by_twilio(validator, called, FORM, signature, algorithm) == expected


@settings(max_examples=200, deadline=None)
@given(
    body=st.text(max_size=40),
    forged=st.text(alphabet="ABCDEFabcdef0123456789+/=", min_size=1, max_size=40),
    port=st.booleans(),
)
def test_a_forged_or_changed_request_is_refused(body: str, forged: str, port: bool) -> None:
    validator = RequestValidator(TOKEN)
    url = "https://paroles.example.fr" + (":443" if port else "") + "/hooks/sms"
    form = MultiDict([("Body", body), ("From", "+33612345678")])
    signature = validator.compute_signature(url, form)
    assert signed_by_twilio(validator, url, form, signature, "HMAC_SHA1")
    changed = MultiDict([("Body", body + "!"), ("From", "+33612345678")])
    assert not signed_by_twilio(validator, url, changed, signature, "HMAC_SHA1")
    if forged != signature:
        assert not signed_by_twilio(validator, url, form, forged, "HMAC_SHA1")
