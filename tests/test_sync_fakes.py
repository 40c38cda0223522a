"""The fakes hold the vendors' contracts (DESTINATIONS.md): batch limits, auth, rate-limit signals,
partial failures. The engine's tests are only as good as these."""
from __future__ import annotations

import base64
import time

import httpx

from fakes import customerio, webhook
from fakes.server import Faults
from segwarehouse.sync.destinations.webhook import sign


def test_customerio_fake_holds_the_track_api_contract():
    with customerio.make_fake() as fake:
        auth = (customerio.SITE_ID, customerio.API_KEY)
        url = f"{fake.base_url}/api/v1/segments/42/add_customers"
        too_many = httpx.post(url, params={"id_type": "id"}, json={"ids": [str(i) for i in range(1001)]}, auth=auth)
        assert too_many.status_code == 400 and "at most 1000" in too_many.json()["meta"]["errors"][0]
        assert httpx.post(url, json={"ids": ["1"]}, auth=(customerio.SITE_ID, "wrong")).status_code == 401
        partial = httpx.post(f"{fake.base_url}/api/v2/batch", auth=auth, json={"batch": [
            {"type": "person", "identifiers": {"id": "1"}, "action": "identify", "attributes": {"email": "a@x.io"}},
            {"type": "person", "identifiers": {"id": "2"}, "action": "identify", "attributes": {"email": "nope"}}]})
        assert partial.status_code == 207 and [e["batch_index"] for e in partial.json()["errors"]] == [1]
        assert httpx.post(url, params={"id_type": "id"}, json={"ids": ["1", "2", "unknown"]}, auth=auth).status_code == 200
        assert customerio.members(fake, "42") == {"1"}  # 2 was refused, unknown ids are ignored
    with customerio.make_fake(Faults(too_many=1.0)) as fake:
        limited = httpx.post(f"{fake.base_url}/api/v2/batch", json={"batch": []}, auth=auth)
        assert limited.status_code == 429 and "retry-after" not in limited.headers


def test_webhook_fake_checks_signatures_and_deduplicates_by_webhook_id():
    with webhook.make_fake() as fake:
        body = b'{"segment":"vip","list":"hooks","action":"add","changes":[{"person_id":1,"identifier":"1","change":"entered"}]}'
        now = int(time.time())
        good = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "content-type": "application/json",
                "webhook-signature": sign(webhook.SECRET, "msg_1", now, body)}
        assert httpx.post(f"{fake.base_url}/hooks", content=body, headers=good).status_code == 200
        assert httpx.post(f"{fake.base_url}/hooks", content=body, headers=good).json() == {"duplicate": True}
        assert len(fake.deliveries) == 1 and webhook.members(fake, "hooks") == {"1"}
        forged = {**good, "webhook-id": "msg_2",
                  "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}
        assert httpx.post(f"{fake.base_url}/hooks", content=body, headers=forged).status_code == 401
        stale = {**good, "webhook-id": "msg_3", "webhook-timestamp": str(now - 3600),
                 "webhook-signature": sign(webhook.SECRET, "msg_3", now - 3600, body)}
        assert httpx.post(f"{fake.base_url}/hooks", content=body, headers=stale).status_code == 401
