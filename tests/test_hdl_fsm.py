"""OneHotFSM against Amaranth's own m.FSM(): the same random machines, built both ways, driven by
the same random inputs, in the same state and driving the same outputs every cycle."""

import random

import pytest
from amaranth import Elaboratable, Module, Signal
from amaranth.sim import Simulator

from fpgax.hdl.bits import MODEL_CELLS
from fpgax.hdl.fsm import OneHotFSM, StateMux

N_STATES, N_INPUTS = 7, 4


def random_machine(rng):
    """Per state, a body: a list of steps ("goto", target) / ("if", input, then-steps, else-steps)
    run in order, so that several gotos may run in one cycle (the last counts)."""
    def steps(depth):
        out = []
        for _ in range(rng.randrange(0, 3)):
            if depth < 2 and rng.random() < 0.5:
                out.append(("if", rng.randrange(N_INPUTS), steps(depth + 1), steps(depth + 1)))
            else:
                out.append(("goto", rng.randrange(N_STATES)))
        return out
    # each body ends by moving on when some input is high, so that every machine gets around
    return [steps(0) + [("if", rng.randrange(N_INPUTS), [("goto", (i + 1) % N_STATES)], [])]
            for i in range(N_STATES)]


def _targets(steps):
    for step in steps:
        if step[0] == "goto":
            yield step[1]
        else:
            yield from _targets(step[2])
            yield from _targets(step[3])


