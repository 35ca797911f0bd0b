"""Recompute every audit chain: the first broken link of each, or none.

Reads the log once, in chain order (merchant, seq), streaming: memory stays flat however
long the log is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from daozhang.audit.chain import GENESIS, PLATFORM, chain_key, row_hash
from daozhang.audit.models import AuditChain, AuditEvent

_FIELDS = ("id", "at", "actor", "action", "object_type", "object_id", "merchant_id", "before", "after", "seq",
           "prev_hash", "hash")


@dataclass
class Break:
    chain: str  # a merchant's id, or "platform"
    seq: int | None  # the row where the chain breaks (None: the head row)
    event_id: str | None
    reason: str

    def __str__(self) -> str:
        where = f"row {self.event_id} (seq {self.seq})" if self.event_id else "chain head"
        return f"audit chain {self.chain}: {where}: {self.reason}"


@dataclass
class VerifyResult:
    chains: int = 0
    events: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def summary(self) -> str:
        state = "OK" if self.ok else "FAILED"
        return (f"audit {state}: {self.events} events in {self.chains} chains; "
                f"{len(self.breaks)} chains broken")


def total_events() -> int:
    return AuditEvent.objects.count()


def verify_chains(progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Every row's hash, its link to the row before and its seq; every head against its
    chain's last row (rows deleted at the end); every chain's head present."""
    heads = {h.chain: (h.seq, h.hash) for h in AuditChain.objects.all()}
    result = VerifyResult()
    broken: set[str] = set()
    seen: set[str] = set()
    current: str | None = None
    expect_seq, expect_prev = 1, GENESIS

    def close(chain: str, last_seq: int, last_hash: str) -> None:
        if chain in broken:
            return
        head = heads.get(chain)
        if head is None:
            _break(chain, None, None, "no chain head row (rows written behind the application)")
        elif head != (last_seq, last_hash):
            _break(chain, None, None, f"head says seq {head[0]}, the last row is seq {last_seq}"
                                      " (rows deleted at the end, or the head edited)")

    def _break(chain: str, seq: int | None, event_id: str | None, reason: str) -> None:
        broken.add(chain)
        result.breaks.append(Break(chain, seq, event_id, reason))

    rows = AuditEvent.objects.order_by("merchant_id", "seq").values_list(*_FIELDS).iterator(chunk_size=5000)
    done = 0
    for row in rows:
        values = dict(zip(_FIELDS, row, strict=True))
        chain = chain_key(values["merchant_id"])
        if chain != current:
            if current is not None:
                close(current, expect_seq - 1, expect_prev)
            current, expect_seq, expect_prev = chain, 1, GENESIS
            seen.add(chain)
            result.chains += 1
        result.events += 1
        done += 1
        if progress and done % 5000 == 0:
            progress(5000)
        if chain in broken:
            continue
        seq, eid = int(values["seq"]), str(values["id"])
        if seq != expect_seq:
            what = "missing (deleted)" if seq > expect_seq else "repeated or out of order"
            _break(chain, seq, eid, f"expected seq {expect_seq}: row {expect_seq} is {what}")
            continue
        if values["prev_hash"] != expect_prev:
            _break(chain, seq, eid, "its previous-hash does not match the row before it"
                                    " (a row before it deleted, replaced or reordered)")
            continue
        fields = {k: values[k] for k in _FIELDS if k != "hash"}
        if row_hash(**fields) != values["hash"]:
            _break(chain, seq, eid, "its hash does not match its contents (the row was edited)")
            continue
        expect_seq, expect_prev = seq + 1, values["hash"]
    if current is not None:
        close(current, expect_seq - 1, expect_prev)
    for chain, (seq, _) in heads.items():
        if chain not in seen and seq:
            result.chains += 1
            _break(chain, None, None, f"head says seq {seq}, but the chain has no rows (all deleted)")
    if progress and done % 5000:
        progress(done % 5000)
    result.breaks.sort(key=lambda b: (b.chain != PLATFORM, b.chain))
    return result
