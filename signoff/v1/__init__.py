"""Generated from ``proto/signoff/v1``: do not edit; run ``python tools/gen_proto.py``."""
