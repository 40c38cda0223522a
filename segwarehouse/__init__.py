"""segwarehouse: dynamic audience segmentation as code, inside your warehouse."""
__version__ = "0.1.0"

from .api import Project  # noqa: E402
from .errors import SegwarehouseError, ValidationError  # noqa: E402

__all__ = ["Project", "SegwarehouseError", "ValidationError", "__version__"]
