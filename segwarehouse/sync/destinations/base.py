"""What every destination declares and implements. A destination module is small: its limits, its
identifier, its endpoints, and how it reads its vendor's success and partial-failure shapes."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Optional, Sequence

from ..http import Http, RateLimit, retry_after_header
from ..records import Change, Outcome, Subscription

if TYPE_CHECKING:
    import httpx


_HTTP_LOCK = threading.Lock()


class Destination:
    type: ClassVar[str]
    batch_size: ClassVar[int]                    # most changes one send() may be given
    rate: ClassVar[Optional[RateLimit]] = None   # documented request rate, None when unlimited
    # an optional setting that replaces rate's request count (plans differ), over the same window
    rate_setting: ClassVar[Optional[str]] = None
    default_identifier: ClassVar[str] = "email"  # `key` or a name from people.identifiers
    default_base_url: ClassVar[str] = ""
    required_settings: ClassVar[tuple[str, ...]] = ()
    optional_settings: ClassVar[tuple[str, ...]] = ()
    # settings that must come from {{ env_var('NAME') }} in segwarehouse.yml (checked at load time)
    secret_settings: ClassVar[tuple[str, ...]] = ()
    # identifiers the vendor can match people on (None: any `key` or people.identifiers name)
    identifiers: ClassVar[Optional[tuple[str, ...]]] = None
    needs_list: ClassVar[bool] = True            # a `sync:` entry must name its `list:`
    concurrency: ClassVar[int] = 4               # batches in flight at once (the rate limit still holds)
    # whether a resend must hold the same batches (webhook ids, file contents): the changes are then
    # read in a stable order; False saves the warehouse a sort
    ordered: ClassVar[bool] = True
    actions: ClassVar[tuple[str, ...]] = ("add", "remove", "event")  # what send() accepts
    # what to check when the vendor answers 401 / 403 (replies.check; by default: the secret settings)
    refused: ClassVar[str] = ""
    denied: ClassVar[str] = ""
    # settings every destination takes (SPEC section 8); max_attempts and backoff tune retries,
    # batch_size lowers the vendor's limit (never raises it)
    common_settings: ClassVar[tuple[str, ...]] = ("type", "base_url", "timeout", "max_removal_ratio",
                                                  "min_removals", "identifier", "max_attempts", "backoff",
                                                  "batch_size")

    def __init__(self, name: str, settings: dict[str, Any]):
        self.name = name
        self.settings = settings
        self._clients: dict[str, Http] = {}  # endpoint family ("" for `http`) -> its client
        self.root: Optional[Path] = None  # the project directory (relative paths of file destinations)
        if settings.get("batch_size"):
            self.batch_size = min(int(settings["batch_size"]), type(self).batch_size)
        if self.rate and self.rate_setting and settings.get(self.rate_setting):
            self.rate = RateLimit(int(settings[self.rate_setting]), self.rate.per_seconds)
        self.base_url = str(settings.get("base_url") or self.vendor_url())

    def send(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        """Deliver one batch for one of the destination's `actions` (see deliver)."""
        if action not in self.actions:
            raise ValueError(f"{self.type} does not support '{action}' (actions: {', '.join(self.actions)})")
        return self.deliver(subscription, action, batch)

    # --- to implement -------------------------------------------------------------------------
    def deliver(self, subscription: Subscription, action: str, batch: Sequence[Change]) -> Outcome:
        """Deliver one batch (len <= batch_size) for one action. Return the records the vendor
        rejected (by index); raise records.Rejected when it refused the batch as a whole, GaveUp
        (from Http, or replies.stop) when it could not be reached or refused our settings. Must be
        idempotent: a batch may be sent again."""
        raise NotImplementedError

    def vendor_url(self) -> str:
        """The vendor's address when `base_url` is not set (override when a setting decides it; raise
        ValidationError when it cannot be known)."""
        return self.default_base_url

    def begin(self, subscription: Subscription, through_run_id: str, full: bool) -> None:
        """Called before the first send() of a subscription's sync (files open a temporary file here)."""

    def finish(self, subscription: Subscription, acknowledged: bool) -> None:
        """Called after the last send(); acknowledged is False when the sync stopped early."""

    def headers(self) -> dict[str, str]:
        return {}

    def auth(self) -> Optional[tuple[str, str]]:
        return None

    def retry_after(self, response: httpx.Response) -> Optional[float]:
        """How long the vendor asked us to wait (override for vendor reset headers)."""
        return retry_after_header(response)

    def batch_size_for(self, action: str) -> int:
        """Most changes one send() of this action may be given (Klaviyo's bulk adds take more)."""
        return self.batch_size

    def unknown_list(self, response: httpx.Response) -> bool:
        """Whether the vendor answered "this list does not exist" (replies.check_list stops the sync on
        it). A 404 by default; vendors that answer 400 for an unknown list override this."""
        return response.status_code == 404

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        """(setting, what is wrong and how to fix it) for settings of this type that cannot work,
        reported at load time at the setting's line (beyond the checks every destination gets)."""
        return []

    @classmethod
    def subscription_warnings(cls, name: str, settings: dict[str, Any], lists: Sequence[str]) -> list[str]:
        """Warnings (not errors) about the membership lists the segments keep on this destination (the
        `list:` values of subscriptions with on_enter: add), shown by `validate`: a vendor cap the
        subscriptions together could exceed."""
        return []

    @classmethod
    def list_required(cls, on_enter: str, on_exit: str) -> bool:
        """Whether a `sync:` entry with these actions must name a `list:`."""
        return cls.needs_list

    # --- shared -------------------------------------------------------------------------------
    @property
    def identifier(self) -> str:
        return str(self.settings.get("identifier") or self.default_identifier)

    def connect(self) -> None:
        """Open the HTTP client ahead of the first send (the engine calls it while the warehouse
        computes the changes); destinations without HTTP have nothing to do."""
        if self.base_url:
            self.http  # noqa: B018 - creates the client

    @property
    def http(self) -> Http:
        """The client at the destination's `rate`."""
        return self.client("", self.rate)

    def client(self, family: str, limit: Optional[RateLimit]) -> Http:
        """The client of one family of endpoints, made once at `limit` with the destination's base
        URL, credentials and retry settings; a vendor whose endpoint families have rates of their own
        (Klaviyo) asks for one per family. Batches are sent from several threads: one client, one
        rate limit per family."""
        with _HTTP_LOCK:
            if family not in self._clients:
                self._clients[family] = Http(self.base_url, headers=self.headers(), auth=self.auth(),
                                             timeout=float(self.settings.get("timeout", 30)), limit=limit,
                                             retry_after=self.retry_after,
                                             max_attempts=int(self.settings.get("max_attempts", 8)),
                                             backoff=float(self.settings.get("backoff", 0.5)))
            return self._clients[family]

    @property
    def retried(self) -> int:
        """Requests sent again after a fault, over every client of this destination."""
        return sum(c.stats.retried for c in list(self._clients.values()))

    @property
    def unconfirmed(self) -> int:
        """Records sent that the vendor may have ignored without saying so (Customer.io ignores ids it
        does not know when `create_people: false`); the sync reports the count."""
        return 0

    def close(self) -> None:
        for http in list(self._clients.values()):
            http.close()
