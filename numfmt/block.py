"""Block-scaled formats (OCP MX, NVFP4, custom). Placeholder until implemented."""

from __future__ import annotations


def is_block_format(fmt) -> bool:
    """Whether ``fmt`` names or is a block format."""
    return False
