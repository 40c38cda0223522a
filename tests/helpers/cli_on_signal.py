"""Run the segwarehouse CLI at a moment the test chooses, without the start-up delay of importing it.

    python cli_on_signal.py ARGS...   imports the CLI, prints "ready", waits for one line on stdin,
                                      then runs `segwarehouse ARGS...` (exit code and output as usual)

Test hooks, set in the environment (the CLI itself has none):
    SW_TEST_PAUSE_IN_APPLY=N[,M..]    inside the apply transaction, once N (then M, ..) of the four apply
                                      statements (change log, deletes, updates, inserts) have executed:
                                      print "applying" and wait for another line on stdin (or a SIGKILL)
    SW_TEST_LOCK_STALE_SECONDS=S      Snowflake's run lock: taken over when its heartbeat is S seconds old
    SW_TEST_LOCK_HEARTBEAT_SECONDS=H  and refreshed every H seconds by its holder
"""
import os
import sys

from segwarehouse import cli


def _pause_in_apply(after: set[int]) -> None:
    from segwarehouse.materialize import statements

    real = statements.apply_statements

    def paused(*args, **kwargs):
        for done, statement in enumerate(real(*args, **kwargs), start=1):
            yield statement  # the runner executes it before asking for the next one
            if done in after:
                print("applying", flush=True)
                sys.stdin.readline()

    statements.apply_statements = paused


if os.environ.get("SW_TEST_PAUSE_IN_APPLY"):
    _pause_in_apply({int(n) for n in os.environ["SW_TEST_PAUSE_IN_APPLY"].split(",")})
for name, setting, kind in (("STALE_SECONDS", "SW_TEST_LOCK_STALE_SECONDS", int),
                            ("HEARTBEAT_SECONDS", "SW_TEST_LOCK_HEARTBEAT_SECONDS", float)):
    if os.environ.get(setting):
        from segwarehouse.adapters import snowflake

        setattr(snowflake, name, kind(os.environ[setting]))

print("ready", flush=True)
sys.stdin.readline()
sys.argv = ["segwarehouse", *sys.argv[1:]]
cli.main()
