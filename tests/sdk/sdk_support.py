"""Shared helpers for the SDK conformance test and the parse benchmark.

- `sdk_client` points the official Genesys Python SDK at a local base URL (its gateway setting);
- `RawClient` makes the same HTTP calls with urllib only, to get the JSON the SDK never altered;
- `roundtrip_mismatches` tells where an SDK model object differs from the JSON it was built from:
  a key the SDK model does not know (silently dropped by the SDK), an enum value the SDK does not
  know (the SDK replaces it with "outdated_sdk_version"), a number or date that changed;
- `Report` counts checks and prints the `N passed, M failed` line CI reads.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable

from PureCloudPlatformClientV2 import ApiClient
from PureCloudPlatformClientV2.rest import ApiException

OUTDATED_ENUM = "outdated_sdk_version"


# --------------------------------------------------------------------------------------------
# Pointing the SDK at the emulator
# --------------------------------------------------------------------------------------------


def gateway_parts(base_url: str) -> tuple[str, str, int, str]:
    """Splits `http://127.0.0.1:9000/prefix` into what `ApiClient.set_gateway` takes."""
    url = urllib.parse.urlsplit(base_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"not an http(s) base URL: {base_url!r}")
    port = url.port if url.port is not None else (443 if url.scheme == "https" else 80)
    return url.scheme, url.hostname, port, url.path.rstrip("/")


def sdk_client(api_base: str, login_base: str) -> ApiClient:
    """An SDK ApiClient whose login and API calls both go to the given bases (gateway mode)."""
    api_scheme, api_host, api_port, api_path = gateway_parts(api_base)
    login_scheme, login_host, login_port, login_path = gateway_parts(login_base)
    if (api_scheme, api_host, api_port) != (login_scheme, login_host, login_port):
        # The SDK's gateway has one host and port for both; only the path prefixes differ.
        raise ValueError(f"login base {login_base} and API base {api_base} must share scheme, host and port")
    client = ApiClient()
    client.set_gateway(
        host=api_host,
        protocol=api_scheme,
        port=api_port,
        path_params_login=login_path,
        path_params_api=api_path,
    )
    return client


# --------------------------------------------------------------------------------------------
# Raw HTTP (no SDK involved)
# --------------------------------------------------------------------------------------------


class HttpError(Exception):
    def __init__(self, method: str, url: str, status: int, body: str):
        super().__init__(f"{method} {url} -> HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


class RawClient:
    """JSON over urllib with a bearer token: the ground truth the SDK objects are compared with."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        return self.request("POST", path, body=body)

    def put(self, path: str, body: Any) -> tuple[int, Any]:
        return self.request("PUT", path, body=body)

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None):
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode()
                return response.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            raise HttpError(method, url, e.code, e.read().decode(errors="replace")) from None


# --------------------------------------------------------------------------------------------
# Comparing an SDK object with the JSON it came from
# --------------------------------------------------------------------------------------------

_SERIALIZER = ApiClient()


def sdk_to_json(obj: Any) -> Any:
    """The SDK's own view of an object, as JSON-ready data (its request serializer)."""
    return _SERIALIZER.sanitize_for_serialization(obj)


def deserialize(data: Any, model: str) -> Any:
    """The SDK's own deserializer (what every API method uses) applied to parsed JSON."""
    return _SERIALIZER._ApiClient__deserialize(data, model)


def roundtrip_mismatches(raw: Any, sdk_obj: Any, limit: int = 20) -> list[str]:
    """Paths where the SDK object disagrees with the raw JSON (empty list = faithful)."""
    found: list[str] = []
    _compare(raw, sdk_to_json(sdk_obj), "$", found, limit)
    return found


def _compare(raw: Any, sdk: Any, path: str, found: list[str], limit: int) -> None:
    if len(found) >= limit:
        return
    if isinstance(raw, dict):
        _compare_dicts(raw, sdk, path, found, limit)
    elif isinstance(raw, list):
        _compare_lists(raw, sdk, path, found, limit)
    elif not _same_scalar(raw, sdk):
        found.append(f"{path}: JSON {raw!r} became {sdk!r} in the SDK model")


