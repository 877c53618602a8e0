"""The installation's one owner: every other part asks here, never the database directly.

- ``lookup``: finding an installation by its API key's blind index, by the
  Sales group a page names, by the token in its webhook address, or by id.
- ``clients``: ``client_for(installation)``, the only place a stored key is
  decrypted into a Sales client; callers hold ciphertext and index, never a key.
- ``settings_form``: the installation's settings (form, defaults, validation).
- ``errors``: what a lookup raises; each blueprint says what it means in HTTP.

Nothing here knows Flask.
"""
