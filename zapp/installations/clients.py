"""``client_for(installation)``: the one place a stored API key becomes a Sales client.

Everything else carries an installation's key as it is stored (the blind
index and the Fernet ciphertext) and asks here for a client when it has to
call Sales, so a plaintext key never sits in a dataclass, a job or a log
record. Clients are kept one per key (one HTTP session and its pooled
connections), bounded, least recently used first out: a page view or an
event reuses the client without decrypting again, and a refreshed or
re-encrypted key gets a new one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock
from typing import Protocol

from ..sales import SalesClient
from ..vault import Vault, VaultError
from .errors import InstallationNotFound, KeyUnreadable

MakeClient = Callable[[str, str], SalesClient]
"""Builds a Sales client from (API key, its blind index); only ``SalesClients`` calls it."""


class Keyed(Protocol):
    """An installation as callers hold it: its key's blind index and ciphertext, never the key."""

    @property
    def key_index(self) -> str | None: ...

    @property
    def key_ciphertext(self) -> bytes | None: ...


@dataclass(frozen=True)
class StoredKey:
    """An installation's key as stored, detached from the session that read it."""

    key_index: str | None
    key_ciphertext: bytes | None = field(repr=False)

    @classmethod
    def of(cls, installation: Keyed) -> StoredKey:
        return cls(installation.key_index, installation.key_ciphertext)


class SalesClients:
    """The app's Sales clients, one per installation key, for as long as it is used."""

    def __init__(self, vault: Vault, make: MakeClient, size: int = 256) -> None:
        self._vault = vault
        self._make = make
        self._size = size
        self._clients: OrderedDict[str, tuple[bytes, SalesClient]] = OrderedDict()
        self._lock = Lock()

    def client_for(self, installation: Keyed) -> SalesClient:
        """The Sales client of ``installation``'s key (shared: callers never close it).

        Raises ``InstallationNotFound`` when the installation holds no key
        (deleted) and ``KeyUnreadable`` when no configured encryption key
        decrypts it.
        """
        index, ciphertext = installation.key_index, installation.key_ciphertext
        if index is None or ciphertext is None:
            raise InstallationNotFound("the installation has no key")
        with self._lock:
            cached = self._clients.pop(index, None)
            if cached is not None and cached[0] == ciphertext:
                self._clients[index] = cached
                return cached[1]
            if cached is not None:
                cached[1].close()
            client = self._make(self._decrypt(ciphertext), index)
            self._clients[index] = (ciphertext, client)
            while len(self._clients) > self._size:
                _index, (_ciphertext, oldest) = self._clients.popitem(last=False)
                oldest.close()
            return client

    def _decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._vault.decrypt(ciphertext)
        except VaultError as error:
            raise KeyUnreadable(str(error)) from None