def _compare_dicts(raw: dict, sdk: Any, path: str, found: list[str], limit: int) -> None:
    if not isinstance(sdk, dict):
        found.append(f"{path}: JSON object became {type(sdk).__name__} {sdk!r:.80}")
        return
    for key, value in raw.items():
        if key not in sdk:
            why = "null in the JSON" if value is None else "unknown to the SDK model (dropped)"
            found.append(f"{path}.{key}: {why}")
        else:
            _compare(value, sdk[key], f"{path}.{key}", found, limit)
    for key in sdk.keys() - raw.keys():
        found.append(f"{path}.{key}: present in the SDK model but not in the JSON")


def _compare_lists(raw: list, sdk: Any, path: str, found: list[str], limit: int) -> None:
    if not isinstance(sdk, list) or len(sdk) != len(raw):
        found.append(f"{path}: JSON list of {len(raw)} became {sdk!r:.80}")
        return
    for i, (r, s) in enumerate(zip(raw, sdk)):
        _compare(r, s, f"{path}[{i}]", found, limit)


def _same_scalar(raw: Any, sdk: Any) -> bool:
    if sdk == OUTDATED_ENUM and raw != OUTDATED_ENUM:
        return False
    if isinstance(raw, bool) or isinstance(sdk, bool):
        return raw is sdk
    if isinstance(raw, (int, float)) and isinstance(sdk, (int, float)):
        return float(raw) == float(sdk)
    if isinstance(raw, str) and isinstance(sdk, str) and raw != sdk:
        # A datetime field comes back as Python's isoformat(): compare the instants.
        raw_t, sdk_t = parse_instant(raw), parse_instant(sdk)
        return raw_t is not None and raw_t == sdk_t
    return raw == sdk


def parse_instant(text: str) -> dt.datetime | None:
    """An ISO-8601 instant with an offset or Z, else None."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def parse_interval(text: str) -> tuple[dt.datetime, dt.datetime]:
    start, _, end = text.partition("/")
    start_t, end_t = parse_instant(start), parse_instant(end)
    if start_t is None or end_t is None:
        raise ValueError(f"not an ISO interval with offsets: {text!r}")
    return start_t, end_t


# --------------------------------------------------------------------------------------------
# Counting checks
# --------------------------------------------------------------------------------------------


class Report:
    """Each check passes or fails with a message; a failing step never stops the others."""

    def __init__(self, verbose: bool = True):
        self.passed = 0
        self.failed = 0
        self.verbose = verbose

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            if self.verbose:
                print(f"ok    {name}")
        else:
            self.failed += 1
            print(f"FAIL  {name}" + (f": {detail}" if detail else ""))
        return ok

    def faithful(self, name: str, raw: Any, sdk_obj: Any) -> bool:
        """The SDK object keeps every key and value of the raw JSON."""
        problems = roundtrip_mismatches(raw, sdk_obj)
        return self.check(f"{name}: SDK model keeps every field and value", not problems, "; ".join(problems))

    def note(self, text: str) -> None:
        """A figure worth seeing (sizes, counts), not a check."""
        if self.verbose:
            print(f"      {text}")

    def step(self, name: str, body: Callable[[], Any]) -> Any:
        """Runs one step; an exception fails it (with the reason) instead of ending the run."""
        print(f"--- {name}")
        started = time.monotonic()
        try:
            return body()
        except (AssertionError, ApiException, HttpError, ValueError, KeyError, TypeError) as e:
            self.check(f"{name} completes", False, _describe(e))
        except Exception as e:  # noqa: BLE001 - any other error is a failed step too, shown in full
            self.check(f"{name} completes", False, "".join(traceback.format_exception(e)))
        finally:
            self.note(f"({name}: {time.monotonic() - started:.1f} s)")
        return None

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"


def _describe(e: Exception) -> str:
    if isinstance(e, ApiException):
        return f"SDK ApiException status={e.status} reason={e.reason} body={str(e.body)[:500]}"
    return f"{type(e).__name__}: {e}"
