"""Benchmark: claims-triage evaluation per request, Signoff's compiled closures against Rego (regopy).

    .venv/bin/python bench/policy_eval.py            # full run (about a minute)
    .venv/bin/python bench/policy_eval.py --smoke    # a couple of seconds, for CI

Both engines get the same realistic mix of requests, built before timing starts (Signoff
``EvalRequest`` objects; regopy ``Input`` objects), and both produce the route, the rule and
the reasons with the deciding values. The figure is the median over repeats of the mean time per
request in one pass over the mix. regopy is timed in every mode found and the fastest is
reported. Timings only: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from gateway.policy import EvalRequest, load_policy

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "claims-triage.yaml"

# The same policy in Rego: first match wins through an else-chain, reasons carry the values.
REGO = r"""
package claims

decision := {"route": "senior", "rule": "fail_closed", "reasons": ["input.amount is missing or not a number: rule 'high_value' cannot be judged"]} if {
    not is_number(input.input.amount)
} else := {"route": "senior", "rule": "high_value", "reasons": [sprintf("input.amount %v >= 50000", [input.input.amount]), "Claims of $50,000 or more always need a senior adjuster."]} if {
    input.input.amount >= 50000
} else := {"route": "senior", "rule": "low_confidence", "reasons": [sprintf("confidence %v < 0.7", [input.confidence]), "The model is unsure; a senior adjuster decides."]} if {
    input.confidence < 0.7
} else := {"route": "junior", "rule": "review_band", "reasons": [sprintf("confidence %v <= 0.92", [input.confidence]), "Moderate confidence; a junior adjuster reviews the proposal."]} if {
    input.confidence <= 0.92
} else := {"route": "auto", "rule": "confident", "reasons": [sprintf("confidence %v > 0.92", [input.confidence]), "High confidence on a claim under $50,000."]} if {
    input.confidence > 0.92
} else := {"route": "senior", "rule": "default", "reasons": ["no rule matched; default route 'senior'"]}
"""


def request_mix(n: int, seed: int = 2) -> list[dict[str, Any]]:
    """The seed's day: ~78% confident, ~15% review band, ~7% senior, a few without an amount."""
    rng = random.Random(seed)
    mix = []
    for _ in range(n):
        roll = rng.random()
        amount: Any = round(rng.lognormvariate(8, 1), 2)
        if roll < 0.78:
            confidence = rng.uniform(0.921, 1.0)
        elif roll < 0.93:
            confidence = rng.uniform(0.70, 0.92)
        elif roll < 0.97:
            confidence = rng.uniform(0.2, 0.699)
        elif roll < 0.995:
            confidence, amount = rng.uniform(0.5, 1.0), rng.randint(50_000, 250_000)
        else:
            confidence, amount = rng.uniform(0.5, 1.0), None
        data = {"claim_type": rng.choice(["auto", "home", "travel"])}
        if amount is not None:
            data["amount"] = amount
        mix.append({"input": data, "outcome": rng.choice(["approve", "approve", "deny", "partial"]),
                    "confidence": round(confidence, 4)})
    return mix


def median_us(run: Any, per_pass: int, repeats: int) -> float:
    """Median over ``repeats`` passes of the mean microseconds per request in one pass."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) / per_pass * 1e6)
    return statistics.median(samples)


def time_signoff(mix: list[dict[str, Any]], repeats: int, loops: int) -> tuple[float, list[Any]]:
    evaluate = load_policy(POLICY).evaluate
    requests = [EvalRequest(m["input"], m["outcome"], m["confidence"]) for m in mix]

    def run() -> None:
        for _ in range(loops):
            for request in requests:
                evaluate(request)

    run()  # warm up
    return median_us(run, len(requests) * loops, repeats), [evaluate(r) for r in requests]


def time_regopy(regopy: Any, mix: list[dict[str, Any]], repeats: int) -> dict[str, tuple[float, list[Any]]]:
    """Each regopy mode: median µs per request and its decisions."""
    inputs = [regopy.Input(m) for m in mix]
    built = regopy.Interpreter()
    built.add_module("claims.rego", REGO)
    bundle = built.build("data.claims.decision", ["claims/decision"])
    modes = {
        "query (module loaded, set_input + query)": (built, lambda rego: rego.query("data.claims.decision")),
        "query_bundle (compiled bundle)": (regopy.Interpreter(), lambda rego: rego.query_bundle(bundle)),
        "query_bundle_entrypoint (compiled bundle)": (
            regopy.Interpreter(), lambda rego: rego.query_bundle_entrypoint(bundle, "claims/decision")),
    }
    results = {}
    for name, (rego, query) in modes.items():
        def run(rego: Any = rego, query: Any = query) -> None:
            for value in inputs:
                rego.set_input(value)
                query(rego)

        run()
        decisions = []
        for value in inputs:
            rego.set_input(value)
            decisions.append(json.loads(str(query(rego)))["expressions"][0])
        results[name] = (median_us(run, len(inputs), repeats), decisions)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a short run for CI")
    args = parser.parse_args(argv)
    n, repeats, loops, rego_n, rego_repeats = (
        (500, 5, 2, 100, 3) if args.smoke else (2000, 31, 10, 2000, 7))
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
          f" ({platform.python_implementation()}), {platform.system()}")
    mix = request_mix(n)
    ours, decisions = time_signoff(mix, repeats, loops)
    print(f"signoff compiled evaluator: median {ours:.3f} µs per request "
          f"({n} requests x {loops} loops, {repeats} repeats, with reasons)")
    try:
        import regopy
    except ImportError:
        print("regopy is not importable (pip install 'signoff[bench]'): Rego comparison skipped")
        return 0
    modes = time_regopy(regopy, mix[:rego_n], rego_repeats)
    for name, (us, _d) in modes.items():
        print(f"regopy {version('regopy')} {name}: median {us:.1f} µs per request")
    best = min(modes, key=lambda m: modes[m][0])
    agree = sum(d["route"] == s.route and d["rule"] == s.rule
                for d, s in zip(modes[best][1], decisions, strict=False))
    print(f"fastest regopy mode: {best}: {modes[best][0]:.1f} µs; "
          f"signoff is {modes[best][0] / ours:.0f}x faster")
    print(f"route and rule agree on {agree}/{len(modes[best][1])} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
