"""Package and model caches: where they are, how each is cleaned."""
