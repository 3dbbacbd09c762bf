"""The OPA engine: ask a fleet of OPA servers over REST (``opa-python-client``).

For estates that already run OPA with bundles (``kaitiaki policy bundle build`` makes one). Each
decision is ``POST /v1/data/kaitiaki/main/decision`` with ``{"input": …}``, a bearer token when
configured and the configured timeout; the URLs are tried in order until one gives a decision of
the right shape. Down, slow, erroring, undefined or malformed everywhere → EngineError (a block).
A server that failed is asked last for the next ``REST_SECONDS`` (still asked, never skipped), so a
hanging first URL costs one timeout, not one per decision.
Builtin errors are made errors (``strict-builtin-errors``), so a failing rule cannot silently drop
a violation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kaitiaki.engine.base import DECISION_PACKAGE, JSONDict, check_input, compute_revision, decision_from_raw
from kaitiaki.errors import EngineError, PolicyError
from kaitiaki.model import Decision

DEFAULT_PORTS = {"http": 80, "https": 443}
QUERY_PARAMS = {"strict-builtin-errors": "true"}
REST_SECONDS = 30.0


@dataclass(frozen=True)
class Server:
    url: str
    client: Any


def _opa_client_class() -> Any:
    try:
        from opa_client import OpaClient
    except ImportError:
        raise PolicyError(
            "engine kind 'opa' needs the opa-python-client package.", hint="pip install 'kaitiaki[opa]'."
        ) from None
    return OpaClient


def server_for(url: str, *, timeout_ms: int, token: str | None) -> Server:
    """A client for one OPA base URL (scheme, host and port; no path)."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise PolicyError(f"OPA URL {url!r} must look like http://host:8181 or https://host.")
    if parts.path not in ("", "/") or parts.query:
        raise PolicyError(f"OPA URL {url!r} must not have a path: kaitiaki calls /v1/data itself.")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise PolicyError(f"OPA URL {url!r} has an invalid port.") from None
    client = _opa_client_class()(
        host=parts.hostname,
        port=port,
        ssl=parts.scheme == "https",
        token=token or None,
        retries=0,
        timeout=timeout_ms / 1000,
    )
    session = getattr(client, "_session", None)
    if session is None:
        raise PolicyError("this opa-python-client has no HTTP session to guard; pin opa-python-client 3.x.")
    session.max_redirects = 0
    session.hooks["response"].append(_refuse_all_but_200)
    return Server(url=url.rstrip("/"), client=client)


def _refuse_all_but_200(response: Any, *args: Any, **kwargs: Any) -> Any:
    """OPA's data API answers 200; anything else (a 3xx included, which the client would take as
    a decision) is not a decision. Raised here, it reaches the engine as a failed request."""
    if response.status_code != 200:
        response.reason = response.reason or "not a decision"
        import requests

        raise requests.HTTPError(f"HTTP {response.status_code} from {response.url}", response=response)
    return response


class OpaEngine:
    """Decisions from OPA servers, tried in the configured order (failover)."""

    kind = "opa"

    def __init__(
        self,
        *,
        urls: tuple[str, ...] | list[str] = (),
        timeout_ms: int = 2000,
        token: str | None = None,
        **_: Any,
    ) -> None:
        if not urls:
            raise PolicyError(
                "engine kind 'opa' needs the servers to ask.",
                hint="set engine.url (or engine.urls, tried in order) in kaitiaki.yaml.",
            )
        self.timeout_ms = timeout_ms
        self.servers = [server_for(url, timeout_ms=timeout_ms, token=token) for url in urls]
        self.revision = ""
        self._resting_until: dict[str, float] = {}

    def load(self, policies: list[tuple[str, str]], data: JSONDict) -> None:
        """The servers load their policies from a bundle; this records the revision expected."""
        self.revision = compute_revision(policies, data)

    def evaluate(self, input: JSONDict) -> Decision:
        check_input(input)
        failures: list[str] = []
        for server in self.in_order():
            try:
                decision = self._ask(server, input)
            except EngineError as exc:
                self._resting_until[server.url] = time.monotonic() + REST_SECONDS
                failures.append(f"{server.url}: {exc}")
            else:
                self._resting_until.pop(server.url, None)
                return decision
        raise EngineError(f"no OPA server gave a usable decision ({'; '.join(failures)}).")

    def in_order(self) -> list[Server]:
        """The configured order, with servers that failed recently moved to the end."""
        now = time.monotonic()
        return sorted(self.servers, key=lambda server: self._resting_until.get(server.url, 0.0) > now)

    def _ask(self, server: Server, policy_input: JSONDict) -> Decision:
        try:
            response = server.client.query_rule(
                input_data=policy_input,
                package_path=DECISION_PACKAGE,
                rule_name="decision",
                query_params=QUERY_PARAMS,
            )
        # requests' errors are OSErrors (RequestException derives from IOError); a body that is
        # not JSON is a ValueError.
        except (OSError, ValueError) as exc:
            raise EngineError(self._describe(exc)) from None
        if not isinstance(response, dict):
            raise EngineError("the answer is not a JSON object")
        if "result" not in response:
            raise EngineError("the decision is undefined (is the kaitiaki bundle loaded?)")
        return decision_from_raw(response["result"], engine=self.kind)

    def _describe(self, exc: BaseException) -> str:
        name = type(exc).__name__
        if "Timeout" in name:
            return f"no answer within {self.timeout_ms} ms"
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if status is not None:
            return f"HTTP {status}{_opa_message(response)}"
        if "Connection" in name:
            return "cannot connect"
        return f"{name}: {str(exc).splitlines()[0][:200] if str(exc) else 'no detail'}"


def _opa_message(response: Any) -> str:
    """OPA's own error message (``{"code", "message"}``), when the body has one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return f" ({str(message)[:200]})" if message else ""
