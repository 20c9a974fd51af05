"""Several gateway processes on one port (``serve --reuse-port``) share one database and one chain."""

from __future__ import annotations

import subprocess

import grpc

from signoff.v1 import audit_pb2
from tests.conftest import Client, auth, serve_argv, spawn_serve
from tests.gateway.helpers import claim_request


class TestReusePort:
    """SO_REUSEPORT is opt-in: with it two processes serve one port, without it the second refuses."""

    def test_two_processes_serve_one_port_and_keep_one_chain(self, db_url, policy_dir):
        """Decides spread over two processes on one port; the chain over both verifies."""
        first, address = spawn_serve(db_url, policy_dir, "--reuse-port")
        second = None
        try:
            second, second_address = spawn_serve(db_url, policy_dir, "--reuse-port", "--address", address)
            assert second_address == address
            options = (("grpc.use_local_subchannel_pool", 1),)
            ids = []
            for i in range(16):  # a new connection each time: the kernel picks a process for each
                with grpc.insecure_channel(address, options=options) as ch:
                    reply = Client(ch, address).decisions.Decide(
                        claim_request(request_id=f"reuse-{i}"), metadata=auth("caller"), timeout=30
                    )
                    ids.append(reply.decision.decision_id)
            with grpc.insecure_channel(address) as ch:
                report = Client(ch, address).audit.VerifyChain(
                    audit_pb2.VerifyChainRequest(), metadata=auth("carol"), timeout=60
                )
            assert len(set(ids)) == 16
            assert report.ok and report.count >= 16
        finally:
            for proc in (first, second):
                if proc is not None:
                    proc.terminate()
                    proc.wait(timeout=30)

    def test_without_the_flag_a_port_in_use_is_one_line(self, db_url, policy_dir):
        """A second gateway on a port in use, without --reuse-port, exits non-zero with one line."""
        first, address = spawn_serve(db_url, policy_dir)
        try:
            argv = serve_argv(db_url, policy_dir)
            argv[argv.index("--address") + 1] = address
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        finally:
            first.terminate()
            first.wait(timeout=30)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode != 0
        assert len(lines) == 1 and address in lines[0], done.stderr
