"""`fenghuo demo generate`: synthetic alliance data (seeded, reproducible) for trying and benchmarking."""

from __future__ import annotations

from pathlib import Path

import typer

from ingest import demo

demo_app = typer.Typer(help="Synthetic alliance data.", no_args_is_help=True)


@demo_app.command("generate")
def generate(
    rows: int = typer.Option(..., "--rows", min=1, help="number of lead rows"),
    out: Path = typer.Option(..., "--out", help="CSV file to write (UTF-8 with BOM, Chinese headers)"),
    seed: int = typer.Option(7, "--seed", help="same seed, same file"),
    members: int = typer.Option(1, "--members", min=1, help="size of the simulated alliance"),
    member: int = typer.Option(0, "--member", min=0, help="which member's batch (0-based); gangs overlap across members"),
    dirty_ratio: float = typer.Option(0.02, "--dirty-ratio", min=0.0, max=0.5, help="share of deliberately bad rows"),
) -> None:
    """Write a realistic lead batch: valid CN mobiles, IDs, IMEIs, UnionPay cards, planted agent networks, dirty rows."""
    truth = demo.truth_path(out)
    stats = demo.generate(out, rows, seed=seed, members=members, member=member, dirty_ratio=dirty_ratio, truth=truth)
    typer.echo(f"wrote {stats.rows} rows to {out} ({stats.dirty_rows} dirty, {stats.planted_networks} planted networks) "
               f"in {stats.elapsed_s:.1f}s; ground truth (which gang each row belongs to, never upload it) in {truth}")
