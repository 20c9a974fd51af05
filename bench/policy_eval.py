"""Benchmark: claims-triage evaluation per request, Signoff's generated evaluator against Rego (regopy).

    .venv/bin/python bench/policy_eval.py            # full run (about two minutes)
    .venv/bin/python bench/policy_eval.py --smoke    # a few seconds, for CI
    .venv/bin/python bench/policy_eval.py --bands    # inline comparisons against the bisect index

All engines get the same realistic mix of requests, built before timing starts (Signoff
``EvalRequest`` objects; regopy ``Input`` objects), and all produce the route, the rule and the
reasons with the deciding values. Timing is interleaved: each round times one pass of every
engine in turn (Signoff's generated code, Signoff's closures, each regopy mode), so that a shared
machine's drift falls on all of them alike; a figure is the median over rounds of the mean time
per request in one pass. The fastest regopy mode is the yardstick. Timings only: nothing here
asserts a speed.

``--bands`` times a policy of N confidence bands (N - 1 ``lt`` rules and one ``gte``) three
ways: the generated code comparing rule by rule, the generated code with the run as one bisect
(``gateway/policy/index.py``), and the closures; it is what ``INDEX_MIN_RULES`` is chosen from.
It reports each engine's fastest round, as small differences drown in a shared machine's bursts.
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
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from gateway.policy import EvalRequest, PolicyRef, load_policy
from gateway.policy.compiler import fail_closed_queue
from gateway.policy.evaluator import CompiledRule, build_evaluator, compile_condition

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "claims-triage.yaml"
GENERATED, CLOSURES = "signoff generated evaluator", "signoff closures (the plain evaluator)"

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
        mix.append(
            {
                "input": data,
                "outcome": rng.choice(["approve", "approve", "deny", "partial"]),
                "confidence": round(confidence, 4),
            }
        )
    return mix


def timed(run: Callable[[], Any], per_pass: int) -> float:
    """Mean microseconds per request over one pass of ``run``."""
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) / per_pass * 1e6


def interleave(
    runners: dict[str, tuple[Callable[[], Any], int]],
    rounds: int,
    pick: Callable[[list[float]], float] = statistics.median,
) -> dict[str, float]:
    """µs per request of each runner (median over rounds, or ``pick``), one pass of each in turn per round."""
    for run, _n in runners.values():
        run()  # warm up
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, (run, per_pass) in runners.items():
            samples[name].append(timed(run, per_pass))
    return {name: pick(values) for name, values in samples.items()}


def signoff_runners(
    mix: list[dict[str, Any]], loops: int
) -> tuple[dict[str, tuple[Callable[[], Any], int]], list[Any]]:
    """The generated evaluator (what ``load_policy`` gives) and the closures, over the mix."""
    policy = load_policy(POLICY)
    doc = yaml.safe_load(policy.source_text)
    rules = [CompiledRule(r["name"], r["to"], compile_condition(r["when"]), r.get("reason")) for r in doc["rules"]]
    closures = build_evaluator(
        policy.ref, rules, doc["default"], fail_closed_queue(doc), doc["outcomes"], generated=False
    )
    requests = [EvalRequest(m["input"], m["outcome"], m["confidence"]) for m in mix]
    decisions = [policy.evaluate(r) for r in requests]
    if decisions != [closures(r) for r in requests]:
        raise SystemExit("the generated evaluator and the closures disagree on the mix")
    runners = {}
    for name, evaluate in ((GENERATED, policy.evaluate), (CLOSURES, closures)):

        def run(evaluate: Callable[[EvalRequest], Any] = evaluate) -> None:
            for _ in range(loops):
                for request in requests:
                    evaluate(request)

        runners[name] = (run, len(requests) * loops)
    return runners, decisions


def regopy_runners(
    regopy: Any, mix: list[dict[str, Any]]
) -> tuple[dict[str, tuple[Callable[[], Any], int]], dict[str, list[Any]]]:
    """Each regopy mode over the mix (the slow ``query`` mode over its first 200), and its decisions."""
    inputs = [regopy.Input(m) for m in mix]
    built = regopy.Interpreter()
    built.add_module("claims.rego", REGO)
    bundle = built.build("data.claims.decision", ["claims/decision"])
    modes = {
        "query (module loaded, set_input + query)": (built, lambda rego: rego.query("data.claims.decision")),
        "query_bundle (compiled bundle)": (regopy.Interpreter(), lambda rego: rego.query_bundle(bundle)),
        "query_bundle_entrypoint (compiled bundle)": (
            regopy.Interpreter(),
            lambda rego: rego.query_bundle_entrypoint(bundle, "claims/decision"),
        ),
    }
    runners, decisions = {}, {}
    for name, (rego, query) in modes.items():
        subset = inputs[:200] if name.startswith("query (") else inputs

        def run(rego: Any = rego, query: Any = query, subset: list[Any] = subset) -> None:
            for value in subset:
                rego.set_input(value)
                query(rego)

        runners[f"regopy {version('regopy')} {name}"] = (run, len(subset))
        answers = []
        for value in subset:
            rego.set_input(value)
            answers.append(json.loads(str(query(rego)))["expressions"][0])
        decisions[f"regopy {version('regopy')} {name}"] = answers
    return runners, decisions


def bands(rounds: int, sizes: list[int]) -> None:
    """Generated inline, generated with the bisect index, and closures, on N-band policies."""
    rng = random.Random(3)
    requests = [EvalRequest({}, "approve", round(rng.random(), 4)) for _ in range(2000)]
    ref = PolicyRef("bands", 1, "0" * 64)
    print("fastest round of each (a shared machine's load comes in bursts; the least-disturbed round compares best)")
    print("| bands | generated, inline (µs) | generated, one bisect (µs) | closures (µs) |")
    print("|---|---|---|---|")
    for n in sizes:
        rules = [
            CompiledRule(f"b{i}", "auto", compile_condition({"confidence": {"lt": (i + 1) / n}}), "r")
            for i in range(n - 1)
        ]
        rules.append(CompiledRule("top", "auto", compile_condition({"confidence": {"gte": (n - 1) / n}}), "r"))
        engines = {
            "inline": build_evaluator(ref, rules, "junior", "senior", ["approve"], index_min_rules=10**9),
            "bisect": build_evaluator(ref, rules, "junior", "senior", ["approve"], index_min_rules=1),
            "closures": build_evaluator(ref, rules, "junior", "senior", ["approve"], generated=False),
        }
        answers = [[e(r) for r in requests] for e in engines.values()]
        if not answers[0] == answers[1] == answers[2]:
            raise SystemExit(f"{n} bands: the engines disagree")
        runners = {}
        for name, evaluate in engines.items():

            def run(evaluate: Callable[[EvalRequest], Any] = evaluate) -> None:
                for request in requests:
                    evaluate(request)

            runners[name] = (run, len(requests))
        us = interleave(runners, rounds, min)
        print(f"| {n} | {us['inline']:.3f} | {us['bisect']:.3f} | {us['closures']:.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a short run for CI")
    parser.add_argument("--bands", action="store_true", help="inline comparisons against the bisect index")
    args = parser.parse_args(argv)
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
        f" ({platform.python_implementation()}), {platform.system()}"
    )
    if args.bands:
        bands(5 if args.smoke else 41, [3, 8] if args.smoke else [3, 5, 9, 17, 33, 65])
        return 0
    n, loops, rounds = (300, 2, 3) if args.smoke else (2000, 10, 15)
    mix = request_mix(n)
    runners, decisions = signoff_runners(mix, loops)
    try:
        import regopy
    except ImportError:
        us = interleave(runners, rounds)
        print(f"signoff generated: median {us[GENERATED]:.3f} µs, closures {us[CLOSURES]:.3f} µs per request")
        print("regopy is not importable (pip install 'signoff[bench]'): Rego comparison skipped")
        return 0
    rego_runners, rego_decisions = regopy_runners(regopy, mix)
    us = interleave({**runners, **rego_runners}, rounds)
    print(f"{n} requests ({loops} loops per pass for Signoff), {rounds} interleaved rounds, with reasons")
    for name in us:
        print(f"{name}: median {us[name]:.3f} µs per request")
    best = min(rego_runners, key=lambda m: us[m])
    agree = sum(
        d["route"] == s.route and d["rule"] == s.rule for d, s in zip(rego_decisions[best], decisions, strict=False)
    )
    print(
        f"fastest regopy mode: {best.removeprefix('regopy ')}: {us[best]:.1f} µs; "
        f"signoff generated is {us[best] / us[GENERATED]:.0f}x faster (closures {us[best] / us[CLOSURES]:.0f}x)"
    )
    print(f"route and rule agree on {agree}/{len(rego_decisions[best])} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
