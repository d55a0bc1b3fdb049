"""The Telegram adapter: update JSON in, keyboards out, and sending through the real library."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from telegram import ReplyKeyboardMarkup, ReplyKeyboardRemove

from bots.channels import Outgoing, SendError
from bots.channels.telegram import (
    MAX_TEXT,
    TelegramChannel,
    TelegramClient,
    TelegramSendError,
    deep_link,
    fetch,
    parse_update,
    render,
    to_inbound,
)
from bots.handler import Inbound, Media
from tests.fakes.telegram_api import STICKER, TOKEN, FakeTelegramAPI, make_photo_update, make_update
from tests.fakes.telegram_fixtures import telegram_api  # noqa: F401

CHAT = 7_000_001


def inbound(data: dict[str, object]) -> Inbound | None:
    return to_inbound(parse_update(data, None))


# --- deep links --------------------------------------------------------------------------------


def test_deep_link_is_a_t_me_start_link() -> None:
    assert deep_link("@paroles_bot", "QPV-lilas_2") == "https://t.me/paroles_bot?start=QPV-lilas_2"


@pytest.mark.parametrize("code", ["", "a b", "é", "x" * 65, "code?x=1"])
def test_deep_link_refuses_what_telegram_would_drop(code: str) -> None:
    with pytest.raises(ValueError):
        deep_link("paroles_bot", code)


def test_deep_link_refuses_a_bad_username() -> None:
    with pytest.raises(ValueError):
        deep_link("a/b", "CODE")


# --- from update JSON to Inbound ---------------------------------------------------------------


def test_text_message_keeps_the_original_text_and_uses_the_update_id() -> None:
    data = make_update(CHAT, "Les poubelles débordent « encore » rue des Lilas 😡")
    result = inbound(data)
    assert result is not None
    assert result.channel == "telegram"
    assert result.address == str(CHAT)
    assert result.text == "Les poubelles débordent « encore » rue des Lilas 😡"
    assert result.external_id == str(data["update_id"])
    assert result.start_code is None and result.media == ()


def test_start_with_a_code_is_a_join() -> None:
    result = inbound(make_update(CHAT, "/start QPV-lilas_2026"))
    assert result is not None
    assert result.start_code == "QPV-lilas_2026" and result.text == ""


@pytest.mark.parametrize("text", ["/start", "/START@paroles_bot "])
def test_start_without_a_code_is_a_plain_start(text: str) -> None:
    result = inbound(make_update(CHAT, text))
    assert result is not None
    assert result.start_code is None and result.text == "/start"


def test_words_after_start_that_are_no_code_are_kept() -> None:
    result = inbound(make_update(CHAT, "/start le bus 12 ne passe plus"))
    assert result is not None
    assert result.start_code is None and result.text == "/start le bus 12 ne passe plus"


def test_photo_with_caption_keeps_the_largest_size_and_the_caption() -> None:
    result = inbound(make_photo_update(CHAT, "AgACAgQAAxkBAAIBbig-photo", caption="Le trottoir"))
    assert result is not None
    assert result.text == "Le trottoir"
    assert result.media == (Media("photo", "AgACAgQAAxkBAAIBbig-photo", mime="image/jpeg"),)


def test_voice_note_is_media() -> None:
    voice = {"file_id": "AwACAgQ-voice", "file_unique_id": "AgADvoice", "duration": 4}
    result = inbound(make_update(CHAT, voice={**voice, "mime_type": "audio/ogg"}))
    assert result is not None
    assert result.media == (Media("voice", "AwACAgQ-voice", mime="audio/ogg"),)


def test_sticker_and_location_become_media_the_engine_answers_kindly() -> None:
    result = inbound(make_update(CHAT, sticker=STICKER))
    assert result is not None and [m.kind for m in result.media] == ["sticker"]
    located = inbound(make_update(CHAT, location={"latitude": 48.85, "longitude": 2.35}))
    assert located is not None
    assert located.media == (Media("location"),)  # no coordinates kept


@pytest.mark.parametrize(
    "data",
    [
        {"update_id": 5, "edited_message": make_update(CHAT, "corrigé")["message"]},
        {
            "update_id": 6,
            "callback_query": {
                "id": "1",
                "from": {"id": CHAT, "is_bot": False, "first_name": "A"},
                "chat_instance": "x",
                "data": "1",
            },
        },
        make_update(
            -100123, "Bonjour le groupe", chat={"id": -100123, "type": "group", "title": "G"}
        ),
        make_update(CHAT, new_chat_title="Nouveau nom"),
    ],
    ids=["edited", "callback", "group", "service"],
)
def test_updates_we_do_not_handle_are_ignored(data: dict[str, object]) -> None:
    assert inbound(data) is None


def test_huge_text_is_cut_but_its_start_is_kept() -> None:
    text = "Début important. " + "bla " * 50_000
    result = inbound(make_update(CHAT, text))
    assert result is not None
    assert len(result.text) == MAX_TEXT
    assert result.text.startswith("Début important. bla")
    assert result.text.endswith("…")


@pytest.mark.parametrize(
    "data",
    [[1, 2], {"message": {}}, {"update_id": "1"}, {"update_id": 1, "message": {"text": "x"}}],
)
def test_malformed_updates_are_refused(data: object) -> None:
    with pytest.raises(ValueError):
        parse_update(data, None)


# --- rendering ---------------------------------------------------------------------------------


def keyboard(markup: object) -> list[list[str]]:
    assert isinstance(markup, ReplyKeyboardMarkup)
    return [[button.text for button in row] for row in markup.keyboard]


def test_yes_no_buttons_are_the_labels_two_a_row() -> None:
    text, markup = render(Outgoing(1, "1", "D'accord ?", ("Oui", "Non"), "choice"))
    assert text == "D'accord ?"
    assert keyboard(markup) == [["Oui", "Non"]]
    assert isinstance(markup, ReplyKeyboardMarkup)
    assert markup.resize_keyboard and markup.one_time_keyboard


def test_scale_is_one_row_of_numbers() -> None:
    _, markup = render(Outgoing(1, "1", "Note ?", ("1", "2", "3", "4", "5"), "scale"))
    assert keyboard(markup) == [["1", "2", "3", "4", "5"]]


def test_medium_labels_go_one_a_row() -> None:
    choices = ("Le mercredi", "Le soir après l'école", "Le samedi matin")
    text, markup = render(Outgoing(1, "1", "Quand ?", choices, "choice"))
    assert text == "Quand ?"
    assert keyboard(markup) == [[c] for c in choices]


def test_long_labels_are_listed_in_full_and_buttons_are_numbers() -> None:
    choices = ("Transports en commun et circulation dans le quartier", "Logement", "Autre")
    text, markup = render(Outgoing(1, "1", "C'est à propos de quoi ?", choices, "choice"))
    assert text.splitlines() == [
        "C'est à propos de quoi ?",
        "1. Transports en commun et circulation dans le quartier",
        "2. Logement",
        "3. Autre",
    ]
    assert keyboard(markup) == [["1", "2", "3"]]


def test_several_answers_are_listed_with_numbers() -> None:
    text, markup = render(Outgoing(1, "1", "Qui ?", ("Moi", "Une association"), "choices"))
    assert text == "Qui ?\n1. Moi\n2. Une association"
    assert keyboard(markup) == [["1", "2"]]


def test_free_text_removes_the_keyboard() -> None:
    text, markup = render(Outgoing(1, "1", "Écrivez votre réponse.", (), "text"))
    assert text == "Écrivez votre réponse." and isinstance(markup, ReplyKeyboardRemove)


# --- sending through the real library to the fake API -------------------------------------------


@pytest.fixture
def channel(telegram_api: FakeTelegramAPI) -> TelegramChannel:  # noqa: F811
    return TelegramChannel(TelegramClient(TOKEN, telegram_api.url))


def test_send_posts_text_and_keyboard(
    channel: TelegramChannel,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    try:
        provider_id = channel.send(Outgoing(9, str(CHAT), "D'accord ?", ("Oui", "Non"), "choice"))
    finally:
        channel.client.close()
    chat, message_id = provider_id.split(":")
    assert chat == str(CHAT) and message_id.isdigit()
    [params] = telegram_api.called("sendMessage")
    assert params["chat_id"] == str(CHAT) and params["text"] == "D'accord ?"
    assert params["reply_markup"]["keyboard"] == [[{"text": "Oui"}, {"text": "Non"}]]
    assert telegram_api.called("getMe")  # the bot checked its token once


def test_blocked_user_is_unreachable_not_transient(
    channel: TelegramChannel,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    telegram_api.block(CHAT)
    with pytest.raises(SendError) as caught:
        channel.send(Outgoing(9, str(CHAT), "Bonjour"))
    channel.client.close()
    assert caught.value.unreachable and not caught.value.transient
    assert caught.value.code == "403" and "blocked" in str(caught.value)


def test_flood_control_is_transient_with_the_delay(
    channel: TelegramChannel,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    telegram_api.flood(CHAT, 7)
    with pytest.raises(TelegramSendError) as caught:
        channel.send(Outgoing(9, str(CHAT), "Bonjour"))
    channel.client.close()
    assert caught.value.transient and not caught.value.unreachable
    assert caught.value.retry_after == 7 and caught.value.code == "429"


def test_network_failure_is_transient() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = TelegramChannel(TelegramClient(TOKEN, f"http://127.0.0.1:{port}"))
    with pytest.raises(SendError) as caught:
        channel.send(Outgoing(9, str(CHAT), "Bonjour"))
    channel.client.close()
    assert caught.value.transient and caught.value.code == "network"


def test_an_address_that_is_no_chat_id_is_unreachable(channel: TelegramChannel) -> None:
    with pytest.raises(SendError) as caught:
        channel.send(Outgoing(9, "+33612345678", "Bonjour"))
    assert caught.value.unreachable and not caught.value.transient


# --- media -------------------------------------------------------------------------------------


def test_photo_is_downloaded_into_the_media_folder(
    telegram_api: FakeTelegramAPI,  # noqa: F811
    tmp_path: Path,
) -> None:
    telegram_api.add_file("AgAC-photo-1234567890", b"\xff\xd8jpeg bytes", "photos/file_12.jpg")
    client = TelegramClient(TOKEN, telegram_api.url)
    try:
        media = fetch(client, Media("photo", "AgAC-photo-1234567890", mime="image/jpeg"), tmp_path)
        missing = fetch(client, Media("voice", "no-such-file"), tmp_path)
    finally:
        client.close()
    assert media.path == "telegram/u1234567890.jpg"
    assert (tmp_path / media.path).read_bytes() == b"\xff\xd8jpeg bytes"
    assert missing == Media("voice", "no-such-file")  # the file id is kept to try again later
