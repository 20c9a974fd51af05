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

__all__ = ["BINDINGS", "model_gateway"]

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
    source = policies / "claims-triage.yaml"
    if not source.is_file():
        raise CommandError(f"--policies {policies}: no claims-triage.yaml to serve the model-backed day", code=1)
    workdir.mkdir(parents=True, exist_ok=True)
    served = workdir / "policies"
    if served.exists():
        shutil.rmtree(served)
    served.mkdir()
    if (policies / "schema").is_dir():
        shutil.copytree(policies / "schema", served / "schema")
    text = source.read_text(encoding="utf-8")
    (served / "claims-triage.yaml").write_text(
        text.rstrip("\n") + "\nproposal: {source: model, binding: claims-demo-model}\n", encoding="utf-8"
    )
    models = workdir / "models.yaml"
    models.write_text(BINDINGS, encoding="utf-8")
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
        "--models",
        str(models),
        "--monitor-seconds",
        "0",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("signoff: serving on "):
            err = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
            raise CommandError(f"the model-backed gateway did not start: {err[-1] if err else line.strip()}", code=1)
        yield line.split()[3], db
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
