#!/usr/bin/env python3
"""Side-by-side table of boxoffice and its peers, from boxoffice-bench/1 JSON lines.

    benches/peers/compare.py OUT/results.jsonl [--nproc N]

Reads every line of the file whose "schema" is "boxoffice-bench/1" (lines of
boxoffice-load and boxoffice-peers alike), keeps the last run of each
(system, scenario, clients), and

- prints a table for people, with the ratio of boxoffice-cluster3's
  throughput to each row's (same scenario, same clients when there is one)
  when boxoffice-cluster3 lines are present;
- writes OUT/BENCHMARKS-section.md, a section to paste into README.md;
- writes OUT/peers.svg: throughput bars and p99 latency bars per system,
  drawn by hand (no plotting library needed).

Standard library only. Exits non-zero when a run's invariant check failed.
"""

import argparse
import json
import os
import sys
from html import escape

SCHEMA = "boxoffice-bench/1"
BOXOFFICE = "boxoffice-cluster3"

# What each peer does not guarantee, one line each (benches/peers/README.md says more).
CAVEATS = {
    "postgres-single": "one server: no failover; a lost disk loses everything since the last backup",
    "postgres-sync3": "RPO 0 with one of two standbys, but failover is manual (promote, repoint clients)",
    "redis-always": "one node, fsync'd AOF, no replica: a lost machine loses everything since the last backup",
    "etcd-3": "replicated and fails over by itself; one CAS per step collapses under contention",
}


def load(path):
    runs = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                run = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"compare.py: {path}:{n}: not JSON ({e}); skipped", file=sys.stderr)
                continue
            if run.get("schema") != SCHEMA:
                continue
            runs[(run["system"], run["scenario"], run["clients"])] = run
    order = {BOXOFFICE: 0, "postgres-single": 1, "postgres-sync3": 2, "redis-always": 3, "etcd-3": 4}
    return sorted(runs.values(), key=lambda r: (r["scenario"] == "puts", order.get(r["system"], 9), r["system"], r["scenario"], r["clients"]))


def reference(runs, run):
    """The boxoffice-cluster3 run to compare `run` with, or None."""
    same = [r for r in runs if r["system"] == BOXOFFICE and r["scenario"] == run["scenario"]]
    exact = [r for r in same if r["clients"] == run["clients"]]
    return (exact or same or [None])[0]


def errors_text(run):
    errors = {k: v for k, v in run.get("errors", {}).items() if k != "sold_out"}
    text = ", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or "none"
    sold_out = run.get("errors", {}).get("sold_out")
    return text + (f" (+{sold_out} sold out)" if sold_out else "")


def rows(runs):
    header = ["system", "scenario", "clients", "per s", "commands/s", "p50 ms", "p99 ms", "p99.9 ms",
              "max ms", "errors", "sold / quota", "invariant", "boxoffice ÷ this"]
    table = []
    for run in runs:
        ref = reference(runs, run)
        ratio = "-"
        if ref is not None and run["system"] != BOXOFFICE and run["per_sec"] > 0:
            ratio = f"{ref['per_sec'] / run['per_sec']:.2f}x"
        sold = "-" if run.get("sold") is None else f"{run['sold']} / {run.get('quota_size')}"
        table.append([
            run["system"], run["scenario"], str(run["clients"]),
            f"{run['per_sec']:,.0f} {run['units']}", f"{run['commands_per_sec']:,.0f}",
            f"{run['p50_ms']:.2f}", f"{run['p99_ms']:.2f}", f"{run['p999_ms']:.2f}", f"{run['max_ms']:.1f}",
            errors_text(run), sold, "ok" if run["invariant_ok"] else "FAILED", ratio,
        ])
    return header, table


def text_table(header, table):
    widths = [max(len(r[i]) for r in [header] + table) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in table])


def machine_lines(results_path):
    """The lines of machine.txt beside the results (written by run), if any."""
    path = os.path.join(os.path.dirname(os.path.abspath(results_path)), "machine.txt")
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except OSError:
        return []


