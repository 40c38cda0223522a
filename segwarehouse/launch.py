"""The `segwarehouse` console script. Ctrl-C and SIGTERM are handled from its first line, so an
interrupt while the CLI's modules still load (sqlglot, click, the drivers: most of the start-up)
also says so in one line and exits 130, never a KeyboardInterrupt traceback."""
from . import interrupts

interrupts.install()


def main() -> None:
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt:
        interrupts.exit_now()
    cli_main()
