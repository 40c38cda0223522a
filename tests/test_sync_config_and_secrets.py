"""`destinations:` and `sync:` are checked at load time (FILE:LINE, exit 2, every problem at once), and
secrets given through env_var() never show up in output, logs, artifacts or error messages."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from segwarehouse import Project

from fakes import customerio, webhook
from helpers.sync_project import FAST, people, set_people, write_sync_project


def cli(root: Path, *args: str, env: dict | None = None, log_json: bool = False) -> subprocess.CompletedProcess:
    pre = ["--project-dir", str(root)] + (["--log-format", "json"] if log_json else [])
    return subprocess.run([sys.executable, "-m", "segwarehouse.cli", *pre, *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COLUMNS": "200", **(env or {})})


PROJECT = """\
name: t
people: {table: main.users, key: user_id, identifiers: {email: email}}
destinations:
  cio:
    type: customerio
    site_id: "{{ env_var('CIO_SITE_ID') }}"
    api_key: "{{ env_var('CIO_API_KEY') }}"
    max_removal_ratio: 0.2
  typo: {type: customerioo}
  missing: {type: webhook, url: "https://example.com/h"}
  extra: {type: csv, path: out, api_kye: x}
  literal: {type: webhook, url: "https://example.com/h", secret: hunter2}
  phone: {type: csv, path: out, identifier: phone}
  ratio: {type: csv, path: out, max_removal_ratio: 2}
"""
SEGMENT = """\
name: vip
where: {attribute: plan, equals: gold}
sync:
  - {destination: cio, list: "42"}
  - {destination: cioo, list: "42"}
  - {destination: cio}
"""
BAD_ACTION = """\
name: vip2
where: {attribute: plan, equals: gold}
sync:
  - {destination: cio, list: "1", on_enter: bogus}
