"""Per-claim seeds: pytest checks/ and the report verify each claim with the same seed stream."""
from __future__ import annotations

import hashlib


def claim_seed(seed: int, claim_id: str) -> int:
    """The seed of one claim: a hash of (base seed, claim id), in [0, 2**31); independent of the order in which
    claims run and of the number of worker processes."""
    digest = hashlib.sha256(f"{int(seed)}:{claim_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
