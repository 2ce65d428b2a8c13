"""StopLists (hdl/stop_lists.py) against a Python list in release order: random inserts (stop
prices from a narrow range, so that many tie), pops at random prints and unlinks of random
members, on buy (ascending) and sell (descending) lists, over memories the bench keeps (each read
answered at its latency and junk in every other cycle, each write applied in the cycle it is
issued). After every operation the list's ends, and the memories walked from them both ways, must
be the model's list; every operation takes the cycles the contract gives."""

import random

import pytest
from amaranth.sim import Simulator

from fpgax.hdl.stop_lists import StopLists, StopOp
from tests.hdl_bench import walk

K = 5                                   # 32 slots
KEY_BITS = 8


def release_position(keys, key, down):
    """Where a stop at ``key`` goes in a list in release order: behind every stop that releases no
    later (at or below ``key`` ascending, at or above it descending), oldest first within a price."""
    return sum(1 for k in keys if (k >= key if down else k <= key))


@pytest.mark.parametrize("down", [0, 1])
@pytest.mark.parametrize("latencies", [(2, 3), (3, 2), (1, 1)])
@pytest.mark.parametrize("seed", range(3))
def test_stop_lists_keep_a_list_in_release_order(seed, latencies, down):
    rng = random.Random(seed * 7 + down)
    links_latency, key_latency = latencies
    dut = StopLists(K, KEY_BITS, links_latency=links_latency, key_latency=key_latency)
    memory = {"next": {}, "prev": {}, "key": {}}
    model: list[int] = []                # slots, in release order
    free = list(range(1 << K))
    rng.shuffle(free)
    ops = {"insert": 0, "pop": 0, "popped": 0, "unlink": 0, "passed": 0}

    async def testbench(ctx):
        cycle = 0
        pending = []                     # (cycle due, port, value)
        ends = [0, rng.randrange(1 << K), rng.randrange(1 << K)]   # (valid, head, tail): junk ends

        async def tick():
            """One cycle of the memories: the data due now, then this cycle's requests and writes."""
            nonlocal cycle, pending
            # junk on the data ports but in the cycle a read's data is due
            for port, bits in ((dut.next_data, K), (dut.prev_data, K), (dut.key_data, KEY_BITS)):
                ctx.set(port, rng.randrange(1 << bits))
            for due, port, value in pending:
                if due == cycle:
                    ctx.set(port, value)
            pending = [p for p in pending if p[0] > cycle]
            # requests 0 while unused (the parent ORs its users' requests)
            for request in (dut.links_read, dut.key_read, dut.next_write, dut.prev_write):
                if not ctx.get(request.en):
                    assert ctx.get(request.as_value()) == 0, "a request not 0 while unused"
            # this cycle's writes, then its reads (the unit never reads what it writes in a cycle)
            for name in ("next", "prev"):
                w = getattr(dut, f"{name}_write")
                if ctx.get(w.en):
                    memory[name][ctx.get(w.addr)] = ctx.get(w.data)
            if ctx.get(dut.links_read.en):
                s = ctx.get(dut.links_read.addr)
                pending += [(cycle + links_latency, dut.next_data, memory["next"].get(s, rng.randrange(1 << K))),
                            (cycle + links_latency, dut.prev_data, memory["prev"].get(s, rng.randrange(1 << K)))]
            if ctx.get(dut.key_read.en):
                s = ctx.get(dut.key_read.addr)
                pending.append((cycle + key_latency, dut.key_data, memory["key"][s]))
            await ctx.tick()
            cycle += 1

        async def run(op, slot=0, key=0):
            """One operation, from ``start`` to ``done``: its cycles."""
            ctx.set(dut.start, 1)
            ctx.set(dut.op, op)
            ctx.set(dut.slot, slot)
            ctx.set(dut.key, key)
            ctx.set(dut.down, down)
            ctx.set(dut.ends.valid, ends[0])
            ctx.set(dut.ends.head, ends[1])
            ctx.set(dut.ends.tail, ends[2])
            assert ctx.get(dut.busy), "busy in start's cycle"
            await tick()
            ctx.set(dut.start, 0)
            taken = 1
            while not ctx.get(dut.done):
                assert ctx.get(dut.busy), "busy until done"
                for port in ("valid", "head", "tail"):         # (the ends are the parent's: junk now)
                    ctx.set(getattr(dut.ends, port), rng.randrange(1 << (1 if port == "valid" else K)))
                await tick()
                taken += 1
                assert taken < 400, "no done"
            ends[:] = [ctx.get(dut.ends_out.valid), ctx.get(dut.ends_out.head), ctx.get(dut.ends_out.tail)]
            popped = (ctx.get(dut.popped), ctx.get(dut.popped_slot))
            await tick()                 # (``done``'s cycle)
            for _ in range(rng.randrange(3)):
                await tick()
            return taken, popped

        L = max(links_latency, key_latency)
        for _ in range(160):
            keys = [memory["key"][s] for s in model]
            choice = rng.random()
            if free and (choice < 0.5 or not model):
                slot, key = free.pop(), rng.randrange(4, 12)
                memory["key"][slot] = key
                at = release_position(keys, key, down)
                taken, _ = await run(StopOp.INSERT, slot, key)
                looks = 0 if not model else (len(model) - at + (1 if at > 0 else 0))
                want = 1 if not model else looks * (L + 2) + 1 + (1 if 0 < at < len(model) else 0)
                assert taken == want, f"insert at {at} of {len(model)}: {taken} cycles, not {want}"
                model.insert(at, slot)
                ops["insert"] += 1
                ops["passed"] += max(0, looks - 1)
            elif choice < 0.75:
                bound = rng.randrange(2, 14)
                taken, (popped, which) = await run(StopOp.POP, key=bound)
                releases = bool(model) and (keys[0] >= bound if down else keys[0] <= bound)
                assert popped == releases, f"pop at {bound} of {keys}: popped {popped}"
                assert taken == (L + 3 if model else 1)
                if releases:
                    assert which == model[0]
                    free.append(model.pop(0))
                    ops["popped"] += 1
                ops["pop"] += 1
            else:
                slot = rng.choice(model)
                taken, _ = await run(StopOp.UNLINK, slot)
                assert taken == L + 3
                model.remove(slot)
                free.append(slot)
                ops["unlink"] += 1
            listed = walk(ends[0], ends[1], ends[2], memory["next"], memory["prev"], 1 << K)
            assert listed == model, f"the memories' list {listed}, the model's {model}"
            keys = [memory["key"][s] for s in model]
            assert keys == sorted(keys, reverse=bool(down)), "not in release order"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    # the flow exercised every case: inserts that passed stops, pops that took and did not, unlinks
    assert ops["insert"] > 40 and ops["passed"] > 20 and ops["unlink"] > 10
    assert 0 < ops["popped"] < ops["pop"]
