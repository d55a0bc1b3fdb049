"""Configuration of the whole product, read once from the environment (and an optional `.env`).

Every part of Paroles reads its settings from one `Settings` value, built by `load_settings()`.
Local runs need nothing: the database is a SQLite file under `var/` and the secret key is
generated once into `var/secret.key`. In production (`PAROLES_ENV=production`) a missing secret
is a start-up error that names the variable, instead of a crash later.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    data_dir: Path
    production: bool = False
    public_url: str = ""
    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_bot_username: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_whatsapp_from: str = ""  # `whatsapp:+33...`: WhatsApp is off when unset
    twilio_api_base_url: str = "https://api.twilio.com"
    default_language: str = "fr"
    timezone: str = "Europe/Paris"
    retention_days: int = 365
    # The team's journal (who exported, revealed, erased...): the CNIL recommends keeping such
    # traces six months to a year; a year, to see an abuse found late.
    journal_retention_days: int = 365
    # Reverse proxies in front of the back-office (nginx, a load balancer): their X-Forwarded-*
    # headers are believed, hop by hop, only for this many. 0: headers ignored (cannot be forged).
    proxies: int = 0
    # Told to habitants who write INFO (RGPD art. 13): who keeps their data, and where to ask.
    organisation: str = ""
    contact: str = ""
    # LibreTranslate, run by the territory: no URL, no translation (nothing leaves for others).
    translate_url: str = ""
    translate_api_key: str = ""
    # Translate every contribution not in French in the background, not only on request.
    translate_auto: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"


_SECRETS_REQUIRED_IN_PRODUCTION = (
    "PAROLES_SECRET_KEY",
    "PAROLES_DATABASE_URL",
    "PAROLES_PUBLIC_URL",
)


def load_settings(env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Build the settings from `env` (default: the process environment after `.env`)."""
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = dict(os.environ)
    production = env.get("PAROLES_ENV", "").lower() in {"production", "prod"}
    if production:
        missing = [name for name in _SECRETS_REQUIRED_IN_PRODUCTION if not env.get(name)]
        if missing:
            raise ConfigError("PAROLES_ENV=production needs these variables: " + ", ".join(missing))
    data_dir = Path(env.get("PAROLES_DATA_DIR", "var")).resolve()
    secret_key = env.get("PAROLES_SECRET_KEY") or _local_secret(data_dir)
    if len(secret_key) < 16:
        raise ConfigError("PAROLES_SECRET_KEY must be at least 16 characters long")
    database_url = env.get("PAROLES_DATABASE_URL") or f"sqlite:///{data_dir / 'paroles.db'}"
    try:
        retention_days = int(env.get("PAROLES_RETENTION_DAYS", "365"))
    except ValueError as exc:
        raise ConfigError("PAROLES_RETENTION_DAYS must be a whole number of days") from exc
    journal_days = env.get("PAROLES_JOURNAL_RETENTION_DAYS", "365").strip()
    if not journal_days.isdigit() or int(journal_days) < 1:
        raise ConfigError(
            "PAROLES_JOURNAL_RETENTION_DAYS must be a whole number of days (1 or more)"
        )
    proxies = env.get("PAROLES_PROXIES", "0")
    if not proxies.isdigit():
        raise ConfigError("PAROLES_PROXIES must be the number of reverse proxies (0, 1, 2...)")
    return Settings(
        database_url=database_url,
        secret_key=secret_key,
        data_dir=data_dir,
        production=production,
        public_url=env.get("PAROLES_PUBLIC_URL", "").rstrip("/"),
        telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN", ""),
        telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET", ""),
        telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL", "https://api.telegram.org").rstrip(
            "/"
        ),
        telegram_bot_username=env.get("TELEGRAM_BOT_USERNAME", ""),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", ""),
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
        twilio_from=env.get("TWILIO_FROM", ""),
        twilio_whatsapp_from=_whatsapp_sender(env.get("TWILIO_WHATSAPP_FROM", "")),
        twilio_api_base_url=env.get("TWILIO_API_BASE_URL", "https://api.twilio.com").rstrip("/"),
        default_language=env.get("PAROLES_DEFAULT_LANGUAGE", "fr"),
        timezone=env.get("PAROLES_TIMEZONE", "Europe/Paris"),
        retention_days=retention_days,
        journal_retention_days=int(journal_days),
        proxies=int(proxies),
        organisation=env.get("PAROLES_ORGANISATION", "").strip(),
        contact=env.get("PAROLES_CONTACT", "").strip(),
        translate_url=env.get("PAROLES_TRANSLATE_URL", "").strip().rstrip("/"),
        translate_api_key=env.get("PAROLES_TRANSLATE_API_KEY", "").strip(),
        translate_auto=env.get("PAROLES_TRANSLATE_AUTO", "").strip().lower()
        in {"1", "true", "yes", "oui"},
        extra={k: v for k, v in env.items() if k.startswith("PAROLES_")},
    )


def _whatsapp_sender(value: str) -> str:
    """`whatsapp:+33...` as Twilio wants it; a bare number gets the prefix, a Messaging Service
    (`MG...`) is kept as it is."""
    value = value.strip().replace(" ", "")
    if not value or value.startswith(("whatsapp:", "MG")):
        return value
    if not value.startswith("+"):
        raise ConfigError("TWILIO_WHATSAPP_FROM must be whatsapp:+<number> (e.g. whatsapp:+33...)")
    return f"whatsapp:{value}"


def _local_secret(data_dir: Path) -> str:
    """Return the secret of a local install, creating it on first use.

    It must survive restarts: pseudonyms and encrypted addresses are derived from it.
    """
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key
