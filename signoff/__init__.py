"""Generated gRPC code for the Signoff API (``signoff.v1``); rebuilt by ``python tools/gen_proto.py``.

Quarantined: only ``gateway.rpc`` and the command-line clients import it.
"""
