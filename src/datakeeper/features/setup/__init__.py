"""Initial setup: the six steps, the site config file, Miniconda and uv, the sudo policy."""
