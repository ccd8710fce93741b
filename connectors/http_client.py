"""An HTTP client for RIS/HIS REST APIs (httpx): timeouts, retries with backoff, basic and
bearer authentication, and errors that say what went wrong.

Retried (with exponential backoff, honouring Retry-After up to `max_backoff`): connection
failures and the statuses 500, 502, 503, 504. Not retried: a server that accepted the
connection and then said nothing within the read timeout (HttpTimeout; the request may be in
progress; set `retry_read_timeouts` for idempotent requests), 4xx answers (HttpStatusError),
and answers that are not HTTP or not the JSON they claim to be (HttpGarbageError).

Query strings can carry patient identifiers, and headers carry credentials: neither is ever
logged or put into an error message (errors name the URL without its query).
"""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Mapping

import httpx

from qcedge.connectors.errors import HttpConnectError, HttpError, HttpGarbageError, HttpStatusError, HttpTimeout

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(slots=True)
class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>`; the token is never shown in repr or logs."""

    token: str

    def auth_flow(self, request: httpx.Request):  # type: ignore[override]
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


def make_auth(*, username: str | None = None, password: str | None = None, token: str | None = None) -> httpx.Auth | None:
    if token:
        return BearerAuth(token)
    if username is not None:
        return httpx.BasicAuth(username, password or "")
    return None


def _safe_url(url: httpx.URL | str) -> str:
    u = httpx.URL(str(url))
    return str(u.copy_with(query=None, fragment=None, userinfo=b""))


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    try:
        text = response.text
    except Exception:
        return f"<{len(response.content)} bytes>"
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "")


class HttpClient:
    """A small synchronous client; use as a context manager or call `close()`."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        retry_read_timeouts: bool = False,
        headers: Mapping[str, str] | None = None,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self.retry_read_timeouts = retry_read_timeouts
        self.timeout = timeout
        self._client = httpx.Client(
            base_url=self.base_url, auth=auth, headers=dict(headers or {}), verify=verify, transport=transport,
            timeout=httpx.Timeout(timeout, connect=connect_timeout), follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ core
    def _sleep_for(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = response.headers.get("Retry-After", "")
            if after.isdigit():
                return min(float(after), self.max_backoff)
        base = min(self.backoff * (2 ** attempt), self.max_backoff)
        return base * (0.8 + 0.4 * random.random())

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; returns a 2xx/3xx response or raises an HttpError."""
        url = self._client.build_request(method, path, params=kwargs.get("params")).url
        shown = _safe_url(url)
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            response: httpx.Response | None = None
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.ConnectTimeout:
                last = HttpConnectError(shown, f"no connection within {self._client.timeout.connect:g} s")
                log.info("%s %s: connect timeout (attempt %d)", method, shown, attempt + 1)
            except httpx.ConnectError as exc:
                last = HttpConnectError(shown, f"cannot connect ({_reason(exc)})")
                log.info("%s %s: connect failed (attempt %d): %s", method, shown, attempt + 1, _reason(exc))
            except httpx.ReadTimeout:
                last = HttpTimeout(shown, f"the server accepted the connection but sent no answer within {self.timeout:g} s")
                if not self.retry_read_timeouts:
                    raise last from None
            except httpx.WriteTimeout:
                raise HttpTimeout(shown, f"the server did not take the request within {self.timeout:g} s") from None
            except httpx.PoolTimeout:
                raise HttpTimeout(shown, "no free connection in the pool") from None
            except httpx.RemoteProtocolError as exc:
                raise HttpGarbageError(shown, f"the answer is not valid HTTP ({_reason(exc)})") from None
            except httpx.DecodingError as exc:
                raise HttpGarbageError(shown, f"the answer body cannot be decoded ({_reason(exc)})") from None
            except httpx.TooManyRedirects:
                raise HttpError(shown, "too many redirects") from None
            except httpx.ReadError as exc:
                last = HttpConnectError(shown, f"the connection closed before a complete answer ({_reason(exc)})")
            except httpx.TransportError as exc:
                last = HttpConnectError(shown, f"transport error ({type(exc).__name__}: {_reason(exc)})")
            else:
                if response.status_code in RETRY_STATUSES:
                    last = HttpStatusError(shown, response.status_code, _excerpt(response))
                    log.info("%s %s: HTTP %d (attempt %d)", method, shown, response.status_code, attempt + 1)
                elif response.status_code >= 400:
                    raise _status_error(shown, response)
                else:
                    return response
            if attempt < self.retries:
                time.sleep(self._sleep_for(attempt, response))
        assert last is not None
        if isinstance(last, HttpStatusError):
            raise last
        raise type(last)(shown, f"{str(last).split(': ', 1)[-1]}; gave up after {self.retries + 1} attempts")

    def get(self, path: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> httpx.Response:
        return self.request("GET", path, params=params, headers=headers)

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None,
                 accept: str = "application/json") -> Any:
        response = self.get(path, params=params, headers={"Accept": accept})
        return parse_json(response)

    def post_json(self, path: str, body: Any, *, params: Mapping[str, Any] | None = None) -> Any:
        response = self.request("POST", path, params=params, json=body, headers={"Accept": "application/json"})
        return parse_json(response) if response.content else None


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _status_error(shown: str, response: httpx.Response) -> HttpStatusError:
    excerpt = _excerpt(response)
    if response.status_code == 401:
        excerpt = "authentication failed or missing" + (f" ({excerpt})" if excerpt else "")
    elif response.status_code == 403:
        excerpt = "not allowed for these credentials" + (f" ({excerpt})" if excerpt else "")
    return HttpStatusError(shown, response.status_code, excerpt)


def parse_json(response: httpx.Response) -> Any:
    """The JSON body, or HttpGarbageError saying what came instead."""
    shown = _safe_url(response.request.url)
    if response.status_code == 204 or not response.content:
        return None
    ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if ctype and "json" not in ctype:
        raise HttpGarbageError(shown, f"expected JSON, got '{ctype}': {_excerpt(response, 80)}")
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HttpGarbageError(shown, f"the answer is not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc}): "
                                      f"{_excerpt(response, 80)}") from None
