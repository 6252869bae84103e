"""The per-number send limiter, shared by every worker: one Redis Lua call per grant.

It hands out *slots*: the times at which each of up to `n` sends may leave. Consecutive slots of
a number are at least one emission interval apart (1 / rate, stretched by the adaptive slow-down
factor) and at least the minimum interval plus a random jitter apart (human-like pacing for
WhatsApp-Web numbers). Because each send is released at its own slot rather than all at once,
no one-second window holds more than `rate` sends when senders honour their slots (DESIGN.md,
"Pacing precision"). The daily cap is a counter per number per day (the caller's day: the
workspace's local date; UTC when none is given). Slots are only granted within a short horizon,
so a drainer never books time it will not use.

Redis is a cache, never a ledger (DESIGN.md): if the keys vanish, pacing restarts from "now",
but the day's counter is not restarted from zero: a grant that finds no counter asks the caller
for the day's use so far (`seed`, counted in PostgreSQL) and stores it before granting anything.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

_GRANT = """
local tat_key, day_key, factor_key = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local min_interval = tonumber(ARGV[4])
local horizon = tonumber(ARGV[5])
local cap = tonumber(ARGV[6])
local day_ttl = tonumber(ARGV[7])

local factor = tonumber(redis.call('GET', factor_key) or '1')
if factor <= 0 then factor = 1 end
interval = math.floor(interval / factor)

local seed = tonumber(ARGV[8])
local stored = redis.call('GET', day_key)
if not stored then
  if seed < 0 then
    return {{}, -1, tostring(factor)}  -- the day's use is unknown: the caller counts it
  end
  redis.call('SET', day_key, seed, 'EX', day_ttl)
  stored = seed
end
local used = tonumber(stored)

local catch_up = tonumber(ARGV[9])
local tat = tonumber(redis.call('GET', tat_key) or '0')
if tat < now - catch_up then tat = now - catch_up end
local k = math.min(n, cap - used)

