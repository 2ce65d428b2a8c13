"""OneHotFSM: a state machine with one flip-flop per state, written like Amaranth's ``m.FSM()``.

Amaranth's FSM keeps its state as a binary number, and Yosys keeps that encoding: every state's
body is guarded by a compare of the whole state register (two LUT levels), and those compares
reach every register the machine drives, so a 60-state machine's decode nets have hundreds of
loads. Here each state is a register of its own, so "in state S" is that register's output.

Use::

    fsm = OneHotFSM(m, init="IDLE", name="fsm")
    with fsm.state("IDLE"):
        with m.If(start):
            fsm.goto("BUSY")
    with fsm.state("BUSY"):
        ...
    fsm.finish()          # after the last state: builds the next-state logic

Contract (the same as ``m.FSM()``):

* A state's body acts in the cycles the machine is in that state. ``goto(T)`` in a body moves
  the machine to T at the next clock edge; when several ``goto`` of one body run in a cycle, the
  last one (in program order) counts, as the last ``m.next`` assignment does. With none, the
  machine stays.
* ``ongoing(S)`` is 1 in the cycles the machine is in S; ``init`` is the state after reset.
* ``goto_if(T, condition)`` in a body moves to T when ``condition`` holds, as an OR, not a priority:
  the caller guarantees that in a cycle where it holds, no other goto of the body counts (flat
  conditions of exclusive verdicts give next-state logic as deep as the verdicts, where a chain of
  ``If``/``Elif`` makes each target wait for every condition before it). ``within=True``: the
  caller guarantees that ``condition`` holds only in this state (it is made from a copy of the
  state's register), so the move is not ANDed with the register again, a LUT less (with
  ``checks``, an ``Assert`` says so).
* ``leaves_when(condition)`` in a body: the machine leaves the state exactly in the cycles
  ``condition`` holds (the caller guarantees that then one counting goto of the body leads
  elsewhere, and that otherwise none does). The state's register then stays on ``~condition``,
  which may be one LUT of registers, not on the OR of every move's condition (as deep as the
  deepest). With ``checks``, an ``Assert`` for amaranth.sim says that the two agree.
* ``leaves_when_lut(inputs, function, cells)``: ``leaves_when(function(inputs))`` for up to four
  one-bit inputs, with the state's next value one LUT (``fpgax.hdl.bits.lut_of``; a slice cell
  with ``cells``) of its register, those inputs and the OR of its entries (with ``cells``, up to
  six entries, a LUT of its own): the condition's own LUT is not on the state's path.
  ``direct_from=(states)``: the moves from those states are inputs of that LUT themselves, not
  through the entries' OR (for an entry decided late in its cycle; at most four inputs in all).
* ``next_is_lut(S, inputs, function, cells)``: state S's register takes ``function(inputs)`` (up to six
  one-bit inputs) in every cycle, one LUT, instead of the next-state logic the gotos make; the
  caller guarantees the two agree (with ``checks``, an ``Assert`` says they do). For a state entered
  from many others on one condition (an OR of their registers, a tree as deep as their number).
* ``next_state_or_in(S, sources)``: ``next_state(S)``, or 1 in every cycle spent in one of
  ``sources`` (states with a move to S): their moves' conditions are not on its path, only their
  registers. For a register that must be set whenever the machine enters S and may be set
  when it could have.
* A name used by ``goto`` must have a body by ``finish()`` (a ``ValueError`` otherwise).

The bodies are separate ``If`` blocks, so a signal driven by several states is a chain of
multiplexers the synthesizer does not know to be exclusive; where that chain is long, drive the
signal from an AND-OR of ``ongoing()`` terms instead.
"""

from contextlib import contextmanager

from amaranth import Assert, Cat, Const, Module, Signal, Value

from fpgax.hdl.bits import and_terms_of_luts, any_of_luts, lut_of, or_tree, register_copy