"""


def test_every_destination_and_subscription_problem_is_reported_with_its_line(tmp_path):
    root = tmp_path / "p"
    (root / "segments").mkdir(parents=True)
    (root / "segwarehouse.yml").write_text(PROJECT)
    (root / "segments" / "vip.yml").write_text(SEGMENT)
    (root / "segments" / "vip2.yml").write_text(BAD_ACTION)
    done = cli(root, "validate", env={"CIO_SITE_ID": "s1", "CIO_API_KEY": "k1"})
    assert done.returncode == 2, done.stdout + done.stderr
    err = " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
    for expected in [
        "segwarehouse.yml:9: destination 'typo': unknown type 'customerioo' (did you mean 'customerio'?)",
        "segwarehouse.yml:10: destination 'missing': webhook needs `secret`",
        "segwarehouse.yml:11: destination 'extra': unknown setting 'api_kye'",
        "segwarehouse.yml:12: destination 'literal': `secret` is a secret; write it as \"{{ env_var('SOME_NAME') }}\"",
        "segwarehouse.yml:13: destination 'phone': identifier 'phone' is not usable by csv",
        "segwarehouse.yml:14: destination 'ratio': `max_removal_ratio` is a number from 0 to 1, got 2",
    ]:
        assert expected in err, expected
    # segment problems are reported once the project file is sound
    (root / "segwarehouse.yml").write_text("\n".join(PROJECT.splitlines()[:8]) + "\n")
    done = cli(root, "validate", env={"CIO_SITE_ID": "s1", "CIO_API_KEY": "k1"})
    err = " ".join(done.stderr.split())
    assert done.returncode == 2
    assert "segments/vip.yml:5: segment 'vip' syncs to undeclared destination 'cioo' (did you mean 'cio'?)" in err
    assert "segments/vip.yml:6: segment 'vip': the sync to 'cio' needs `list:`" in err
    assert "segments/vip2.yml:4: `on_enter` is add or event" in err
    assert "hunter2" not in err and "k1" not in done.stderr + done.stdout


def test_a_missing_secret_env_var_is_a_usage_error_naming_it(tmp_path):
    root = tmp_path / "p"
    (root / "segments").mkdir(parents=True)
    (root / "segwarehouse.yml").write_text("\n".join(PROJECT.splitlines()[:8]) + "\n")
    done = cli(root, "sync", env={"CIO_SITE_ID": "s1"})
    assert done.returncode == 2
    assert "segwarehouse.yml:7: env_var('CIO_API_KEY') is not set" in " ".join(done.stderr.split())


def test_secrets_never_appear_in_output_logs_artifacts_or_errors(tmp_path):
    root, environ = tmp_path / "p", {}
    with customerio.make_fake() as cio, webhook.make_fake() as hook:
        write_sync_project(root, {"cio": {**customerio.settings(cio.base_url), **FAST},
                                  "hooks": {**webhook.settings(hook.base_url), **FAST},
                                  "bad": {**customerio.settings(cio.base_url), **FAST,
                                          "api_key": "wrong-key-also-secret-77"}},
                           [{"destination": "cio", "list": customerio.LIST},
                            {"destination": "hooks", "list": webhook.LIST},
                            {"destination": "bad", "list": customerio.LIST}], environ)
        # the Customer.io site id is published (its JavaScript snippet), not a secret: written literally
        secrets = [customerio.API_KEY, webhook.SECRET, "wrong-key-also-secret-77"]
        assert all(s in environ.values() for s in secrets)
        assert not any(s in (root / "segwarehouse.yml").read_text() for s in secrets)
        set_people(root, people(20, set(range(1, 9))))
        assert Project(root, environ=environ).run(as_of="2026-10-01").ok
        outputs = []
        for args, log_json in [(("sync", "--dry-run"), False), (("sync", "--dry-run"), True),
                               (("sync",), False), (("--debug", "sync", "--full"), True)]:
            done = cli(root, *args, env=environ, log_json=log_json)
            outputs.append(done.stdout + done.stderr)
            outputs.extend(p.read_text() for p in (root / "target").glob("*.json"))
            if "--dry-run" not in args:
                assert done.returncode == 1  # `bad` fails: 401
        text = "\n".join(outputs)
        assert "Customer.io refused" in text or "check site_id and api_key" in text or "check api_key" in text
        assert "would add 8" in text and '"event": "sync_summary"' in text
        for secret in secrets:
            assert secret not in text
        results = json.loads((root / "target" / "run_results.json").read_text())
        assert results["metadata"]["command"] == "sync" and not results["success"]


def test_cli_sync_writes_run_results_and_json_events(tmp_path):
    root, environ = tmp_path / "p", {}
    with customerio.make_fake() as cio:
        write_sync_project(root, {"cio": {**customerio.settings(cio.base_url), **FAST}},
                           [{"destination": "cio", "list": customerio.LIST}], environ)
        set_people(root, people(20, set(range(1, 9))))
        assert Project(root, environ=environ).run(as_of="2026-10-01").ok
        done = cli(root, "sync", env=environ, log_json=True)
        assert done.returncode == 0, done.stderr
        events = [json.loads(line) for line in done.stdout.splitlines()]
        names = [e["event"] for e in events]
        for name in ("sync_started", "subscription_started", "subscription_progress", "subscription_finished",
                     "sync_summary", "sync_done"):
            assert name in names
        finished = next(e for e in events if e["event"] == "subscription_finished")
        assert finished["sent"] == 8 and finished["status"] == "success"
        results = json.loads((root / "target" / "run_results.json").read_text())
        [entry] = results["results"]
        assert entry["unique_id"] == "sync.t.vip.cio" and entry["status"] == "success"
        assert entry["counts"]["sent"] == 8 and entry["synced_through_run_id"]
        text = cli(root, "sync", env=environ)
        assert text.returncode == 0 and "1 of 1 subscription(s) synced" in text.stdout


def test_a_customerio_site_id_may_be_literal_but_the_api_key_may_not(tmp_path):
    root = tmp_path / "p"
    (root / "segments").mkdir(parents=True)
    project = ("name: t\npeople: {table: main.users, key: user_id}\ndestinations:\n"
               "  cio: {type: customerio, site_id: 3a8f2c1d9e, api_key: \"{{ env_var('CIO_API_KEY') }}\"}\n")
    (root / "segwarehouse.yml").write_text(project)
    assert cli(root, "validate", env={"CIO_API_KEY": "k1"}).returncode == 0
    (root / "segwarehouse.yml").write_text(project.replace("\"{{ env_var('CIO_API_KEY') }}\"", "k1"))
    done = cli(root, "validate")
    assert done.returncode == 2
    assert "segwarehouse.yml:4: destination 'cio': `api_key` is a secret" in " ".join(done.stderr.split())


def test_secrets_are_data_on_each_class_and_checked_per_value(tmp_path):
    """Each destination class declares its secrets; a published identifier (Customer.io's site_id) may be
    literal, while a literal key is caught even on a line where another setting uses env_var()."""
    from segwarehouse.sync.destinations import TYPES, destination_class

    for kind in TYPES:
        assert "secret_settings" in vars(destination_class(kind)), kind  # declared, not inherited
    assert destination_class("customerio").secret_settings == ("api_key",)
    root = tmp_path / "p"
    (root / "segments").mkdir(parents=True)
    (root / "segwarehouse.yml").write_text(
        "name: t\npeople: {table: main.users, key: user_id, identifiers: {email: email}}\ndestinations:\n"
        "  cio: {type: customerio, site_id: 3a8f2c1d9e, api_key: \"{{ env_var('CIO_API_KEY') }}\"}\n"
        "  kl: {type: klaviyo, api_key: pk_literal, base_url: \"{{ env_var('KL_URL') }}\"}\n"
        "  it:\n    type: iterable\n    api_key: literal-key  # not env_var('X')\n")
    done = cli(root, "validate", env={"CIO_API_KEY": "k1", "KL_URL": "http://x"})
    err = " ".join(done.stderr.split())
    assert done.returncode == 2, done.stdout + done.stderr
    assert "segwarehouse.yml:5: destination 'kl': `api_key` is a secret" in err
    assert "segwarehouse.yml:8: destination 'it': `api_key` is a secret" in err
    assert "'cio'" not in err
