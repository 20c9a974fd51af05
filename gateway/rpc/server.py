"""Build the gRPC server: servicers, the call interceptor, health, reflection, limits, TLS."""

from __future__ import annotations

from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway.review.service import ReviewService
from gateway.rpc.auth import Authenticator
from gateway.rpc.interceptors import CallInterceptor
from gateway.rpc.metrics import Metrics
from gateway.rpc.audit_servicer import AuditReader, AuditServicer
from gateway.rpc.servicers import DecisionServicer, PolicyServicer, ReviewServicer
from signoff.v1 import audit_pb2, audit_pb2_grpc, decision_pb2, decision_pb2_grpc, policy_pb2, policy_pb2_grpc
from signoff.v1 import review_pb2, review_pb2_grpc

__all__ = ["POLICY_HEALTH", "MAX_MESSAGE_BYTES", "RpcServer", "build_server"]

#: The transport refuses larger messages with RESOURCE_EXHAUSTED before any handler runs;
#: smaller but still oversized fields are refused by the handlers with INVALID_ARGUMENT.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: Health name that turns NOT_SERVING while the last policy reload was refused.
POLICY_HEALTH = "signoff.policies"

_SERVICES = (
    decision_pb2.DESCRIPTOR.services_by_name["DecisionService"].full_name,
    review_pb2.DESCRIPTOR.services_by_name["ReviewService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
    policy_pb2.DESCRIPTOR.services_by_name["PolicyService"].full_name,
)


@dataclass
class RpcServer:
    """A started server, its bound port, and its health servicer."""

    server: grpc.Server
    port: int
    health: health.HealthServicer

    def set_policy_health(self, ok: bool) -> None:
        """Show the outcome of the last policy reload under ``signoff.policies``."""
        status = health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING
        self.health.set(POLICY_HEALTH, status)

    def stop(self, grace: float | None = 2.0) -> None:
        """Stop accepting calls and finish the ones in flight within ``grace`` seconds."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def build_server(
    address: str,
    service: ReviewService,
    audit: AuditReader,
    auth: Authenticator,
    metrics: Metrics,
    *,
    tls: tuple[bytes, bytes] | None = None,
    max_workers: int = 64,
) -> RpcServer:
    """Create, bind and start the server; ``tls`` is (private key PEM, certificate chain PEM)."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
        interceptors=[CallInterceptor(auth, metrics)],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    decision_pb2_grpc.add_DecisionServiceServicer_to_server(DecisionServicer(service, metrics), server)
    review_pb2_grpc.add_ReviewServiceServicer_to_server(ReviewServicer(service, metrics), server)
    audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(audit), server)
    policy_pb2_grpc.add_PolicyServiceServicer_to_server(PolicyServicer(service), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = (*_SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    try:
        if tls is not None:
            port = server.add_secure_port(address, grpc.ssl_server_credentials([tls]))
        else:
            port = server.add_insecure_port(address)
    except RuntimeError:
        port = 0
    if port == 0:
        raise OSError(f"could not bind {address}")
    server.start()
    for name in ("", *_SERVICES, POLICY_HEALTH):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RpcServer(server=server, port=port, health=health_servicer)
