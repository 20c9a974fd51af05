"""Generated code of external protocols Signoff speaks as a client, quarantined like ``signoff.v1``."""
