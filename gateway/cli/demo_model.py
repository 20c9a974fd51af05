"""``signoff demo --model``: the claims day with every proposal from a served model, not from the caller.

It starts a gateway of its own (``signoff serve`` on 127.0.0.1, port 0) on a fresh SQLite file
under ``--model-dir``, with the shipped claims policy taking its proposal from the model
(``proposal: {source: model, binding: claims-demo-model}``) and a bindings file that serves the
demo's claims model in process (``gateway.demo:served_model``). The demo then sends inputs only;
a proposal in the request would be refused. The database stays for ``signoff report`` and
``signoff audit``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway import demo
from gateway.cli import CommandError

__all__ = ["BINDINGS", "model_gateway", "own_gateway", "sla_gateway"]

BINDINGS = f"""\
# Written by `signoff demo --model`: the demo's claims model, served in the gateway's process.
apiVersion: signoff.dev/v1
kind: ModelBindings
bindings:
  claims-demo-model:
    backend: python
    address: gateway.demo:served_model
    model: {demo.MODEL}
    version: "{demo.MODEL_VERSION}"
    deadline: 2s
    input: [amount, claim_type, policy_holder_tenure_years, prior_claims_12m, region]
    labels: [approve, partial, deny]
"""


@contextmanager
def model_gateway(policies: Path, principals: Path, workdir: Path) -> Iterator[tuple[str, Path]]:
    """A gateway whose claims.payout proposals come from the served model: (address, database file)."""
    text = _claims_text(policies)
    served = _fresh_policies(policies, workdir)
    (served / "claims-triage.yaml").write_text(
        text.rstrip("\n") + "\nproposal: {source: model, binding: claims-demo-model}\n", encoding="utf-8"
    )
    models = workdir / "models.yaml"
    models.write_text(BINDINGS, encoding="utf-8")
    with own_gateway(served, principals, workdir, "--models", str(models)) as running:
        yield running


def _claims_text(policies: Path) -> str:
    source = policies / "claims-triage.yaml"
    if not source.is_file():
        raise CommandError(f"--policies {policies}: no claims-triage.yaml to serve", code=1)
    return source.read_text(encoding="utf-8")


def _fresh_policies(policies: Path, workdir: Path) -> Path:
    """``workdir/policies``, emptied, with the policy schema copied in."""
    workdir.mkdir(parents=True, exist_ok=True)
    served = workdir / "policies"
    if served.exists():
        shutil.rmtree(served)
    served.mkdir()
    if (policies / "schema").is_dir():
        shutil.copytree(policies / "schema", served / "schema")
    return served


JUNIOR_SLA = "sla: {due: 4h, warn: 3h, on_timeout: {action: escalate, queue: senior}}"
"""The shipped claims policy's junior SLA, which the SLA drill cuts to seconds."""


@contextmanager
def sla_gateway(policies: Path, principals: Path, workdir: Path, due_seconds: int) -> Iterator[tuple[str, Path]]:
    """A gateway serving the shipped claims policy with its junior SLA due after ``due_seconds``
    instead of 4 hours (same escalation to senior), its timers swept every half second."""
    text = _claims_text(policies)
    if JUNIOR_SLA not in text:
        raise CommandError(f"--policies {policies}: the claims policy has no junior SLA of 4h to shorten", code=1)
    short = f"sla: {{due: {due_seconds}s, on_timeout: {{action: escalate, queue: senior}}}}"
    served = _fresh_policies(policies, workdir)
    (served / "claims-triage.yaml").write_text(text.replace(JUNIOR_SLA, short), encoding="utf-8")
    with own_gateway(served, principals, workdir, "--sweep-seconds", "0.5") as running:
        yield running


@contextmanager
def own_gateway(served: Path, principals: Path, workdir: Path, *extra: str) -> Iterator[tuple[str, Path]]:
    """``signoff serve`` on 127.0.0.1 (port 0) with the policies in ``served`` on a fresh SQLite
    file under ``workdir``, stopped on exit: (address, database file)."""
    db = workdir / "signoff.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)  # each run is its own day
    argv = [
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        "--no-checkpoints",
        "--address",
        "127.0.0.1:0",
        "--db",
        f"sqlite:///{db}",
        "--policies",
        str(served),
        "--principals",
        str(principals),
        "--monitor-seconds",
        "0",
        "--log-level",
        "warning",
        *extra,
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("signoff: serving on "):
            err = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
            raise CommandError(f"the demo's own gateway did not start: {err[-1] if err else line.strip()}", code=1)
        yield line.split()[3], db
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