class OneHotFSM:
    def __init__(self, m: Module, init: str, name: str = "fsm", domain: str = "sync", checks: bool = False):
        self._m = m
        self._checks = checks
        self._leaves: dict[str, Value] = {}           # state -> its leaves_when condition
        self._leaf_luts: dict[str, tuple] = {}        # state -> leaves_when_lut's (inputs, function, cells)
        self._next_luts: dict[str, tuple] = {}        # state -> next_is_lut's (inputs, function, cells)
        self._name = name
        self._domain = domain
        self._init = init
        self._bits: dict[str, Signal] = {}
        self._bodies: set[str] = set()
        self._go: dict[str, dict[str, Signal]] = {}   # state -> target -> "goto(target) counts"
        self._go_if: dict[str, dict[str, list]] = {}  # state -> target -> goto_if conditions
        self._current = None
        self._finished = False
        self._next: dict[str, Signal] = {}
        self._next_or_in: dict[tuple, Signal] = {}     # (state, sources) -> next_state_or_in's
        self._copies: list = []                       # (state, cells, tag, signal) of ``copy``
        self.ongoing(init)

    def ongoing(self, name: str) -> Signal:
        """The register that is 1 while the machine is in state ``name``."""
        if name not in self._bits:
            self._bits[name] = Signal(name=f"{self._name}_{name}", init=int(name == self._init))
        return self._bits[name]

    def next_state(self, name: str) -> Signal:
        """1 in the cycles after which the machine is in state ``name`` (what ``ongoing(name)``
        will be in the next cycle: its register's input), for a register of the caller's that
        must follow the state a cycle ahead. Driven by ``finish()``: asked for before it."""
        if self._finished and name not in self._next:
            raise ValueError(f"next_state({name!r}) after finish()")
        self.ongoing(name)
        if name not in self._next:
            self._next[name] = Signal(name=f"{self._name}_next_{name}")
        return self._next[name]

    def next_state_or_in(self, name: str, sources) -> Signal:
        """``next_state(name)`` or ``ongoing(source)`` for a source among ``sources`` (see the
        contract): the entries from the other states, the stay, and the sources' registers.
        Asked for before ``finish()``."""
        if self._finished:
            raise ValueError(f"next_state_or_in({name!r}) after finish()")
        sources = tuple(sources)
        self.ongoing(name)
        for source in sources:
            self.ongoing(source)
        key = (name, sources)
        if key not in self._next_or_in:
            self._next_or_in[key] = Signal(name=f"{self._name}_next_{name}_or_in")
        return self._next_or_in[key]

    def copy(self, name: str, cells=None, tag: str = "copy") -> Signal:
        """A copy of state ``name``'s register (``fpgax.hdl.bits.register_copy``: in synthesis,
        with ``cells``, a flip-flop instance of its own), loaded from the same next-state logic,
        for loads that need the state near: a one-hot state with hundreds of loads reaches them
        all through one slow net. Equal to ``ongoing(name)`` in every cycle (asserted with
        ``checks``). Asked for before ``finish()``."""
        if self._finished:
            raise ValueError(f"copy({name!r}) after finish()")
        self.next_state(name)
        bit = Signal(name=f"{self._name}_{name}_{tag}")
        # (the register is made by ``finish()``, outside every state's body: one asked for in a body
        # would be loaded only in that state's cycles)
        self._copies.append((name, cells, tag, bit))
        return bit

    @property
    def current(self):
        """The name of the state whose body is being written (None outside a body)."""
        return self._current

    @contextmanager
    def state(self, name: str):
        """The body of state ``name``: statements in it act while the machine is in it."""
        if self._finished:
            raise ValueError(f"state {name!r} after finish()")
        if name in self._bodies:
            raise ValueError(f"state {name!r} has two bodies")
        if self._current is not None:
            raise ValueError(f"state {name!r} inside state {self._current!r}")
        self._bodies.add(name)
        self._go[name] = {}
        self._go_if[name] = {}
        self._current = name
        try:
            with self._m.If(self.ongoing(name)):
                yield
        finally:
            self._current = None

    def goto(self, target: str):
        """Move to ``target`` at the next clock edge (the last goto of a body's cycle counts)."""
        if self._current is None:
            raise ValueError(f"goto({target!r}) outside a state's body")
        self.ongoing(target)
        go = self._go[self._current]
        if target not in go:
            go[target] = Signal(name=f"{self._name}_{self._current}_to_{target}")
        # this goto cancels every earlier one of the body; later targets are not yet set
        self._m.d.comb += [flag.eq(t == target) for t, flag in go.items()]

    def goto_if(self, target: str, condition, within: bool = False):
        """Move to ``target`` at the next clock edge when ``condition`` holds (in this state), which
        no other counting goto of the body may share: an OR of exclusive conditions. ``within``:
        ``condition`` holds only in this state (see the contract)."""
        if self._current is None:
            raise ValueError(f"goto_if({target!r}) outside a state's body")
        self.ongoing(target)
        self._go_if[self._current].setdefault(target, []).append((Value.cast(condition), within))

    def leaves_when(self, condition):
        """The state whose body this is is left exactly when ``condition`` holds (see the contract)."""
        if self._current is None:
            raise ValueError("leaves_when() outside a state's body")
        if self._current in self._leaves:
            raise ValueError(f"state {self._current!r}: leaves_when() twice")
        self._leaves[self._current] = Value.cast(condition)

    def leaves_when_lut(self, inputs: list, function, cells=None, direct_from=()):
        """The state whose body this is is left exactly when ``function`` (of a tuple of the
        ``inputs``' bits, as ``lut_of``'s) holds; its next value one LUT (see the contract), the
        entries from the states ``direct_from`` inputs of their own."""
        if not 1 <= len(inputs) <= 4 - len(direct_from):
            direct = f" with {len(direct_from)} direct entries" if direct_from else ""
            raise ValueError(f"leaves_when_lut: 1 to {4 - len(direct_from)} inputs{direct}, not {len(inputs)}")
        self.leaves_when(lut_of(self._m, inputs, function))
        self._leaf_luts[self._current] = (list(inputs), function, cells, tuple(direct_from))

    def next_is_lut(self, name: str, inputs: list, function, cells=None):
        """State ``name``'s next value is ``function`` of ``inputs`` (see the contract)."""
        if self._finished:
            raise ValueError(f"next_is_lut({name!r}) after finish()")
        if not 1 <= len(inputs) <= 6:
            raise ValueError(f"next_is_lut: 1 to 6 inputs, not {len(inputs)}")
        self.ongoing(name)
        self._next_luts[name] = (list(inputs), function, cells)

    def finish(self):
        """Build the next-state logic: state S is entered by a counting goto(S) of another state,
        and kept while no goto of its own body leads elsewhere."""
        missing = sorted(set(self._bits) - self._bodies)
        if missing:
            raise ValueError(f"states without a body: {', '.join(missing)}")
        self._finished = True
        # every move: (source, target, flag) -- a goto's flag, or a goto_if's conditions ORed
        moves = [(source, target, flag) for source, go in self._go.items() for target, flag in go.items()]
        for source, targets in self._go_if.items():
            for target, conditions in targets.items():
                flag = Signal(name=f"{self._name}_{source}_if_{target}")
                bit = self._bits[source]
                inside = [c for c, within in conditions if within]
                plain = [c for c, within in conditions if not within]
                self._m.d.comb += flag.eq(or_tree(inside + ([bit & or_tree(plain)] if plain else [])))
                if self._checks:
                    self._m.d[self._domain] += [Assert(~c | bit, f"{self._name}: {source}'s goto_if({target!r}, "
                                                                 f"within=True) outside it")
                                                for c, within in conditions if within]
                moves.append((source, target, flag))
        enter = {s: [] for s in self._bits}
        leave = {s: [] for s in self._bits}
        entered_from = {s: [] for s in self._bits}     # (each entry's source)
        for source, target, flag in moves:
            if target != source:
                enter[target].append(flag)
                entered_from[target].append(source)
                leave[source].append(flag)
        stays = {}
        for s, bit in self._bits.items():
            # (reductions: trees, not chains of one gate a flag)
            moved = Cat(*leave[s]).any() if leave[s] else 0
            if s in self._leaves:
                stay = bit & ~self._leaves[s]
                if self._checks:
                    self._m.d[self._domain] += Assert(~bit | (self._leaves[s] == moved),
                                                      f"{self._name}: state {s} left when its leaves_when holds")
            else:
                stay = bit & ~moved
            stays[s] = stay
            if s in self._leaf_luts:      # (one LUT: the register, the inputs, the entries' OR)
                inputs, function, cells, direct_from = self._leaf_luts[s]
                missing = [x for x in direct_from if x not in entered_from[s]]
                if missing:
                    raise ValueError(f"leaves_when_lut of {s!r}: no move to it from {', '.join(missing)}")
                direct = [flag for flag, source in zip(enter[s], entered_from[s], strict=True) if source in direct_from]
                others = [flag for flag, source in zip(enter[s], entered_from[s], strict=True)
                          if source not in direct_from]
                # (the other entries' OR a LUT of its own in synthesis: the mapper otherwise chains it
                # with the flags' conditions)
                if cells is not None and 1 < len(others) <= 6:
                    entered = lut_of(self._m, others, any, cells)
                else:
                    entered = or_tree(others) if others else Const(0, 1)
                n = len(inputs)
                next_bit = lut_of(self._m, [bit, *inputs, *direct, entered],
                                  lambda x, f=function, n=n: bool((x[0] and not f(x[1:1 + n])) or any(x[1 + n:])),
                                  cells)
            else:
                next_bit = or_tree([stay] + enter[s])
            if s in self._next_luts:      # (the caller's LUT; the gotos' logic only checks it)
                inputs, function, cells = self._next_luts[s]
                given = lut_of(self._m, inputs, function, cells)
                if self._checks:
                    self._m.d[self._domain] += Assert(given == next_bit,
                                                      f"{self._name}: state {s}'s next_is_lut agrees with its moves")
                next_bit = given
            if s in self._next:           # (asked for: named, see ``next_state``)
                self._m.d.comb += self._next[s].eq(next_bit)
                next_bit = self._next[s]
            self._m.d[self._domain] += bit.eq(next_bit)
        for (s, sources), signal in self._next_or_in.items():
            missing = [source for source in sources if source not in entered_from[s]]
            if missing:
                raise ValueError(f"next_state_or_in({s!r}): no move to it from {', '.join(missing)}")
            others = [flag for flag, source in zip(enter[s], entered_from[s], strict=True) if source not in sources]
            self._m.d.comb += signal.eq(or_tree([stays[s], *others, *(self._bits[x] for x in sources)]))
        for s, cells, tag, copy in self._copies:
            self._m.d.comb += copy.eq(register_copy(self._m, self._next[s], cells, init=int(s == self._init),
                                                    name=f"{self._name}_{s}_{tag}_r", domain=self._domain))
            if self._checks:
                self._m.d[self._domain] += Assert(copy == self._bits[s], f"{self._name}: {tag} of state {s}")


