"""segwarehouse: dynamic audience segmentation as code, inside your warehouse."""
__version__ = "0.1.0"
__all__ = ["Project", "SegwarehouseError", "ValidationError", "__version__"]


def __getattr__(name: str):
    # Loaded on first use: the console script (launch.py) installs its signal handlers before any
    # heavy import (sqlglot, the compiler, even dataclasses), so Ctrl-C during start-up is handled.
    if name == "Project":
        from .api import Project

        return Project
    if name in ("SegwarehouseError", "ValidationError"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'segwarehouse' has no attribute {name!r}")
