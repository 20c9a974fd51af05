"""Generated from ``proto/signoff/oip/v2`` (the Open Inference Protocol, package ``inference``): do not edit; run ``python tools/gen_proto.py``."""
