#!/usr/bin/env python3
"""Writes workloads/traces/azure-synthetic.csv: a small, seeded, synthetic day in the layout of the
Azure Functions 2019 public trace (HashOwner,HashApp,HashFunction,Trigger,1..1440 invocations per
minute), with the kinds of functions Shahrad et al. (ATC'20) describe: timers, sparse HTTP
functions hours apart, office-hours and batch bursts, and a few busy ones. Used by the tests and
the README's `coldbench replay` example; regenerate with `python3 scripts/synthetic_azure_trace.py`.
"""
import math
import random

MINUTES = 1440
rng = random.Random(2026)
rows = []


def add(owner, app, function, trigger, counts):
    assert len(counts) == MINUTES
    rows.append([owner, app, function, trigger] + [str(c) for c in counts])


def poisson(mean):
    # Knuth's method: fine for the small means used here.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# Timers: exactly every N minutes.
for n, period in enumerate([5, 15, 30, 60]):
    add("owner-timers", "app-timers", f"timer-{period}m", "timer",
        [1 if m % period == 0 else 0 for m in range(MINUTES)])

# Sparse HTTP functions: Poisson arrivals with a mean gap from minutes to hours.
for gap in [5, 12, 30, 60, 180, 480]:
    add("owner-web", f"app-sparse-{gap}m", f"sparse-{gap}m", "http",
        [poisson(1.0 / gap) for _ in range(MINUTES)])

# Office hours: busy 09:00-17:00, silent otherwise.
for rate in [0.5, 2.0]:
    add("owner-web", "app-office", f"office-{rate}", "http",
        [poisson(rate) if 9 * 60 <= m < 17 * 60 else 0 for m in range(MINUTES)])

# Bursts: 20 invocations within a minute every 2 hours, and a nightly batch.
add("owner-jobs", "app-jobs", "burst-2h", "queue", [20 if m % 120 == 7 else 0 for m in range(MINUTES)])
add("owner-jobs", "app-jobs", "nightly-batch", "queue",
    [100 if 120 <= m < 125 else 0 for m in range(MINUTES)])

# Busy functions with a diurnal shape.
for base in [30, 120]:
    add("owner-api", "app-api", f"busy-{base}", "http",
        [poisson(base * (1.0 + 0.6 * math.sin(2 * math.pi * (m - 360) / MINUTES))) for m in range(MINUTES)])

with open("workloads/traces/azure-synthetic.csv", "w") as f:
    f.write(",".join(["HashOwner", "HashApp", "HashFunction", "Trigger"] + [str(m) for m in range(1, MINUTES + 1)]) + "\n")
    for row in rows:
        f.write(",".join(row) + "\n")
