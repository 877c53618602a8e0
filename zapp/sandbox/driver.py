"""The host's side of the App lifecycle: the calls Sales makes to an App's backend."""

from __future__ import annotations

from typing import Any

import requests

TIMEOUT = (3.05, 30)


class LifecycleDriver:
    """Calls an App's lifecycle endpoints with its client credentials, as Sales does."""

    def __init__(self, app_id: str, app_secret: str) -> None:
        self._headers = {"X-App-Id": app_id, "X-App-Secret": app_secret}
        self._body_credentials = {"appId": app_id, "appSecret": app_secret}

    def _call(self, method: str, app_url: str, path: str, api_key: str | None, **kwargs: Any):
        params = {"api-key": api_key} if api_key else None
        response = requests.request(
            method, app_url.rstrip("/") + path, params=params, headers=self._headers,
            timeout=TIMEOUT, allow_redirects=False, **kwargs,
        )  # fmt: skip
        body = response.json() if "json" in response.headers.get("Content-Type", "") else response.text
        return response.status_code, body

    def install(self, app_url: str, api_key: str, enabled: bool = True):
        body = {**self._body_credentials, "integration": {"apiKey": api_key, "enabled": enabled}}
        return self._call("POST", app_url, "/lifecycle/install", None, json=body)

    def settings_form(self, app_url: str, api_key: str, lang: str = "en"):
        return self._call("GET", app_url, f"/lifecycle/settings-form?lang={lang}", api_key)

    def settings(self, app_url: str, api_key: str):
        return self._call("GET", app_url, "/lifecycle/settings", api_key)

    def put_settings(self, app_url: str, api_key: str, changes: dict[str, Any]):
        return self._call("PUT", app_url, "/lifecycle/settings", api_key, json=changes)

    def set_enabled(self, app_url: str, api_key: str, enabled: bool):
        return self._call("PUT", app_url, "/lifecycle/enabled", api_key, json={"enabled": enabled})

    def refresh_key(self, app_url: str, api_key: str, new_key: str):
        return self._call("PUT", app_url, "/lifecycle/api-key", api_key, json={"newApiKey": new_key})

    def delete(self, app_url: str, api_key: str):
        return self._call("DELETE", app_url, "/lifecycle", api_key)