class StateMux:
    """A combinational signal that several states of a ``OneHotFSM`` drive, as an OR of the states'
    own copies rather than a chain of multiplexers: each state drives a copy of its own (``here()``,
    in its body; 0 in the cycles the machine is elsewhere, as the body is), and the signal is the
    OR of the copies. Its depth is that of the deepest state's own logic plus an OR tree, whatever
    the number of states (a signal driven in the bodies themselves is a chain of one multiplexer a
    state, since the synthesizer does not know the states exclude each other).

    Use::

        ev = StateMux(fsm, EventLayout, "ev")
        with fsm.state("A"):
            m.d.comb += ev.here().type.eq(1)
        ...
        ev.finish()          # once every state has driven its copy
        ... ev.value ...
    """

    def __init__(self, fsm: OneHotFSM, shape, name: str, cells=None, own_copy_bits=()):
        self._fsm = fsm
        # (bits gated by a second copy of each driving state's register: a bit on a short path,
        # such as a write enable, whose states' copies' nets reach every other bit)
        self._own_copy_bits = frozenset(own_copy_bits)
        self._shape = shape
        self._name = name
        self._cells = cells
        self._copies: dict[str, Signal] = {}
        self._driven: dict[str, object] = {}     # state -> build, for ``drive``
        self.value = Signal(shape, name=name)

    def here(self) -> Signal:
        """The copy of the state whose body is being written."""
        state = self._fsm.current
        if state is None:
            raise ValueError(f"{self._name}: here() outside a state's body")
        if state in self._driven:
            raise ValueError(f"{self._name}: state {state} drives its copy twice (drive, then here)")
        if state not in self._copies:
            self._copies[state] = copy = Signal(self._shape, name=f"{self._name}_{state}")
            # every bit driven by the state's statements (0 where it sets no field): no bit of the
            # copy is left to a constant process of its own (Verilator: ALWNEVER, UNDRIVEN)
            self._fsm._m.d.comb += Value.cast(copy).eq(0)
        return self._copies[state]

    def drive(self, build):
        """In a state's body, instead of ``here()``: the state's copy is driven by the statements
        ``build(copy)`` returns, added outside the machine's bodies, and gated by a copy of the
        state's register (``OneHotFSM.copy``, with the ``cells`` given) rather than by the state's
        own register, whose loads are the machine's. For values that hold whatever the state
        (registers, a memory's data: nothing assigned in the body or under its branches; the
        statements act in every cycle), such as an event's fields."""
        state = self._fsm.current
        if state is None:
            raise ValueError(f"{self._name}: drive() outside a state's body")
        if state in self._copies or state in self._driven:
            raise ValueError(f"{self._name}: state {state} drives its copy twice")
        own = self._fsm.copy(state, self._cells, f"{self._name}_own") if self._own_copy_bits else None
        self._driven[state] = (build, self._fsm.copy(state, self._cells, self._name), own)

    def finish(self):
        """Drive ``value``: the OR of the states' copies."""
        m = self._fsm._m
        plain = [Value.cast(copy) for copy in self._copies.values()]
        driven = []
        for state, (build, in_state, own) in self._driven.items():
            copy = Signal(self._shape, name=f"{self._name}_{state}")
            m.d.comb += build(copy)
            driven.append((Value.cast(copy), in_state, own))

        def gate(b, in_state, own):
            return own if b in self._own_copy_bits else in_state
        if self._cells is None or not driven:
            gated = [Cat(*(row[b] & gate(b, in_state, own) for b in range(len(row)))) if own is not None
                     else row & in_state.replicate(len(row)) for row, in_state, own in driven]
            m.d.comb += Value.cast(self.value).eq(or_tree(plain + gated))
            return
        # (with slice cells, each bit's AND-OR of the driven states as LUT6s of three states each,
        # then their OR with the other copies' bits: the mapper would factor the states' copies
        # shared by many bits into nets of a hundred loads)
        bits = []
        for b in range(len(Value.cast(self.value))):
            parts = and_terms_of_luts(m, [[(gate(b, in_state, own), 1), (row[b], 1)] for row, in_state, own in driven],
                                      self._cells)
            parts += [row[b] for row in plain]
            bits.append(any_of_luts(m, [(None, parts)], self._cells))
        m.d.comb += Value.cast(self.value).eq(Cat(*bits))
