"""Localisation through Babel message catalogs (``zapp/translations``).

Sales speaks ISO 639-1 codes (``group.language``) and sometimes regional tags
(``pt-BR``); everything is narrowed to the languages we ship, English first.
"""

from __future__ import annotations

import os
from functools import lru_cache

from babel.support import NullTranslations, Translations

SUPPORTED_LANGUAGES = ("en", "es", "pt")
DEFAULT_LANGUAGE = "en"
TRANSLATIONS_DIR = os.path.join(os.path.dirname(__file__), "translations")


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet (it is translated per request)."""
    return message


def negotiate_language(value: str | None) -> str:
    """``pt-BR`` → ``pt``; anything unknown or missing → English."""
    if not value:
        return DEFAULT_LANGUAGE
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def translations_for(language: str) -> NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    return Translations.load(TRANSLATIONS_DIR, [language], domain="messages")


def translate(language: str, message: str) -> str:
    return translations_for(negotiate_language(language)).gettext(message)


def localizable(message: str) -> dict[str, str]:
    """A Sales localizable object: ``{"en": ..., "es": ..., "pt": ...}``."""
    return {language: translate(language, message) for language in SUPPORTED_LANGUAGES}
