"""The bench's HTTP phase pools latency over its windows (bench/api_load.py); no timing here."""

from __future__ import annotations

from bench.api_load import Window, pooled_percentile


def window(answers: int, quantiles_us: list[int]) -> Window:
    return Window(kind="sale", done=answers, seconds=1.0, statuses={"201": answers}, errors={}, p50_ms=0.0,
                  p99_ms=0.0, quantiles_us=quantiles_us)


def test_one_window_gives_back_its_own_percentiles():
    qs = [1000 * (i + 1) for i in range(200)]  # every 0.5 %
    assert pooled_percentile([window(400, qs)], 50) == qs[99] / 1000
    assert pooled_percentile([window(400, qs)], 99) == qs[197] / 1000
    assert pooled_percentile([window(400, qs)], 100) == qs[199] / 1000


def test_windows_weigh_by_their_answers():
    fast, slow = [1000] * 200, [100_000] * 200
    both = [window(900, fast), window(100, slow)]
    assert pooled_percentile(both, 50) == 1.0
    assert pooled_percentile(both, 89) == 1.0
    assert pooled_percentile(both, 95) == 100.0
    assert pooled_percentile([], 50) is None
    assert pooled_percentile([window(0, [])], 99) is None