local slots = {}
for i = 1, k do
  if tat > now + horizon then break end
  slots[#slots + 1] = tat
  local gap = min_interval + tonumber(ARGV[9 + i])
  if gap < interval then gap = interval end
  tat = tat + gap
end
if #slots > 0 then
  redis.call('SET', tat_key, tat, 'PX', math.max(math.floor((tat - now) / 1000) + 60000, 60000))
  redis.call('INCRBY', day_key, #slots)
  redis.call('EXPIRE', day_key, day_ttl)
end
return {slots, math.max(cap - used - #slots, 0), tostring(factor)}
"""

_ADJUST = """
local factor = tonumber(redis.call('GET', KEYS[1]) or '1')
factor = factor * tonumber(ARGV[1])
if factor < tonumber(ARGV[2]) then factor = tonumber(ARGV[2]) end
if factor >= 1 then
  redis.call('DEL', KEYS[1])
  return '1'
end
redis.call('SET', KEYS[1], tostring(factor), 'EX', tonumber(ARGV[3]))
return tostring(factor)
"""

_GIVE_BACK = """
local used = tonumber(redis.call('GET', KEYS[1]) or '-1')
local n = 0
if used >= 0 then
  n = math.min(tonumber(ARGV[1]), used)
  redis.call('DECRBY', KEYS[1], n)
end
local rewind = tonumber(ARGV[2])
if rewind >= 0 then
  local tat = tonumber(redis.call('GET', KEYS[2]) or '-1')
  if tat > rewind then redis.call('SET', KEYS[2], rewind, 'KEEPTTL') end
end
return n
"""

MICROS = 1_000_000
_RNG = random.Random()  # jitter only: not security-sensitive  # noqa: S311


@dataclass(frozen=True)
class Pace:
    """How one number may send. `rate` is messages per second; `burst` is not used for
    slotting (slots are evenly spaced) but bounds how many slots one grant may return."""

    rate: float
    min_interval_ms: int = 0
    jitter_ms: int = 0
    daily_cap: int = 1_000_000


@dataclass(frozen=True)
class Grant:
    slots: list[float]  # epoch seconds at which each send may leave, ascending
    remaining_today: int
    slow_down_factor: float

    def __len__(self) -> int:
        return len(self.slots)


class SendLimiter:
    """Per-number slots from Redis; safe across processes and machines."""

    def __init__(self, client: redis.Redis, *, prefix: str = "isend:limiter") -> None:
        self.client = client
        self.prefix = prefix
        self._grant = client.register_script(_GRANT)
        self._adjust = client.register_script(_ADJUST)
        self._give_back = client.register_script(_GIVE_BACK)

    def _keys(self, number_key: str, now: float, day: str | None = None) -> list[str]:
        day = day or time.strftime("%Y%m%d", time.gmtime(now))
        base = f"{self.prefix}:{number_key}"
        return [f"{base}:tat", f"{base}:day:{day}", f"{base}:factor"]

    def acquire(
        self,
        number_key: str,
        n: int,
        pace: Pace,
        *,
        horizon_seconds: float = 5.0,
        now: float | None = None,
        rng: random.Random | None = None,
        day: str | None = None,
        seed: Callable[[], int] | None = None,
        catch_up_seconds: float = 0.0,
    ) -> Grant:
        """Up to `n` slots within the horizon (fewer when the daily cap or horizon binds).

        `catch_up_seconds`: slots the number left unused in that much of the recent past are
        granted still (in the past: the caller sends them at once, as fast as its own record
        of the last second's releases allows). Only a caller that holds that record may ask.

        `day` names the cap's day (e.g. the workspace's local date); `seed` counts the day's
        use so far from the database, called only when Redis has no counter for the day (a
        restart, a flush, the first grant of the day). Without `seed` the counter starts at 0."""
        if n <= 0:
            return Grant([], pace.daily_cap, 1.0)
        if pace.rate <= 0:
            raise ValueError("rate must be positive")
        now = time.time() if now is None else now
        draw = (rng or _RNG).randint
        jitters = [draw(0, pace.jitter_ms * 1000) if pace.jitter_ms else 0 for _ in range(n)]
        keys = self._keys(number_key, now, day)

        def call(used: int) -> tuple[list[int], int, float]:
            slots, remaining, factor = self._grant(
                keys=keys,
                args=[
                    int(now * MICROS),
                    n,
                    int(MICROS / pace.rate),
                    pace.min_interval_ms * 1000,
                    int(horizon_seconds * MICROS),
                    pace.daily_cap,
                    2 * 86_400,
                    used,
                    int(max(catch_up_seconds, 0.0) * MICROS),
                    *jitters,
                ],
            )
            return list(slots), int(remaining), float(factor)

        slots, remaining, factor = call(-1 if seed is not None else 0)
        if remaining < 0 and seed is not None:
            # No counter for the day: rebuild it from the database, then grant. If another
            # process stored one meanwhile, the script keeps theirs.
            slots, remaining, factor = call(max(int(seed()), 0))
        return Grant([s / MICROS for s in slots], max(remaining, 0), factor)

    def give_back(
        self, number_key: str, n: int, *, day: str | None = None, from_slot: float | None = None
    ) -> None:
        """Slots granted and not used (the batch went back to the queue): they no longer count
        in the day's use. `from_slot`, the first unused slot (epoch seconds): the number's
        next grant starts there again instead of after the unused ones, so a batch that gave
        way leaves no silence behind it. Only the number's one drainer (it holds the number's
        lease) may rewind. Best effort: without Redis the day is counted again from the
        database anyway."""
        if n <= 0:
            return
        tat_key, day_key, _factor = self._keys(number_key, time.time(), day)
        rewind = -1 if from_slot is None else int(from_slot * MICROS)
        try:
            self._give_back(keys=[day_key, tat_key], args=[n, rewind])
        except redis.RedisError:
            return

    def slow_down(
        self, number_key: str, *, factor: float = 0.5, floor: float = 0.05, ttl_seconds: int = 600
    ) -> float:
        """WhatsApp said 130429 (throughput exceeded): halve this number's pace for a while."""
        key = self._keys(number_key, time.time())[2]
        return float(self._adjust(keys=[key], args=[factor, floor, ttl_seconds]))

    def speed_up(self, number_key: str, *, factor: float = 1.25, ttl_seconds: int = 600) -> float:
        """Sends succeed again: recover towards the configured pace step by step."""
        key = self._keys(number_key, time.time())[2]
        return float(self._adjust(keys=[key], args=[factor, 0.05, ttl_seconds]))

    def reset(self, number_key: str) -> None:
        base = f"{self.prefix}:{number_key}"
        keys = list(self.client.scan_iter(f"{base}:*"))
        if keys:
            self.client.delete(*keys)
