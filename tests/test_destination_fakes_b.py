"""The sendpulse, sender and iterable fakes follow tests/fakes' convention (TYPE, LIST, make_fake,
settings, members), so end-to-end sync tests can drive them alike; under injected faults (429, 500,
drops, timeouts) every change still lands and resends do no harm."""
import importlib

import pytest

from fakes.server import Faults
from helpers.fast_destinations import change, fast, subscription
from segwarehouse.sync.destinations import TYPES, destination_for

MODULES = ["sendpulse", "sender", "iterable"]


@pytest.mark.parametrize("name", MODULES)
def test_fake_module_follows_the_convention(name):
    module = importlib.import_module(f"fakes.{name}")
    assert module.TYPE == name and module.TYPE in TYPES
    with module.make_fake() as fake:
        dest = destination_for("d", module.settings(fake.base_url))
        sub = subscription(module.LIST)
        batch = [change(f"p{i}@example.com", fields={"i": i}) for i in range(5)]
        assert dest.send(sub, "add", batch).rejected == {}
        assert module.members(fake, module.LIST) == {f"p{i}@example.com" for i in range(5)}
        assert dest.send(sub, "remove", batch[:2]).rejected == {}
        assert module.members(fake, module.LIST) == {f"p{i}@example.com" for i in range(2, 5)}
        dest.close()


@pytest.mark.parametrize("name", MODULES)
def test_every_change_lands_under_injected_faults(name):
    module = importlib.import_module(f"fakes.{name}")
    faults = Faults(too_many=0.1, server_error=0.1, drop=0.05, timeout=0.05, timeout_seconds=0.3, seed=7)
    with module.make_fake(faults) as fake:
        dest = fast(destination_for("d", {**module.settings(fake.base_url), "timeout": 0.15}), max_attempts=40)
        sub = subscription(module.LIST)
        people = [change(f"p{i}@example.com", fields={"i": i}) for i in range(30)]
        for start in range(0, 30, 10):
            assert dest.send(sub, "add", people[start:start + 10]).rejected == {}
        assert module.members(fake, module.LIST) == {f"p{i}@example.com" for i in range(30)}
        for start in range(0, 30, 10):
            assert dest.send(sub, "remove", people[start:start + 5]).rejected == {}
        assert module.members(fake, module.LIST) == {f"p{i}@example.com" for i in range(30) if i % 10 >= 5}
        assert dest.http.stats.retried > 0
        dest.close()
