"""What every destination declares and implements. A destination module is small: its limits, its
identifier, its endpoints, and how it reads its vendor's success and partial-failure shapes."""
from __future__ import annotations

from typing import Any, ClassVar, Optional, Sequence

import httpx

from ..http import Http, RateLimit, retry_after_header
from ..records import Change, Outcome, Subscription


class Destination:
    type: ClassVar[str]
    batch_size: ClassVar[int]                    # most changes one send() may be given
    rate: ClassVar[Optional[RateLimit]] = None   # documented request rate, None when unlimited
    default_identifier: ClassVar[str] = "email"  # `key` or a name from people.identifiers
    default_base_url: ClassVar[str] = ""
    required_settings: ClassVar[tuple[str, ...]] = ()
    optional_settings: ClassVar[tuple[str, ...]] = ()
    actions: ClassVar[tuple[str, ...]] = ("add", "remove", "event")  # what send() accepts
    # settings every destination takes (SPEC section 8)
    common_settings: ClassVar[tuple[str, ...]] = ("type", "base_url", "timeout", "max_removal_ratio",
                                                  "identifier")

    def __init__(self, name: str, settings: dict[str, Any]):
        self.name = name
        self.settings = settings
        self._http: Optional[Http] = None

    # --- to implement -------------------------------------------------------------------------
    def send(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        """Deliver one batch (len <= batch_size) for one action. Return the records the vendor
        rejected (by index); raise records.Rejected when it refused the batch as a whole, GaveUp
        (from Http) when it could not be reached. Must be idempotent: a batch may be sent again."""
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        return {}

    def auth(self) -> Optional[tuple[str, str]]:
        return None

    def retry_after(self, response: httpx.Response) -> Optional[float]:
        """How long the vendor asked us to wait (override for vendor reset headers)."""
        return retry_after_header(response)

    # --- shared -------------------------------------------------------------------------------
    @property
    def identifier(self) -> str:
        return str(self.settings.get("identifier") or self.default_identifier)

    @property
    def http(self) -> Http:
        if self._http is None:
            self._http = Http(str(self.settings.get("base_url") or self.default_base_url),
                              headers=self.headers(), auth=self.auth(),
                              timeout=float(self.settings.get("timeout", 30)), limit=self.rate,
                              retry_after=self.retry_after)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
