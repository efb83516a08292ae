"""Repository tools that are not pipeline stages."""
