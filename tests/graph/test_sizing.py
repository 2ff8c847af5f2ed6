"""The embedded Neo4j's zero-config memory: Neo4j's own recommendation, room for Python, cgroup limits, caps."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from graph.sizing import (GIB, HEAP_MAX, HEAP_MIN, MIB, PAGE_CACHE_MIN, Memory, cgroup_limit, choose,
                          neo4j_recommendation, parse_size)

# `neo4j-admin server memory-recommendation --memory=M` of Neo4j 5.26.30 (the launcher's own jars), printed
# 2026-12-02: M → (heap, page cache) in MiB. The tool rounds its output to a few significant digits.
NEO4J_ADMIN_PRINTED = {
    "1g": (307, 52), "1536m": (409, 283), "2g": (512, 512), "3g": (1300, 512), "4g": (2048, 512),
    "5g": (2600, 768), "8g": (3600, 2048), "12g": (4600, 4096), "16g": (5120, 7168), "20g": (6700, 8700),
    "24g": (8192, 10240), "32g": (12288, 12288), "48g": (18432, 20480), "64g": (24576, 28672),
    "100g": (28600, 59200), "256g": (31744, 209920),
}


@pytest.mark.parametrize("memory", sorted(NEO4J_ADMIN_PRINTED, key=parse_size))
def test_the_rule_is_neo4j_admins_memory_recommendation(memory: str) -> None:
    _, heap, page_cache = neo4j_recommendation(parse_size(memory))
    printed_heap, printed_cache = NEO4J_ADMIN_PRINTED[memory]
    assert heap / MIB == pytest.approx(printed_heap, rel=0.02, abs=2)
    assert page_cache / MIB == pytest.approx(printed_cache, rel=0.02, abs=2)


def test_a_24_gib_machine_keeps_one_gib_for_python_and_sizes_neo4j_from_the_rest() -> None:
    sizing = choose(memory=Memory(24 * GIB, None))
    os_reserve, heap, page_cache = neo4j_recommendation(23 * GIB)
    assert sizing.python_reserve == GIB
    assert sizing.os_reserve == os_reserve
    assert (sizing.heap, sizing.page_cache) == (heap // MIB * MIB, page_cache // MIB * MIB)  # whole MiB
    assert 24 * GIB - 2 * MIB <= sizing.heap + sizing.page_cache + sizing.os_reserve + sizing.python_reserve <= 24 * GIB


def test_a_cgroup_limit_below_the_machine_memory_is_what_counts() -> None:
    limited, small = choose(memory=Memory(64 * GIB, 4 * GIB)), choose(memory=Memory(4 * GIB, None))
    assert (limited.heap, limited.page_cache, limited.os_reserve) == (small.heap, small.page_cache, small.os_reserve)
    assert 4 * GIB - 2 * MIB <= limited.heap + limited.page_cache + limited.os_reserve + limited.python_reserve <= 4 * GIB
    assert "cgroup limit 4.0 GiB" in limited.describe()


def test_the_heap_is_capped_and_the_excess_goes_to_the_page_cache() -> None:
    sizing = choose(memory=Memory(128 * GIB, None))
    assert sizing.heap == HEAP_MAX
    assert sizing.page_cache == (127 * GIB - sizing.os_reserve - HEAP_MAX) // MIB * MIB
    assert "capped at 8.0 GiB" in sizing.heap_rule


def test_a_small_machine_gets_the_floors_and_keeps_a_quarter_for_python() -> None:
    sizing = choose(memory=Memory(GIB, None))
    assert sizing.python_reserve == GIB // 4
    assert (sizing.heap, sizing.page_cache) == (HEAP_MIN, PAGE_CACHE_MIN)
    assert "raised to the 512 MiB minimum" in sizing.heap_rule


def test_an_explicit_size_wins_and_the_other_is_derived_around_it() -> None:
    memory = Memory(16 * GIB, None)
    sizing = choose("2g", "auto", memory)
    assert sizing.heap == 2 * GIB and sizing.heap_rule == "set by FENGHUO_NEO4J_HEAP"
    assert sizing.page_cache == (15 * GIB - sizing.os_reserve - 2 * GIB) // MIB * MIB
    both = choose("1g", "300m", memory)
    assert (both.heap_arg, both.page_cache_arg) == ("1024m", "300m")


@pytest.mark.parametrize("bad", ["lots", "4 gigs", "-1g", "0", "1.5g", ""])
def test_a_bad_size_is_refused_saying_what_is_accepted(bad: str) -> None:
    with pytest.raises(ValueError, match="such as 512m or 4g"):
        choose(bad, "auto", Memory(8 * GIB, None))
    with pytest.raises(ValueError, match="FENGHUO_NEO4J_PAGE_CACHE|neo4j_page_cache"):
        Settings(neo4j_page_cache=bad, _env_file=None)


def test_the_settings_default_is_auto() -> None:
    settings = Settings(_env_file=None)
    assert (settings.neo4j_heap, settings.neo4j_page_cache) == ("auto", "auto")


def _cgroup(tmp_path: Path, group: str, files: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for name, value in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(value + "\n")
    self_cgroup = tmp_path / "self-cgroup"
    self_cgroup.write_text(f"0::{group}\n")
    return root, self_cgroup


def test_cgroup_v2_limit_of_the_process_group_is_read(tmp_path: Path) -> None:
    root, self_cgroup = _cgroup(tmp_path, "/app.slice/fenghuo.service",
                                {"app.slice/fenghuo.service/memory.max": str(3 * GIB), "memory.max": "max"})
    assert cgroup_limit(root, self_cgroup) == 3 * GIB


def test_cgroup_max_and_v1_unlimited_mean_no_limit(tmp_path: Path) -> None:
    root, self_cgroup = _cgroup(tmp_path, "/", {"memory.max": "max"})
    assert cgroup_limit(root, self_cgroup) is None
    root, self_cgroup = _cgroup(tmp_path / "v1", "/", {"memory/memory.limit_in_bytes": "9223372036854771712"})
    assert cgroup_limit(root, self_cgroup) is None
    root, self_cgroup = _cgroup(tmp_path / "v1b", "/", {"memory/memory.limit_in_bytes": str(2 * GIB)})
    assert cgroup_limit(root, self_cgroup) == 2 * GIB


def test_no_cgroup_files_mean_no_limit(tmp_path: Path) -> None:
    assert cgroup_limit(tmp_path / "none", tmp_path / "none-self") is None


def test_status_compares_the_running_jvms_sizes_with_what_the_settings_choose_now() -> None:
    from graph.embedded import RunningNeo4j
    from graph.neo4j_status import Neo4jStatus

    sizing = choose(memory=Memory(24 * GIB, None))
    running = RunningNeo4j(pid=1, port=7687, uri="bolt://127.0.0.1:7687", version="5.26.30", home="/d/neo4j",
                           detached=False)
    same = Neo4jStatus(sizing, Path("/d"), 0, 7687, running, parse_size(sizing.heap_arg),
                       parse_size(sizing.page_cache_arg), "5.26.30 community", None).lines()
    assert not any("started with" in line for line in same)
    assert "GDS                not loaded" in same and "running            yes, pid 1 (owned by serve), bolt://127.0.0.1:7687" in same
    older = Neo4jStatus(sizing, Path("/d"), 0, 7687, running, 768 * MIB, 256 * MIB, "5.26.30 community", "2.13.9").lines()
    assert "  started with     heap 768 MiB, page cache 256 MiB (settings or memory changed since; a restart applies the sizes above)" in older
    assert "GDS                2.13.9 loaded" in older
