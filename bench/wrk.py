"""Load from a compiled generator: `wrk` (Debian's package, installed here when missing) driven by a Lua script
that POSTs a pool of bodies in random order, with `--latency` for the percentiles."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import say

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def ensure_wrk() -> str:
    """The wrk binary; `apt-get install wrk` first when there is none (the benchmark runs as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk                  not installed: apt-get update && apt-get install -y wrk …")
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get install wrk did not put `wrk` on PATH")
    say(f"wrk                  installed by apt-get: {found}")
    return found


@dataclass
class WrkResult:
    label: str
    connections: int
    seconds: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50: float
    p90: float
    p99: float
    max: float = float("nan")

    @property
    def ok_per_s(self) -> float:
        """Successful (2xx) responses per second: refusals (429) and errors do not count."""
        return (self.requests - self.non_2xx) / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        bad = f", {self.non_2xx:,} non-2xx" if self.non_2xx else ""
        bad += f", {self.socket_errors:,} socket errors" if self.socket_errors else ""
        return (f"p50 {self.p50 * 1e3:8.2f} ms  p90 {self.p90 * 1e3:8.2f} ms  p99 {self.p99 * 1e3:8.2f} ms  "
                f"{self.ok_per_s:9,.0f} req/s  ({self.requests:,} requests, {self.connections} conn{bad})")


def _lua_string(text: str) -> str:
    level = "=" * 3
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def script(path: str, bodies: list[str], headers: dict[str, str], method: str = "POST") -> str:
    """A wrk Lua script sending `bodies` (one per request, random order per thread) to `path`."""
    lines = [f"wrk.method = {_lua_string(method)}"]
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()]
    lines.append("local bodies = {")
    lines += [f"  {_lua_string(b)}," for b in bodies]
    lines.append("}")
    lines.append(f"local path = {_lua_string(path)}")
    lines.append("""local n = #bodies
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end
function request()
  return wrk.format(nil, path, nil, bodies[math.random(n)])
end
""")
    return "\n".join(lines)


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"wrk duration {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse(label: str, connections: int, out: str) -> WrkResult:
    percentiles = {}
    for m in re.finditer(r"^\s+(50|75|90|99)%\s+(.*)$", out, re.M):
        try:
            percentiles[m.group(1)] = _seconds(m.group(2))
        except ValueError:
            say(f"wrk                  unreadable percentile line {m.group(0).strip()!r}")
    done = re.search(r"^\s+(\d+) requests in ([\d.]+\w+),", out, re.M)
    if not done or "50" not in percentiles:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    most = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.M)
    return WrkResult(label, connections, _seconds(done.group(2)), int(done.group(1)),
                     int(non_2xx.group(1)) if non_2xx else 0, sum(map(int, sockets.groups())) if sockets else 0,
                     percentiles["50"], percentiles.get("90", float("nan")), percentiles.get("99", float("nan")),
                     _seconds(most.group(1)) if most else float("nan"))


def run(label: str, url: str, lua: str, connections: int, seconds: float, timeout: str = "10s") -> WrkResult:
    """One wrk run: one thread (the machine is small), `connections` keep-alive connections for `seconds`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
        lua_path = Path(f.name)
    try:
        done = subprocess.run(
            [ensure_wrk(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout}",
             "--latency", "-s", str(lua_path), url], capture_output=True, text=True, check=False)
    finally:
        lua_path.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse(label, connections, done.stdout)
