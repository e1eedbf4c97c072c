"""Networks to put attention modules in: small ones that train on a CPU in seconds."""
from .factory import ATTENTION_NAMES, make_attention
from .small import TinyCNN

__all__ = ["ATTENTION_NAMES", "TinyCNN", "make_attention"]
