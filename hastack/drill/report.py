"""The drill report: the seed's figures beside what was measured and what `simulate` predicted."""
from __future__ import annotations

from hastack.drill.plot import timeline_name
from hastack.drill.scenarios import SCENARIOS


def _windows(windows) -> str:
    return ", ".join(f"{b - a:.0f}s" if b != float("inf") else f"from T+{a:.0f}s" for a, b in windows) or "-"


def render_report(results) -> str:
    lines = [
        "| # | scenario | SQL disruption seed / here | fenced: seed / here | ping down here | recovered | "
        "simulate predicted | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        seed = SCENARIOS[r.scenario].seed
        fenced = ", ".join(f.split(": ", 1)[-1].split(".")[0] for f in r.fenced) or "none"
        pings = "; ".join(f"{host} {_windows(w)}" for host, w in r.pings.items() if w) or "none"
        sql = f"{r.sql.seconds:.0f}s ({r.sql.failed_tries} failed tries)" if r.sql else "?"
        recovered = f"{r.recovered_s:.0f}s" if r.recovered_s is not None else "NOT"
        verdict = "passed" if r.ok else "FAILED: " + "; ".join(f"{w} ({d})" for w, ok, d in r.checks if not ok)
        lines.append(f"| {r.scenario} | {r.title} | {seed.sql_s:.0f}s / {sql} | {seed.fenced} / {fenced} | {pings} "
                     f"| {recovered} | {r.predicted or '-'} | {verdict} |")
    lines.append("")
    for r in results:
        lines.append(f"## {r.scenario}: {r.title}")
        lines.append("")
        lines.append(f"![{r.scenario}: both layers' events, the failed writes, pings and the seed's figure]"
                     f"({timeline_name(r.scenario)})")
        lines.append("")
        lines += [f"- {'ok' if ok else 'FAILED'}: {what}: {detail}" for what, ok, detail in r.checks]
        if r.failed_actions:
            lines.append("- failed actions seen (cleaned up): " + "; ".join(r.failed_actions))
        lines += [f"- finding: {finding}" for finding in r.findings]
        lines.append("")
        lines.append("| T+ | layer | host | event |")
        lines.append("|---|---|---|---|")
        lines += [f"| {e.ts - r.t0:+.1f}s | {e.layer} | {e.host} | {e.kind}: {e.detail} |" for e in r.events]
        lines.append("")
    return "\n".join(lines) + "\n"
