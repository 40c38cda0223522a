"""Run the segwarehouse CLI at a moment the test chooses, without the start-up delay of importing it.

    python cli_on_signal.py ARGS...   imports the CLI, prints "ready", waits for one line on stdin,
                                      then runs `segwarehouse ARGS...` (exit code and output as usual)
"""
import sys

from segwarehouse import cli

print("ready", flush=True)
sys.stdin.readline()
sys.argv = ["segwarehouse", *sys.argv[1:]]
cli.main()
