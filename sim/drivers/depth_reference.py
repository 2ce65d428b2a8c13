"""The reference for the benches of ``DepthStore`` (hdl/depth_store.py): a plain Python book of levels,
and a plan of random operations with the answer each must get.

``Levels``: each book side's levels holding orders, and every row written. ``plan(...)``: operations
around a touch that walks over each book side's levels -- writes (to empty levels and to occupied
ones, emptying them half the time), reads of rows written, FINDs either way, inclusive or not, now
and then at the range's ends or anywhere -- each with the answer the reference gives, as
``(request, expected)`` pairs (``expected`` holds only the fields the operation answers). The
amaranth.sim bench (tests/test_hdl_depth_store.py) and the cocotb bench (``depth_bench``) replay
the same plans.
"""

from __future__ import annotations

import random

from fpgax.hdl.depth_store import DepthOp

#: the operations' codes in a request (``DepthOp``'s)
READ, WRITE, FIND = (op.value for op in (DepthOp.READ, DepthOp.WRITE, DepthOp.FIND))


class Levels:
    def __init__(self):
        self.occupied: dict[int, set] = {}
        self.rows: dict[tuple, int] = {}

    def write(self, book: int, idx: int, row: int, occupied: bool) -> bool:
        """Write the row and the level's occupancy; whether the level held orders before."""
        was = idx in self.occupied.setdefault(book, set())
        self.rows[book, idx] = row
        (self.occupied[book].add if occupied else self.occupied[book].discard)(idx)
        return was

    def find(self, book: int, idx: int, down: bool, inclusive: bool) -> int | None:
        """The nearest level holding orders from ``idx`` toward lower (``down``) or higher ones."""
        held = [i for i in self.occupied.get(book, ()) if (i < idx if down else i > idx) or (inclusive and i == idx)]
        return (max(held) if down else min(held)) if held else None


def kind_of(request: dict, expected: dict) -> tuple:
    """The class of an operation, for the benches' counts: ("write", was occupied), ("read",),
    ("find", found, answered from a word past idx's)."""
    if request["op"] == WRITE:
        return ("write", expected["found"])
    if request["op"] == READ:
        return ("read",)
    far = expected["found"] and expected["idx"] // 256 != request["idx"] // 256
    return ("find", expected["found"], far)


def plan(books: int, levels: int, row_bits: int, operations: int, seed: int,
         reference: Levels | None = None) -> list[tuple[dict, dict]]:
    rng = random.Random(seed)
    reference = Levels() if reference is None else reference
    touch = {book: rng.randrange(levels) for book in range(books)}
    out = []

    def near(book):
        pick = rng.random()
        if pick < 0.05:
            return rng.choice([0, levels - 1])
        if pick < 0.15:
            return rng.randrange(levels)
        return min(levels - 1, max(0, touch[book] + int(rng.gauss(0, 300))))

    base = {"op": READ, "book": 0, "idx": 0, "row": 0, "occupied": 0, "down": 0, "inclusive": 0}
    while len(out) < operations:
        book = rng.randrange(books)
        touch[book] = min(levels - 1, max(0, touch[book] + rng.randint(-40, 40)))
        kind = rng.choices(["write", "read", "find"], [5, 2, 4])[0]
        if kind == "write":
            idx, row, occupied = near(book), rng.getrandbits(row_bits), rng.random() < 0.6
            if rng.random() < 0.5 and reference.occupied.get(book):
                idx, occupied = rng.choice(sorted(reference.occupied[book])), False
            was = reference.write(book, idx, row, occupied)
            out.append(({**base, "op": WRITE, "book": book, "idx": idx, "row": row, "occupied": int(occupied)},
                        {"found": int(was)}))
        elif kind == "read":
            written = [key for key in reference.rows if key[0] == book]
            if written:
                idx = rng.choice(written)[1]
                out.append(({**base, "book": book, "idx": idx}, {"row": reference.rows[book, idx]}))
        else:
            idx, down, inclusive = near(book), rng.random() < 0.5, rng.random() < 0.5
            found = reference.find(book, idx, down, inclusive)
            out.append(({**base, "op": FIND, "book": book, "idx": idx, "down": int(down), "inclusive": int(inclusive)},
                        {"found": int(found is not None), **({"idx": found} if found is not None else {})}))
    return out
