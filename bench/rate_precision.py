"""10 numbers at 80 messages/s for 60 s: no one-second window above 80 for any number (from
the sandbox's own stats), and utilisation (sent / allowed) >= 95%.

Usage: .venv/bin/python bench/rate_precision.py [seconds] [numbers] [rate] [processes]"""

from __future__ import annotations

import sys

from _campaign import run_campaign
from _setup import Sandbox, django_setup, emit, peak_rss_mb


def main(seconds: int, numbers: int, rate: int, processes: int = 1) -> None:
    django_setup()
    sandbox = Sandbox("--sent-delay", "30", "--read-ratio", "0")  # statuses off the hot path
    try:
        run = run_campaign(
            sandbox_url=sandbox.url,
            numbers=numbers,
            rate=rate,
            recipients=numbers * rate * seconds,
            threads=numbers,
            budget_seconds=seconds * 3,
            processes=processes,
        )
        stats = sandbox.stats()["numbers"]
    finally:
        sandbox.stop()
    per = [stats[n.phone_number_id] for n in run["numbers"]]
    windows = [p["max_per_second"] for p in per]
    spans = [max(p["last_accept_at"] - p["first_accept_at"], 1e-9) for p in per]
    utilisation = [
        p["accepted"] / (rate * (span + 1 / rate)) for p, span in zip(per, spans, strict=True)
    ]
    emit(
        {
            "benchmark": "rate_precision",
            "numbers": numbers,
            "rate_per_number": rate,
            "drainer_processes": processes,
            "planned_seconds": seconds,
            "accepted": sum(p["accepted"] for p in per),
            "elapsed_seconds": round(run["elapsed"], 1),
            "max_in_any_one_second_window": max(windows),
            "numbers_over_the_rate": sum(w > rate for w in windows),
            "utilisation_min": round(min(utilisation), 3),
            "utilisation_mean": round(sum(utilisation) / len(utilisation), 3),
            "rejected_by_sandbox": sum(sum(p["rejected"].values()) for p in per),
            "peak_rss_mb": peak_rss_mb(),
            "targets": {"max_window": rate, "utilisation": 0.95},
        }
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*(args + [60, 10, 80, 1][len(args) :]))