class Machine(Elaboratable):
    def __init__(self, machine, one_hot, state_mux=False):
        self.machine, self.one_hot, self.state_mux = machine, one_hot, state_mux
        self.inputs = Signal(N_INPUTS)
        self.state = Signal(range(N_STATES))     # which state, for the comparison
        self.out = Signal(8)                     # a comb output: the body's last goto, last wins
        self.ongoing = Signal(N_STATES)          # (one-hot) each state's register
        self.predicted = Signal(N_STATES)        # (one-hot) each state's ``next_state``
        self.copies = Signal(N_STATES)           # (one-hot) each state's ``copy`` (model cells)
        self.or_in = Signal(N_STATES)            # each state's ``next_state_or_in`` (``sources``)
        # per state, the first half of the other states with a goto to it (at least one)
        moving = [{t for t in _targets(steps) if t != i} for i, steps in enumerate(machine)]
        into = [sorted(j for j in range(N_STATES) if i in moving[j]) for i in range(N_STATES)]
        self.sources = [sources[:max(1, len(sources) // 2)] for sources in into]

    def elaborate(self, platform):
        m = Module()

        out = None             # (``state_mux``: ``out`` through a StateMux)

        def body(index, steps, goto):
            m.d.comb += self.state.eq(index)
            for step in steps:
                if step[0] == "goto":
                    m.d.comb += (out.here() if out else self.out).eq(index * N_STATES + step[1] + 1)
                    goto(step[1])
                else:
                    _, bit, then, other = step
                    with m.If(self.inputs[bit]):
                        body(index, then, goto)
                    with m.Else():
                        body(index, other, goto)

        if self.one_hot:
            fsm = OneHotFSM(m, init="S0")
            names = [f"S{i}" for i in range(N_STATES)]
            m.d.comb += [self.predicted[i].eq(fsm.next_state(n)) for i, n in enumerate(names)]
            m.d.comb += [self.ongoing[i].eq(fsm.ongoing(n)) for i, n in enumerate(names)]
            m.d.comb += [self.or_in[i].eq(fsm.next_state_or_in(n, [f"S{j}" for j in self.sources[i]])
                                          if self.sources[i] else fsm.next_state(n)) for i, n in enumerate(names)]
            if self.state_mux:
                out = StateMux(fsm, 8, "out")
            copies = []
            for i, steps in enumerate(self.machine):
                with fsm.state(f"S{i}"):
                    # (asked for in the state's own body: the copy is loaded in every cycle all the same)
                    copies.append(fsm.copy(f"S{i}", MODEL_CELLS, "in_body"))
                    body(i, steps, lambda t: fsm.goto(f"S{t}"))
            m.d.comb += [self.copies[i].eq(copy) for i, copy in enumerate(copies)]
            if out:
                out.finish()
                m.d.comb += self.out.eq(out.value)
            fsm.finish()
        else:
            def goto(t):
                m.next = f"S{t}"
            with m.FSM(init="S0"):
                for i, steps in enumerate(self.machine):
                    with m.State(f"S{i}"):
                        body(i, steps, goto)
        return m


@pytest.mark.parametrize("state_mux", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_one_hot_fsm_moves_like_amaranths_fsm(seed, state_mux):
    """With ``state_mux``, the output goes through a ``StateMux``: the same value in every cycle,
    0 in the states (and branches) that do not drive it."""
    rng = random.Random(seed)
    machine = random_machine(rng)
    ref, dut = Machine(machine, one_hot=False), Machine(machine, one_hot=True, state_mux=state_mux)
    visited = side_by_side(rng, ref, dut, outputs=("state", "out"))
    assert len(visited) == N_STATES


@pytest.mark.parametrize("seed", range(6))
def test_next_state_is_the_next_cycles_state(seed):
    """``next_state(S)`` in every cycle equals ``ongoing(S)`` in the cycle after, for every state of
    random machines driven by random inputs."""
    rng = random.Random(100 + seed)
    dut = Machine(random_machine(rng), one_hot=True)
    checked = []

    async def bench(ctx):
        predicted = None
        for _ in range(300):
            if predicted is not None:
                assert ctx.get(dut.ongoing) == predicted
                checked.append(predicted)
            ctx.set(dut.inputs, rng.randrange(1 << N_INPUTS))
            predicted = ctx.get(dut.predicted)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(set(checked)) > 2 and all(bin(v).count("1") == 1 for v in checked)


@pytest.mark.parametrize("seed", range(6))
def test_next_state_or_in_is_next_state_or_a_source_state(seed):
    """``next_state_or_in(S, sources)`` in every cycle: ``next_state(S)``, or 1 in a cycle spent in
    one of ``sources`` -- set in cycles the machine stays in a source, too."""
    rng = random.Random(200 + seed)
    dut = Machine(random_machine(rng), one_hot=True)
    only_source = []

    async def bench(ctx):
        for _ in range(300):
            ctx.set(dut.inputs, rng.randrange(1 << N_INPUTS))
            predicted, ongoing, or_in = ctx.get(dut.predicted), ctx.get(dut.ongoing), ctx.get(dut.or_in)
            for i, sources in enumerate(dut.sources):
                in_source = any(ongoing >> j & 1 for j in sources)
                assert (or_in >> i & 1) == (predicted >> i & 1 or in_source), i
                only_source.append(in_source and not predicted >> i & 1)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert any(only_source)


def test_next_state_or_in_of_a_state_without_a_move_to_it_is_an_error():
    m = Module()
    fsm = OneHotFSM(m, init="A")
    fsm.next_state_or_in("A", ["B"])
    with fsm.state("A"):
        fsm.goto("B")
    with fsm.state("B"):
        pass
    with pytest.raises(ValueError, match="no move to it from B"):
        fsm.finish()
    m._MustUse__silence = True        # (never elaborated)


@pytest.mark.parametrize("seed", range(3))
def test_a_states_copy_is_its_register_through_resets(seed):
    """``copy(S)`` (a model cell) equals ``ongoing(S)`` in every cycle, for every state of random
    machines driven by random inputs, and both go back to the initial state at a reset."""
    from amaranth import ClockDomain

    rng = random.Random(200 + seed)
    dut = Machine(random_machine(rng), one_hot=True)
    top = Module()
    top.domains.sync = cd = ClockDomain()
    top.submodules.dut = dut
    seen = []

    async def bench(ctx):
        for cycle in range(300):
            assert ctx.get(dut.copies) == ctx.get(dut.ongoing), cycle
            seen.append(ctx.get(dut.ongoing))
            ctx.set(dut.inputs, rng.randrange(1 << N_INPUTS))
            ctx.set(cd.rst, cycle % 97 == 96)
            await ctx.tick()

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(set(seen)) > 2 and seen[97] == seen[194] == 1       # (S0, the initial state, after each reset)


def test_next_state_after_finish_is_an_error():
    m = Module()
    fsm = OneHotFSM(m, init="A")
    with fsm.state("A"):
        fsm.goto("A")
    fsm.finish()
    with pytest.raises(ValueError, match="after finish"):
        fsm.next_state("A")
    m._MustUse__silence = True        # (never elaborated)


def side_by_side(rng, ref, dut, outputs=("state",), cycles=400, width=N_INPUTS):
    """Both machines driven by the same random inputs, their ``outputs`` equal in every cycle; the
    states the reference visited."""
    top = Module()
    top.submodules.ref, top.submodules.dut = ref, dut
    visited = set()

    async def bench(ctx):
        for _ in range(cycles):
            value = rng.randrange(1 << width)
            ctx.set(ref.inputs, value)
            ctx.set(dut.inputs, value)
            for name in outputs:
                assert ctx.get(getattr(dut, name)) == ctx.get(getattr(ref, name)), name
            visited.add(ctx.get(ref.state))
            await ctx.tick()

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return visited


def test_one_hot_fsm_registers_are_one_hot_and_ongoing_names_them():
    m = Module()
    go = Signal()
    fsm = OneHotFSM(m, init="A")
    with fsm.state("A"):
        with m.If(go):
            fsm.goto("B")
    with fsm.state("B"):
        fsm.goto("A")
        fsm.goto("B")          # the last counts: B stays
    fsm.finish()
    a, b = fsm.ongoing("A"), fsm.ongoing("B")

    async def bench(ctx):
        assert (ctx.get(a), ctx.get(b)) == (1, 0)
        await ctx.tick()
        assert (ctx.get(a), ctx.get(b)) == (1, 0)     # go low: A stays
        ctx.set(go, 1)
        await ctx.tick()
        for _ in range(3):
            assert (ctx.get(a), ctx.get(b)) == (0, 1)
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def unsimulated_fsm() -> OneHotFSM:
    """A machine in a module that is never simulated (for the tests of misuse)."""
    m = Module()
    m._MustUse__silence = True
    return OneHotFSM(m, init="A")


def test_one_hot_fsm_rejects_a_target_without_a_body_and_misplaced_states():
    fsm = unsimulated_fsm()
    with fsm.state("A"):
        fsm.goto("NOWHERE")
        with pytest.raises(ValueError, match="inside state"):
            with fsm.state("B"):
                pass
    with pytest.raises(ValueError, match="two bodies"):
        with fsm.state("A"):
            pass
    with pytest.raises(ValueError, match="outside a state"):
        fsm.goto("A")
    with pytest.raises(ValueError, match="without a body: NOWHERE"):
        fsm.finish()


def test_state_mux_here_outside_a_state_is_an_error():
    fsm = unsimulated_fsm()
    mux = StateMux(fsm, 4, "x")
    with pytest.raises(ValueError, match="outside a state"):
        mux.here()
    with pytest.raises(ValueError, match="outside a state"):
        mux.drive(lambda copy: [])


def test_state_mux_driven_twice_in_a_state_is_an_error():
    fsm = unsimulated_fsm()
    mux = StateMux(fsm, 4, "x")
    with fsm.state("A"):
        mux.drive(lambda copy: [copy.eq(1)])
        with pytest.raises(ValueError, match="twice"):
            mux.drive(lambda copy: [copy.eq(2)])
        with pytest.raises(ValueError, match="twice"):
            mux.here()


@pytest.mark.parametrize("seed", range(3))
def test_state_mux_drive_gives_the_states_value_in_its_cycles_only(seed):
    """Two states drive their copies with ``drive`` (a register's value, gated by a copy of the
    state's register), one with ``here()``, one not at all: the mux's value is each state's in its
    cycles, 0 in the other's, as the machine moves at random (the copies' checks on)."""
    m = Module()
    fsm = OneHotFSM(m, init="S0", checks=True)
    mux = StateMux(fsm, 8, "v", cells=MODEL_CELLS)
    move, count, state = Signal(2), Signal(8), Signal(2)
    m.d.sync += count.eq(count + 3)
    for i in range(4):
        with fsm.state(f"S{i}"):
            m.d.comb += state.eq(i)
            if i in (1, 3):
                mux.drive(lambda copy, i=i: [copy.eq(count ^ (i << 4))])
            elif i == 2:
                m.d.comb += mux.here().eq(0x5A)
            for t in range(4):
                with m.If(move == t):
                    fsm.goto(f"S{t}")
    mux.finish()
    fsm.finish()
    rng = random.Random(seed)
    seen = set()

    async def bench(ctx):
        for _ in range(300):
            ctx.set(move, rng.randrange(4))
            at, value = ctx.get(state), ctx.get(mux.value)
            want = {0: 0, 1: ctx.get(count) ^ 0x10, 2: 0x5A, 3: ctx.get(count) ^ 0x30}[at]
            assert value == want, (at, value, want)
            seen.add(at)
            await ctx.tick()
        assert seen == {0, 1, 2, 3}
    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


class ChainMachine(Elaboratable):
    """Each state an ``If``/``Elif`` chain of gotos on conditions of the inputs; ``flat``: the same
    chain as ``goto_if`` of exclusive conditions (each its own and none of those before it)."""

    def __init__(self, chains, flat, leaves=None, within=None):
        # ``within``: every other goto_if ``within=True``, its condition ANDed with a copy of the
        # state's register ("copy") or not ("bare": it holds outside the state too)
        self.chains, self.flat, self.leaves, self.within = chains, flat, leaves, within
        self.fsm = None
        self.inputs = Signal(N_INPUTS)
        self.state = Signal(range(N_STATES))

    def elaborate(self, platform):
        m = Module()

        def condition(mask, want):
            return (self.inputs & mask) == want
        if self.flat:
            # ``leaves``: each state's leaves_when, "exact" (the OR of the conditions of its moves
            # elsewhere) or "wrong" (also when all inputs are high, where it may stay)
            fsm = self.fsm = OneHotFSM(m, init="S0", checks=self.leaves is not None or self.within is not None)
            for i, chain in enumerate(self.chains):
                with fsm.state(f"S{i}"):
                    m.d.comb += self.state.eq(i)
                    before, away = 0, 0
                    here = fsm.copy(f"S{i}", MODEL_CELLS, "within") if self.within == "copy" else 1
                    for j, (mask, want, target) in enumerate(chain):
                        if self.within and j % 2 == 0:
                            fsm.goto_if(f"S{target}", here & condition(mask, want) & ~before, within=True)
                        else:
                            fsm.goto_if(f"S{target}", condition(mask, want) & ~before)
                        if target != i:
                            away = away | (condition(mask, want) & ~before)
                        before = before | condition(mask, want)
                    if self.leaves == "exact":
                        fsm.leaves_when(away)
                    elif self.leaves == "wrong":
                        fsm.leaves_when(away | (self.inputs == (1 << N_INPUTS) - 1))
                    elif self.leaves in ("lut", "lut_cells"):     # the same condition, as a table
                        def leaves(x, chain=chain, i=i):
                            value = sum(bit << k for k, bit in enumerate(x))
                            target = next((t for mask, want, t in chain if value & mask == want), i)
                            return target != i
                        fsm.leaves_when_lut(list(self.inputs), leaves,
                                            MODEL_CELLS if self.leaves == "lut_cells" else None)
            fsm.finish()
        else:
            with m.FSM(init="S0"):
                for i, chain in enumerate(self.chains):
                    with m.State(f"S{i}"):
                        m.d.comb += self.state.eq(i)
                        for j, (mask, want, target) in enumerate(chain):
                            with (m.If if j == 0 else m.Elif)(condition(mask, want)):
                                m.next = f"S{target}"
        return m


def random_chains(rng):
    chains = []
    for i in range(N_STATES):
        chain = []
        for _ in range(rng.randrange(1, 5)):
            mask = rng.randrange(1, 1 << N_INPUTS)
            chain.append((mask, rng.randrange(1 << N_INPUTS) & mask, rng.randrange(N_STATES)))
        chain.append((1, 1, (i + 1) % N_STATES))   # (on around when input 0 is high)
        chains.append(chain)
    return chains


@pytest.mark.parametrize("seed", range(8))
def test_one_hot_fsm_goto_if_of_exclusive_conditions_moves_like_an_elif_chain(seed):
    rng = random.Random(100 + seed)
    chains = random_chains(rng)
    ref, dut = ChainMachine(chains, flat=False), ChainMachine(chains, flat=True)
    visited = side_by_side(rng, ref, dut)
    assert len(visited) >= 4              # (the machines get around)


@pytest.mark.parametrize("seed", range(4))
def test_goto_if_within_the_state_moves_like_an_elif_chain(seed):
    """``goto_if(within=True)`` of conditions made with a copy of the state's register (every
    other move of each state), not ANDed with it again: the same machine."""
    rng = random.Random(200 + seed)
    chains = random_chains(rng)
    ref, dut = ChainMachine(chains, flat=False), ChainMachine(chains, flat=True, within="copy")
    assert len(side_by_side(rng, ref, dut)) >= 4


def test_goto_if_within_of_a_condition_that_holds_elsewhere_fails_its_check():
    rng = random.Random(5)
    chains = random_chains(rng)
    ref, dut = ChainMachine(chains, flat=False), ChainMachine(chains, flat=True, within="bare")
    with pytest.raises(AssertionError, match="within=True"):
        side_by_side(rng, ref, dut)


@pytest.mark.parametrize("seed", range(4))
def test_leaves_when_exact_moves_like_the_elif_chain(seed):
    rng = random.Random(300 + seed)
    chains = random_chains(rng)
    ref, dut = ChainMachine(chains, flat=False), ChainMachine(chains, flat=True, leaves="exact")
    assert len(side_by_side(rng, ref, dut)) >= 4


@pytest.mark.parametrize("seed,leaves", [(0, "lut"), (1, "lut"), (2, "lut_cells"), (3, "lut_cells")])
def test_leaves_when_lut_moves_like_the_elif_chain(seed, leaves):
    """``leaves_when_lut``: each state's exact condition as a table of the four inputs, its next
    value one LUT (as an expression, and of the slice cells' models)."""
    rng = random.Random(400 + seed)
    chains = random_chains(rng)
    ref, dut = ChainMachine(chains, flat=False), ChainMachine(chains, flat=True, leaves=leaves)
    assert len(side_by_side(rng, ref, dut)) >= 4


def test_leaves_when_lut_of_more_than_four_inputs_is_an_error():
    fsm = unsimulated_fsm()
    with fsm.state("A"):
        with pytest.raises(ValueError, match="1 to 4 inputs, not 5"):
            fsm.leaves_when_lut([Signal() for _ in range(5)], any)


class DirectEntryMachine(Elaboratable):
    """Three states; B leaves on a table of two inputs (``leaves_when_lut``), its entry from A an
    input of B's LUT of its own (``direct_from``), from C through the entries' OR -- or the same
    moves as ``m.FSM()`` (``reference``)."""

    def __init__(self, reference, cells=None, direct_from=("A",)):
        self.reference, self.cells, self.direct_from = reference, cells, direct_from
        self.inputs = Signal(4)
        self.state = Signal(2)

    def elaborate(self, platform):
        m = Module()
        m._MustUse__silence = platform == "unsimulated"
        i = self.inputs
        if self.reference:
            with m.FSM(init="A"):
                with m.State("A"):
                    with m.If(i[0] & i[1]):
                        m.next = "B"
                    with m.Elif(i[2]):
                        m.next = "C"
                with m.State("B"):
                    m.d.comb += self.state.eq(1)
                    with m.If(i[0] & ~i[3]):
                        m.next = "C"
                    with m.Elif(~i[0] & i[3]):
                        m.next = "A"
                with m.State("C"):
                    m.d.comb += self.state.eq(2)
                    with m.If(i[1]):
                        m.next = "B"
                    with m.Elif(i[3]):
                        m.next = "A"
            return m
        fsm = OneHotFSM(m, init="A", checks=True)
        with fsm.state("A"):
            fsm.goto_if("B", i[0] & i[1])
            fsm.goto_if("C", ~(i[0] & i[1]) & i[2])
        with fsm.state("B"):
            m.d.comb += self.state.eq(1)
            fsm.goto_if("C", i[0] & ~i[3])
            fsm.goto_if("A", ~i[0] & i[3])
            fsm.leaves_when_lut([i[0], i[3]], lambda x: x[0] != x[1], self.cells, direct_from=self.direct_from)
        with fsm.state("C"):
            m.d.comb += self.state.eq(2)
            fsm.goto_if("B", i[1])
            fsm.goto_if("A", ~i[1] & i[3])
        fsm.finish()
        return m


@pytest.mark.parametrize("cells", [None, MODEL_CELLS])
def test_leaves_when_lut_with_a_direct_entry_moves_like_the_elif_chain(cells):
    """``leaves_when_lut(direct_from=...)``: the entry from A an input of B's next-value LUT, the
    other through the entries' OR -- the same machine as ``m.FSM()``, every state visited."""
    rng = random.Random(11)
    ref, dut = DirectEntryMachine(reference=True), DirectEntryMachine(reference=False, cells=cells)
    assert side_by_side(rng, ref, dut) == {0, 1, 2}


def test_leaves_when_lut_direct_from_a_state_without_a_move_there_is_an_error():
    with pytest.raises(ValueError, match="no move to it from D"):
        DirectEntryMachine(reference=False, direct_from=("D",)).elaborate("unsimulated")


def test_leaves_when_that_disagrees_with_the_moves_fails_its_check():
    # a state that may stay when all inputs are high (a chain of one self-loop there) whose
    # leaves_when says it leaves: the check fires as soon as the machine is there with them high
    chains = [[(0b1111, 0b1111, i), (1, 1, (i + 1) % N_STATES)] for i in range(N_STATES)]
    rng = random.Random(7)
    ref, dut = ChainMachine(chains, flat=False), ChainMachine(chains, flat=True, leaves="wrong")
    with pytest.raises(AssertionError, match="left when its leaves_when holds"):
        side_by_side(rng, ref, dut)


def test_leaves_when_outside_a_body_or_twice_is_an_error():
    fsm = unsimulated_fsm()
    with pytest.raises(ValueError, match="outside a state"):
        fsm.leaves_when(1)
    with fsm.state("A"):
        fsm.leaves_when(0)
        with pytest.raises(ValueError, match="twice"):
            fsm.leaves_when(1)


class DrainMachine(Elaboratable):
    """A, B and C; A and B go to each other on input 0 and to C on input 1 (the last goto
    counting), C back to A on input 2. ``next_is_lut``: C's next value given as one table of
    (input 1, A, B, C, input 2) -- ``exact``, or ``wrong`` (C also kept on input 2); ``None``:
    the gotos' own logic."""

    def __init__(self, lut=None, amaranth=False):
        self.lut, self.amaranth = lut, amaranth
        self.inputs = Signal(3)
        self.state = Signal(2)

    def elaborate(self, platform):
        m = Module()
        x = self.inputs
        if self.amaranth:
            with m.FSM(init="A"):
                for name, code, other in (("A", 0, "B"), ("B", 1, "A")):
                    with m.State(name):
                        m.d.comb += self.state.eq(code)
                        with m.If(x[1]):
                            m.next = "C"
                        with m.Elif(x[0]):
                            m.next = other
                with m.State("C"):
                    m.d.comb += self.state.eq(2)
                    with m.If(x[2]):
                        m.next = "A"
            return m
        fsm = OneHotFSM(m, init="A", checks=True)
        for name, code, other in (("A", 0, "B"), ("B", 1, "A")):
            with fsm.state(name):
                m.d.comb += self.state.eq(code)
                with m.If(x[0]):
                    fsm.goto(other)
                with m.If(x[1]):
                    fsm.goto("C")
        with fsm.state("C"):
            m.d.comb += self.state.eq(2)
            with m.If(x[2]):
                fsm.goto("A")
        if self.lut:
            wrong = self.lut == "wrong"
            fsm.next_is_lut("C", [x[1], fsm.ongoing("A"), fsm.ongoing("B"), fsm.ongoing("C"), x[2]],
                            lambda v: (v[0] and (v[1] or v[2])) or (v[3] and (wrong or not v[4])), MODEL_CELLS)
        fsm.finish()
        return m


@pytest.mark.parametrize("lut", [None, "exact"])
def test_next_is_lut_that_agrees_moves_like_amaranths_fsm(lut):
    rng = random.Random(21)
    assert side_by_side(rng, DrainMachine(amaranth=True), DrainMachine(lut), width=3) == {0, 1, 2}


def test_next_is_lut_that_disagrees_with_the_moves_fails_its_check():
    dut = DrainMachine("wrong")

    async def bench(ctx):
        for value in (0b010, 0b100, 0b100):        # to C, then input 2: C must leave
            ctx.set(dut.inputs, value)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    with pytest.raises(AssertionError, match="next_is_lut agrees with its moves"):
        sim.run()


def test_next_is_lut_after_finish_or_of_seven_inputs_is_an_error():
    fsm = unsimulated_fsm()
    with fsm.state("A"):
        pass
    with pytest.raises(ValueError, match="1 to 6 inputs, not 7"):
        fsm.next_is_lut("A", [Signal() for _ in range(7)], any)
    fsm.finish()
    with pytest.raises(ValueError, match="after finish"):
        fsm.next_is_lut("A", [Signal()], any)
