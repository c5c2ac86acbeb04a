"""ipad-iqa: IPAD-CLIP local perceptual artifact assessment, registered as pyiqa metrics on import."""

from ipad_iqa.factory import create_model
from ipad_iqa.output import ARTIFACT_CLASSES, IPADOutput
from ipad_iqa.pyiqa_plugin import register
from ipad_iqa.registry import list_variants

__version__ = "0.1.0"
__all__ = ["ARTIFACT_CLASSES", "IPADOutput", "create_model", "list_variants", "register", "__version__"]

register()
