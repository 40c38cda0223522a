"""The webhook destination against its fake receiver: Standard Webhooks secrets decoded as the reference
libraries decode them, and the URL used exactly as written (VENDOR-AUDIT.md, defect 6)."""
import base64
import datetime as dt

import pytest

from fakes import webhook as fake_webhook
from helpers.fast_destinations import change, subscription
from segwarehouse.sync.destinations import destination_for
from segwarehouse.sync.destinations.webhook import secret_key, sign
from segwarehouse.sync.http import GaveUp
from segwarehouse.sync.records import Change

SUB = subscription("hooks", segment="vip", destination="hooks")
# the Standard Webhooks test vector (DESTINATIONS.md, Corrections; standard-webhooks reference library)
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR = ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def hook(url: str, secret: str = fake_webhook.SECRET):
    return destination_for("hooks", {"type": "webhook", "url": url, "secret": secret, "timeout": 2})


def test_the_standard_webhooks_test_vector_with_and_without_the_prefix():
    assert sign(VECTOR_SECRET, *VECTOR) == VECTOR_SIGNATURE
    assert sign(VECTOR_SECRET[len("whsec_"):], *VECTOR) == VECTOR_SIGNATURE  # the reference decodes any str


@pytest.mark.parametrize("secret", [
    "whsec_" + base64.b64encode(b"twenty-eight bytes of key!!!").decode().rstrip("="),  # unpadded
    base64.b64encode(b"a key given without its prefix, 40 bytes").decode(),
])
def test_receivers_using_the_reference_decoding_accept_every_form_of_secret(secret):
    assert secret_key(secret) and len(secret_key(secret)) >= 24
    with fake_webhook.FakeWebhook(secret=secret) as fake:
        dest = hook(f"{fake.base_url}/hooks", secret)
        assert dest.send(SUB, "add", [change("1"), change("2")]).rejected == {}
        assert fake_webhook.members(fake, "hooks") == {"1", "2"}


def test_a_secret_that_is_not_base64_stops_with_a_clear_message():
    with fake_webhook.make_fake() as fake:
        with pytest.raises(GaveUp, match=r"destination 'hooks' \(webhook\): the webhook `secret` is not base64"):
            hook(f"{fake.base_url}/hooks", "whsec_a").send(SUB, "add", [change("1")])
        assert fake.targets == []


@pytest.mark.parametrize("path, query", [("/segments", "?token=abc"), ("/segments/", ""),
                                         ("/in/hooks", "?sig=a%2Fb&x=1"), ("/segments", "")])
def test_the_url_is_used_exactly_as_written(path, query):
    with fake_webhook.FakeWebhook(path=path) as fake:
        assert hook(f"{fake.base_url}{path}{query}").send(SUB, "add", [change("1")]).rejected == {}
        assert fake.targets == [path + query]


def test_changed_at_is_utc_with_a_z():
    with fake_webhook.make_fake() as fake:
        dest = hook(f"{fake.base_url}/hooks")
        aware = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        dest.send(SUB, "add", [change("1"), Change("2", "2", "entered", aware, "run-1")])
        assert [c["changed_at"] for c in fake.deliveries[0]["changes"]] == ["2026-11-23T03:00:00Z"] * 2