def markdown(header, table, runs, nproc, machine):
    md = ["## Peers: the same sale on PostgreSQL, Redis and etcd", ""]
    first = min((r["started_at"] for r in runs), default="?")
    clients = sorted({r["clients"] for r in runs})
    md.append(
        f"Measured by `benches/peers/run` on {nproc} cores ({first}), every server and the load generator "
        f"on this one machine, on loopback; closed loop, {', '.join(map(str, clients))} clients. "
        "A sale is three steps (reserve against the quota, order, pay), each durable before it is answered."
    )
    md.append("")
    md.append("| " + " | ".join(header) + " |")
    md.append("|" + "---|" * len(header))
    for r in table:
        md.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    md.append("")
    if machine:
        md.append("The machine (`machine.txt`; `loadavg-before` is the 1, 5 and 15 minute load before each run):")
        md.append("")
        md.append("```")
        md.extend(machine)
        md.append("```")
        md.append("")
    md.append("What each peer does not guarantee (more in `benches/peers/README.md`):")
    md.append("")
    for system in sorted({r["system"] for r in runs}):
        if system in CAVEATS:
            md.append(f"- `{system}`: {CAVEATS[system]}.")
    md.append("")
    md.append("![throughput and p99 per system](peers.svg)")
    md.append("")
    return "\n".join(md)


def svg(runs, nproc):
    """Two panels of horizontal bars: throughput, and p99 latency."""
    label = lambda r: f"{r['system']} {r['scenario']} ({r['clients']} cl.)"
    width, left, bar_w, bar_h, gap, top = 1080, 260, 300, 18, 8, 56
    height = top + len(runs) * (bar_h + gap) + 40
    max_rate = max((r["per_sec"] for r in runs), default=1) or 1
    max_p99 = max((r["p99_ms"] for r in runs), default=1) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="15" font-weight="bold">boxoffice and its peers, same sale, {nproc} cores, loopback</text>',
        f'<text x="{left}" y="44" font-weight="bold">throughput (sales or puts per second)</text>',
        f'<text x="{left + bar_w + 120}" y="44" font-weight="bold">p99 latency (ms)</text>',
    ]
    for i, run in enumerate(runs):
        y = top + i * (bar_h + gap)
        colour = "#1f6feb" if run["system"].startswith("boxoffice") else ("#888888" if run["units"] == "puts" else "#d97706")
        if not run["invariant_ok"]:
            colour = "#dc2626"
        w1 = max(1.0, bar_w * run["per_sec"] / max_rate)
        w2 = max(1.0, bar_w * run["p99_ms"] / max_p99)
        x2 = left + bar_w + 120
        out += [
            f'<text x="{left - 8}" y="{y + 13}" text-anchor="end">{escape(label(run))}</text>',
            f'<rect x="{left}" y="{y}" width="{w1:.1f}" height="{bar_h}" fill="{colour}"/>',
            f'<text x="{left + w1 + 4:.1f}" y="{y + 13}">{run["per_sec"]:,.0f}</text>',
            f'<rect x="{x2}" y="{y}" width="{w2:.1f}" height="{bar_h}" fill="{colour}" opacity="0.7"/>',
            f'<text x="{x2 + w2 + 4:.1f}" y="{y + 13}">{run["p99_ms"]:.1f}</text>',
        ]
    out.append(
        f'<text x="10" y="{height - 12}" fill="#555">blue: boxoffice; orange: peers, sales; grey: etcd raw puts; '
        'red: invariant check failed. Bars are linear, each panel to its own maximum.</text>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="a results.jsonl of boxoffice-bench/1 lines")
    parser.add_argument("--nproc", type=int, default=os.cpu_count(), help="cores of the machine measured on")
    args = parser.parse_args()
    runs = load(args.results)
    if not runs:
        print(f"compare.py: no {SCHEMA} lines in {args.results}", file=sys.stderr)
        return 1
    header, table = rows(runs)
    print(text_table(header, table))
    print(f"\n{args.nproc} cores (nproc).", end=" ")
    if not any(r["system"] == BOXOFFICE for r in runs):
        print(f"No {BOXOFFICE} lines in the file: append boxoffice-load's --json output to compare.")
    else:
        print(f"Last column: {BOXOFFICE}'s throughput divided by the row's, same scenario.")
    out_dir = os.path.dirname(os.path.abspath(args.results))
    with open(os.path.join(out_dir, "BENCHMARKS-section.md"), "w", encoding="utf-8") as f:
        f.write(markdown(header, table, runs, args.nproc, machine_lines(args.results)))
    with open(os.path.join(out_dir, "peers.svg"), "w", encoding="utf-8") as f:
        f.write(svg(runs, args.nproc))
    print(f"wrote {out_dir}/BENCHMARKS-section.md and {out_dir}/peers.svg")
    return 0 if all(r["invariant_ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
