"""Settings: safe local defaults, clear errors in production."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.config import ConfigError, load_settings
from storage.crypto import Vault, mask


def test_local_defaults_create_a_lasting_secret(tmp_path: Path) -> None:
    env = {"PAROLES_DATA_DIR": str(tmp_path)}
    first = load_settings(env)
    again = load_settings(env)
    assert first.secret_key == again.secret_key
    assert first.database_url == f"sqlite:///{tmp_path / 'paroles.db'}"
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_production_names_every_missing_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"PAROLES_ENV": "production", "PAROLES_DATA_DIR": str(tmp_path)})
    for name in ("PAROLES_SECRET_KEY", "PAROLES_DATABASE_URL", "PAROLES_PUBLIC_URL"):
        assert name in str(error.value)


def test_short_secret_and_bad_retention_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PAROLES_SECRET_KEY"):
        load_settings({"PAROLES_SECRET_KEY": "short", "PAROLES_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="PAROLES_RETENTION_DAYS"):
        load_settings(
            {
                "PAROLES_RETENTION_DAYS": "un an",
                "PAROLES_SECRET_KEY": "x" * 20,
                "PAROLES_DATA_DIR": str(tmp_path),
            }
        )
    for bad in ("six mois", "0", "-3"):
        with pytest.raises(ConfigError, match="PAROLES_JOURNAL_RETENTION_DAYS"):
            load_settings(
                {
                    "PAROLES_JOURNAL_RETENTION_DAYS": bad,
                    "PAROLES_SECRET_KEY": "x" * 20,
                    "PAROLES_DATA_DIR": str(tmp_path),
                }
            )


def test_pseudonyms_are_stable_keyed_and_per_channel() -> None:
    vault = Vault("a" * 32)
    assert vault.pseudonym("sms", "+33612345678") == Vault("a" * 32).pseudonym(
        "sms", "+33612345678"
    )
    assert vault.pseudonym("sms", "+33612345678") != Vault("b" * 32).pseudonym(
        "sms", "+33612345678"
    )
    assert vault.pseudonym("sms", "1") != vault.pseudonym("telegram", "1")
    assert "+336" not in vault.pseudonym("sms", "+33612345678")


def test_addresses_are_encrypted_and_masked() -> None:
    vault = Vault("a" * 32)
    token = vault.encrypt("+33612345678")
    assert "33612345678" not in token
    assert vault.decrypt(token) == "+33612345678"
    with pytest.raises(ValueError, match="PAROLES_SECRET_KEY"):
        Vault("b" * 32).decrypt(token)
    assert mask("+33612345678").endswith("78") and "3361" not in mask("+33612345678")
