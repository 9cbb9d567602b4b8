"""Front end: the ``datakeeper`` command line. Thin: parses, calls features, prints."""
