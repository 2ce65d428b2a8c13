"""On-chip memory as Vivado tiles it, and a plan of the xcu280's three SLRs.

Yosys packs narrow rows into UltraRAM byte lanes; Vivado does not. Vivado maps a URAM288 as fixed
4K x 72 blocks, cascaded within a column (UG573, "UltraRAM"), and a block RAM in one of its
36 Kbit aspect ratios (UG573, "Block RAM"). ``tile()`` counts the blocks one memory needs that way;
``plan_slrs()`` places the memories and the logic on the three SLRs within each one's resources.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from fpgax.hdl.ram import RAMB18_SHAPES, RAMB36_SHAPES, URAM_SHAPE
from fpgax.toolflow.estimate import RAMB36_BITS, URAM_BITS, XCU280

#: A memory with ram_style "auto" this shallow is distributed RAM (LUTRAM) in Vivado's inference.
LUTRAM_MAX_DEPTH = 64

#: The xcu280 per SLR: the device's totals (``estimate.XCU280``) split evenly over its three SLRs (the
#: even split is an assumption that holds for the Virtex UltraScale+ HBM die: three identical SLRs).
SLRS = 3
PER_SLR = {k: XCU280[k] // SLRS for k in ("LUT", "FF", "RAMB36", "URAM288", "DSP")}


def _blocks(depth: int, width: int, shape: tuple[int, int]) -> int:
    return math.ceil(depth / shape[0]) * math.ceil(width / shape[1])


def tile(depth: int, width: int, style: str) -> dict:
    """The blocks Vivado would use for one ``depth`` x ``width`` memory of ``ram_style`` ``style``.

    ``ultra``: URAM288 4K x 72 tiles, ``cascade`` of them deep. ``block``: the aspect ratio with the
    fewest blocks (RAMB18 halves where they do better). ``logic``: flip-flops. ``auto``: LUTRAM when at
    most 64 deep, else block RAM.
    """
    bits = depth * width
    if style == "ultra":
        n = _blocks(depth, width, URAM_SHAPE)
        return {"primitive": "URAM288", "blocks": n, "URAM288": n, "RAMB36": 0.0,
                "cascade": math.ceil(depth / URAM_SHAPE[0]), "columns": math.ceil(width / URAM_SHAPE[1]),
                "efficiency": round(bits / (n * URAM_BITS), 3)}
    if style == "logic" or (style == "auto" and depth <= LUTRAM_MAX_DEPTH):
        return {"primitive": "FF" if style == "logic" else "LUTRAM", "blocks": 0, "URAM288": 0, "RAMB36": 0.0,
                "efficiency": None}
    r36 = min((_blocks(depth, width, s), s) for s in RAMB36_SHAPES)
    r18 = min((_blocks(depth, width, s), s) for s in RAMB18_SHAPES)
    if r18[0] / 2 < r36[0]:
        n, shape, primitive = r18[0] / 2, r18[1], "RAMB18"
    else:
        n, shape, primitive = float(r36[0]), r36[1], "RAMB36"
    return {"primitive": primitive, "blocks": n, "URAM288": 0, "RAMB36": n, "shape": f"{shape[0]}x{shape[1]}",
            "efficiency": round(bits / (n * RAMB36_BITS), 3)}


def memory_of_cell(name: str) -> str:
    """The Amaranth memory a Yosys RAM cell belongs to: ``kernel.engine.free$192.queue.0.1`` is
    ``engine.free.queue`` (``$n`` uniquifiers and the block's row/column numbers dropped)."""
    name = re.sub(r"\$\d+", "", name.strip("\\"))
    return re.sub(r"(\.\d+)+$", "", re.sub(r"^kernel\.", "", name))


def yosys_blocks(netlist: dict, top: str) -> dict[str, Counter]:
    """The block RAM and UltraRAM cells Yosys made for each memory."""
    out: dict[str, Counter] = {}
    for name, cell in netlist["modules"][top]["cells"].items():
        if cell["type"].startswith(("RAMB", "URAM")):
            out.setdefault(memory_of_cell(name), Counter())[cell["type"]] += 1
    return out


def vivado_tiling(memories: list[dict], onchip_bits: int, uram_total: int, ramb36_total: int,
                  yosys: dict[str, Counter] | None = None) -> dict:
    """Per-memory tiles and the totals against the device (the estimate's ``vivado_tiling``)."""
    per = []
    for mem in memories:
        t = tile(mem["depth"], mem["width"], mem["style"])
        row = {"memory": mem["memory"], "depth": mem["depth"], "width": mem["width"], "style": mem["style"], **t,
               "URAM288_percent": round(100 * t["URAM288"] / uram_total, 2),
               "RAMB36_percent": round(100 * t["RAMB36"] / ramb36_total, 2)}
        if yosys is not None:
            found = yosys.get(mem["memory"], Counter())
            row["yosys"] = {"URAM288": found.get("URAM288", 0),
                            "RAMB36": found.get("RAMB36E2", 0) + found.get("RAMB18E2", 0) / 2}
        per.append(row)
    uram = sum(r["URAM288"] for r in per)
    ramb36 = sum(r["RAMB36"] for r in per)
    bits = uram * URAM_BITS + ramb36 * RAMB36_BITS
    return {"URAM288": {"used": uram, "available": uram_total, "percent": round(100 * uram / uram_total, 2)},
            "RAMB36": {"used": ramb36, "available": ramb36_total, "percent": round(100 * ramb36 / ramb36_total, 2)},
            "bits_percent": round(100 * bits / onchip_bits, 2),
            "per_memory": sorted(per, key=lambda r: -(r["URAM288"] * URAM_BITS + r["RAMB36"] * RAMB36_BITS))}


#: The share of an SLR's URAM and block RAM a plan fills before it prefers another SLR (an assumption
#: after UG949's advice of an even spread at reasonable utilisation; it publishes no figure).
COMFORTABLE = 0.8


def _share(slr: dict, more_uram: float = 0, more_bram: float = 0) -> float:
    """The larger of an SLR's URAM and block RAM shares, with ``more`` blocks added."""
    return max((slr["URAM288"] + more_uram) / PER_SLR["URAM288"], (slr["RAMB36"] + more_bram) / PER_SLR["RAMB36"])


def _component(memory: str) -> str:
    """The component a memory belongs to, for placing its memories together: ``engine.level.rows`` ->
    ``engine.level``; a memory of the top component (``engine.next``) is a unit of its own."""
    parts = memory.split(".")
    return ".".join(parts[:-1]) if len(parts) > 2 else memory


def plan_slrs(tiling: dict, logic: dict[str, int], home: int = 1) -> dict:
    """Place every memory on an SLR within its URAM/BRAM budget, largest first, and the logic with them.

    A memory goes to ``home`` while that keeps the home SLR's URAM and block RAM within
    ``COMFORTABLE`` of its budget, else to the least used SLR where it stays within that share, else
    to the least used SLR where it fits at all: UG949 asks for block RAM spread evenly over the SLRs
    at a reasonable utilisation in each, which leaves the placer room to close timing.

    The memories of one component (``engine.level.rows`` and ``engine.level.used``: one name before the
    last dot, below the top component) are placed together, as one unit: they share their addresses, and
    an address that crosses an SLR costs a super long line on a path that is critical already.

    A memory larger than one SLR's budget is split into per-SLR parts (cascades cannot cross an SLR,
    and every crossing costs a super long line and a register on each side): it is listed in
    ``split`` and the plan does not fit (``fits`` is false), as does any SLR over its budget.
    The logic (``logic``: LUT, FF, DSP totals) goes to ``home``, the SLR with the largest memories,
    since the engine's FSM addresses them every cycle; the kernel's AXI ports stay with it
    (the U280's HBM and the platform's PCIe side sit below, in SLR0, one crossing away).
    """
    slrs = [{"slr": i, "memories": [], "URAM288": 0, "RAMB36": 0.0, "LUT": 0, "FF": 0, "DSP": 0} for i in range(SLRS)]
    split = []
    units: dict[str, list[dict]] = {}
    for mem in tiling["per_memory"]:
        if mem["URAM288"] or mem["RAMB36"]:
            units.setdefault(_component(mem["memory"]), []).append(mem)
    order = sorted(units.values(), key=lambda ms: (-sum(m["URAM288"] for m in ms), -sum(m["RAMB36"] for m in ms)))
    pending = []
    for members in order:
        need_u, need_b = sum(m["URAM288"] for m in members), sum(m["RAMB36"] for m in members)
        fits = [s for s in slrs if s["URAM288"] + need_u <= PER_SLR["URAM288"] and
                s["RAMB36"] + need_b <= PER_SLR["RAMB36"]]
        if not fits:
            pending += members        # too large together: its memories one by one, below
            continue
        comfortable = [s for s in fits if _share(s, need_u, need_b) <= COMFORTABLE]
        if comfortable:
            target = min(comfortable, key=lambda s: (s["slr"] != home, _share(s, need_u, need_b)))
        else:
            target = min(fits, key=lambda s: (_share(s, need_u, need_b), _share(s)))
        target["URAM288"] += need_u
        target["RAMB36"] += need_b
        target["memories"] += [m["memory"] for m in members]
    for mem in pending:
        need_u, need_b = mem["URAM288"], mem["RAMB36"]
        fits = [s for s in slrs if s["URAM288"] + need_u <= PER_SLR["URAM288"] and
                s["RAMB36"] + need_b <= PER_SLR["RAMB36"]]
        if fits:
            target = min(fits, key=lambda s: (_share(s, need_u, need_b), _share(s)))
            target["URAM288"] += need_u
            target["RAMB36"] += need_b
            target["memories"].append(mem["memory"])
            continue
        parts = []
        for s in sorted(slrs, key=lambda s: (s["slr"] != home, s["slr"])):   # fill SLR by SLR
            take_u = min(need_u, PER_SLR["URAM288"] - s["URAM288"])
            take_b = min(need_b, PER_SLR["RAMB36"] - s["RAMB36"])
            if take_u <= 0 and take_b <= 0:
                continue
            s["URAM288"] += take_u
            s["RAMB36"] += take_b
            need_u, need_b = need_u - take_u, need_b - take_b
            s["memories"].append(f"{mem['memory']} (part)")
            parts.append(s["slr"])
            if need_u <= 0 and need_b <= 0:
                break
        split.append({"memory": mem["memory"], "slrs": parts, "unplaced_URAM288": max(need_u, 0),
                      "unplaced_RAMB36": max(need_b, 0)})
    for key in ("LUT", "FF", "DSP"):
        slrs[home][key] += logic.get(key, 0)
    for s in slrs:
        s["budget"] = dict(PER_SLR)
        s["within_budget"] = all(s[k] <= PER_SLR[k] for k in PER_SLR)
    unplaced = any(p["unplaced_URAM288"] > 0 or p["unplaced_RAMB36"] > 0 for p in split)
    return {"home": home, "slrs": slrs, "split": split,
            "fits": not unplaced and not split and all(s["within_budget"] for s in slrs)}
