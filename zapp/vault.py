"""The only place API keys exist in plaintext.

Keys are encrypted with MultiFernet (the first of ``ZAPP_ENCRYPTION_KEYS``
encrypts, all decrypt) and found through a keyed HMAC-SHA256 blind index.
The index key is a random secret of the app's own, stored encrypted in
``vault_secrets``: it does not change when encryption keys rotate, so lookups
keep working across rotation.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import Database
from .models import Instance, VaultSecret

INDEX_KEY_NAME = "blind-index-key"
INSTANCE_CIPHERTEXTS = ("key_ciphertext", "webhook_token_ciphertext")


class VaultError(Exception):
    """Stored ciphertext cannot be read with any configured key."""


class Vault:
    def __init__(self, encryption_keys: Sequence[str], database: Database) -> None:
        self._fernet = MultiFernet([Fernet(key.encode()) for key in encryption_keys])
        self._database = database
        self._index_key: bytes | None = None
        self._lock = threading.Lock()

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise VaultError(
                "stored secret cannot be decrypted: is the key that encrypted it still in "
                "ZAPP_ENCRYPTION_KEYS?"
            ) from None

    def blind_index(self, value: str) -> str:
        """Hex HMAC-SHA256 of ``value`` under the app's index key: equal values, equal index."""
        # the one-shot HMAC runs in C: a fifth of ``hmac.new``'s cost, on every webhook and lookup
        return hmac.digest(self.index_key(), value.encode(), "sha256").hex()

    def index_key(self) -> bytes:
        """Load (or, the very first time, create) the index key, in a transaction of its own.

        Call this before opening a write transaction: on SQLite a second
        writer would wait on the first.
        """
        if self._index_key is None:
            with self._lock:
                if self._index_key is None:
                    self._index_key = self._load_or_create_index_key()
        return self._index_key

    def _load_or_create_index_key(self) -> bytes:
        for _attempt in range(3):
            with self._database.transaction() as session:
                row = session.get(VaultSecret, INDEX_KEY_NAME)
                if row is not None:
                    return bytes.fromhex(self.decrypt(row.ciphertext))
            try:
                with self._database.transaction() as session:
                    fresh = secrets.token_bytes(32)
                    session.add(VaultSecret(name=INDEX_KEY_NAME, ciphertext=self.encrypt(fresh.hex())))
                return fresh
            except IntegrityError:
                continue  # another process created it first; read theirs
        raise VaultError("could not load the blind-index key")

    def count_encrypted(self) -> int:
        with self._database.transaction() as session:
            secrets_count = session.scalar(select(func.count()).select_from(VaultSecret)) or 0
            instances_count = session.scalar(
                select(func.count()).select_from(Instance).where(_has_ciphertext())
            )
        return secrets_count + (instances_count or 0)

    def rotate_all(self, progress: Callable[[int], None] | None = None, batch: int = 200) -> int:
        """Re-encrypt every stored secret under the first key; return how many rows changed."""
        touched = 0
        with self._database.transaction() as session:
            touched += self._rotate_rows(session, select(VaultSecret), "ciphertext")
        if progress:
            progress(touched)
        last_id = 0
        while True:
            with self._database.transaction() as session:
                rows = session.scalars(
                    select(Instance)
                    .where(Instance.id > last_id, _has_ciphertext())
                    .order_by(Instance.id)
                    .limit(batch)
                ).all()
                if not rows:
                    break
                for row in rows:
                    for column in INSTANCE_CIPHERTEXTS:
                        if getattr(row, column) is not None:
                            setattr(row, column, self._rotate(getattr(row, column)))
                last_id = rows[-1].id
                touched += len(rows)
            if progress:
                progress(len(rows))
        return touched

    def _rotate_rows(self, session: Session, query, attribute: str) -> int:
        rows = session.scalars(query).all()
        for row in rows:
            setattr(row, attribute, self._rotate(getattr(row, attribute)))
        return len(rows)

    def _rotate(self, token: bytes) -> bytes:
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise VaultError(
                "a stored secret cannot be decrypted with ZAPP_ENCRYPTION_KEYS: keep the old key "
                "in the list until `zapp keys rotate` has run"
            ) from None


def _has_ciphertext():
    return or_(*(getattr(Instance, column).is_not(None) for column in INSTANCE_CIPHERTEXTS))


def generate_key() -> str:
    return Fernet.generate_key().decode()
