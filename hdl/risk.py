"""NotionalCheck: is price x qty above an account's notional limit, as DSP48E2s can run it at 300 MHz.

Contract
--------
* ``price`` and ``qty`` (32 bits each, unsigned) given in cycle t are multiplied into four 16 x 16
  partial products, each registered at the end of t: for synthesis each is a DSP48E2 instantiated
  with its P register on (Yosys' ``xilinx_dsp`` packs no register into a DSP48E2, so inference would
  leave the multiply combinational); in simulation a behavioural multiply and register.
* In cycle t+1 the partial products are summed (carry-save to two terms, then one adder) and
  compared with ``limit``, given in t+1; when ``capture`` is high in t+1 the answer is registered,
  so ``over`` in cycle t+2 answers for the operands of cycle t and holds until the next capture.
* ``latency=3`` (the pipelined engine's, docs/pipelined-engine.md): the sum is registered at the end
  of t+1 and compared in t+2, with ``limit`` and ``capture`` given in t+2; ``over`` in t+3. (At 2,
  the adder and the compare after the DSPs' P registers make a 4.0 ns path at the u280's -2
  figures; at 3, each is a carry chain of its own.)
* ``limit_written`` and ``limit_hit`` (given with ``limit``; ``limit_hit`` 0 unless driven): a
  second candidate of the limit, taken where ``limit_hit`` holds -- a forwarding memory's two
  candidates (``RowChoice``), compared each and chosen after the compares' carry chains, so that
  the memory's choice meets the answer's last LUT only.
* ``valid`` (given with ``capture``, 1 unless driven): what ``over`` is ANDed with when captured
  -- a capture with ``valid`` low clears ``over``, so a user that captures for every command, 0 for
  those it does not check, reads ``over`` from one register.
* Fully pipelined: new operands every cycle. ``limit`` and ``capture`` come in cycle
  t + ``latency`` - 1.
"""

from amaranth import C, Cat, ClockSignal, Elaboratable, Instance, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpgax.hdl.target import uses_primitives

#: Cycles from the operands to ``over``.
LATENCY = 2


class NotionalCheck(wiring.Component):
    price: In(32)
    qty: In(32)
    limit: In(64)
    limit_written: In(64)
    limit_hit: In(1)
    capture: In(1)
    valid: In(1, init=1)
    over: Out(1)

    def __init__(self, latency: int = LATENCY):
        if latency not in (2, 3):
            raise ValueError(f"NotionalCheck latency {latency}: 2 or 3")
        self.latency = latency
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        hi_p, lo_p = self.price[16:], self.price[:16]
        hi_q, lo_q = self.qty[16:], self.qty[:16]
        # the four partial products, each a DSP with its P register
        hh, hl, lh, ll = (Signal(32, name=n, reset_less=True) for n in ("p_hh", "p_hl", "p_lh", "p_ll"))
        for name, out, a, b in (("hh", hh, hi_p, hi_q), ("hl", hl, hi_p, lo_q), ("lh", lh, lo_p, hi_q),
                                ("ll", ll, lo_p, lo_q)):
            if uses_primitives(platform):
                m.submodules[f"dsp_{name}"] = dsp48e2_product(a, b, out)
            else:
                m.d.sync += out.eq(a * b)
        # price x qty = hh << 32 | ll, plus (hl + lh) << 16: three terms, carry-saved into two
        a, b, c = Signal(64), Signal(64), Signal(64)
        m.d.comb += [a.eq(Cat(ll, hh)), b.eq(hl << 16), c.eq(lh << 16)]
        save, carry = Signal(64), Signal(65)
        m.d.comb += [save.eq(a ^ b ^ c), carry.eq(((a & b) | (a & c) | (b & c)) << 1)]
        product = Signal(65)
        if self.latency == 3:
            m.d.sync += product.eq(save + carry)
        else:
            m.d.comb += product.eq(save + carry)
        over_read, over_written = Signal(), Signal()
        m.d.comb += [over_read.eq(product > self.limit), over_written.eq(product > self.limit_written)]
        with m.If(self.capture):
            m.d.sync += self.over.eq(self.valid & Mux(self.limit_hit, over_written, over_read))
        return m


#: DSP48E2 ports (UG974), name: (direction, width).
DSP48E2_PORTS = {
    "A": ("i", 30), "ACIN": ("i", 30), "ALUMODE": ("i", 4), "B": ("i", 18), "BCIN": ("i", 18), "C": ("i", 48),
    "CARRYCASCIN": ("i", 1), "CARRYIN": ("i", 1), "CARRYINSEL": ("i", 3), "CEA1": ("i", 1), "CEA2": ("i", 1),
    "CEAD": ("i", 1), "CEALUMODE": ("i", 1), "CEB1": ("i", 1), "CEB2": ("i", 1), "CEC": ("i", 1),
    "CECARRYIN": ("i", 1), "CECTRL": ("i", 1), "CED": ("i", 1), "CEINMODE": ("i", 1), "CEM": ("i", 1),
    "CEP": ("i", 1), "CLK": ("i", 1), "D": ("i", 27), "INMODE": ("i", 5), "MULTSIGNIN": ("i", 1),
    "OPMODE": ("i", 9), "PCIN": ("i", 48), "RSTA": ("i", 1), "RSTALLCARRYIN": ("i", 1), "RSTALUMODE": ("i", 1),
    "RSTB": ("i", 1), "RSTC": ("i", 1), "RSTCTRL": ("i", 1), "RSTD": ("i", 1), "RSTINMODE": ("i", 1),
    "RSTM": ("i", 1), "RSTP": ("i", 1),
    "ACOUT": ("o", 30), "BCOUT": ("o", 18), "CARRYCASCOUT": ("o", 1), "CARRYOUT": ("o", 4), "MULTSIGNOUT": ("o", 1),
    "OVERFLOW": ("o", 1), "P": ("o", 48), "PATTERNBDETECT": ("o", 1), "PATTERNDETECT": ("o", 1), "PCOUT": ("o", 48),
    "UNDERFLOW": ("o", 1), "XOROUT": ("o", 8),
}
#: The configuration of a plain A x B multiply, as Yosys' own xcu_dsp_map.v maps one (every register
#: off, X and Y from the multiplier, Z and W zero, ALUMODE add: P = A x B), with the P register on.
DSP48E2_MULTIPLY = {
    "ACASCREG": 0, "ADREG": 0, "A_INPUT": "DIRECT", "ALUMODEREG": 0, "AREG": 0, "BCASCREG": 0,
    "B_INPUT": "DIRECT", "BREG": 0, "CARRYINREG": 0, "CARRYINSELREG": 0, "CREG": 0, "DREG": 0,
    "INMODEREG": 0, "MREG": 0, "OPMODEREG": 0, "PREG": 1, "USE_MULT": "MULTIPLY", "USE_SIMD": "ONE48",
    "AMULTSEL": "A", "BMULTSEL": "B",
}
#: Its control inputs: OPMODE W=00 Z=000 Y=01 X=01 (UG579), ALUMODE 0000 (Z + W + X + Y + CIN),
#: INMODE 0 (A and B straight to the multiplier); the P register always enabled, never reset.
DSP48E2_MULTIPLY_CONTROLS = {"OPMODE": 0b000000101, "ALUMODE": 0, "INMODE": 0, "CARRYINSEL": 0, "CEP": 1}


def dsp48e2_product(a, b, out) -> Instance:
    """One DSP48E2 computing the unsigned product ``a`` x ``b`` (16 bits each) into its P register,
    whose low bits drive ``out``: ``out`` in cycle t+1 is the product of ``a`` and ``b`` in cycle t."""
    p = Signal(48, name="p")
    ports = {}
    for name, (direction, width) in DSP48E2_PORTS.items():
        if name == "CLK":
            ports["i_CLK"] = ClockSignal()
        elif name == "A":
            ports["i_A"] = Cat(a, C(0, 30 - len(a)))      # zero-extended: unsigned
        elif name == "B":
            ports["i_B"] = Cat(b, C(0, 18 - len(b)))
        elif name == "P":
            ports["o_P"] = p
        elif direction == "i":
            ports[f"i_{name}"] = C(DSP48E2_MULTIPLY_CONTROLS.get(name, 0), width)
        else:
            ports[f"o_{name}"] = Signal(width, name=f"unused_{name.lower()}")
    params = {f"p_{k}": v for k, v in DSP48E2_MULTIPLY.items()}
    return _Wired(Instance("DSP48E2", **params, **ports), p, out)


class _Wired(Elaboratable):
    """An Instance with the assignment of its P output's low bits to ``out``."""

    def __init__(self, inst, p, out):
        self.inst, self.p, self.out = inst, p, out

    def elaborate(self, platform):
        m = Module()
        m.submodules.dsp = self.inst
        m.d.comb += self.out.eq(self.p[:len(self.out)])
        return m


def dsp48e2_lint_stub() -> str:
    """A Verilog declaration of DSP48E2 with the ports above and outputs tied to 0, for Verilator's
    lint of the synthesis Verilog (no vendor library here; Vivado brings the real primitive)."""
    params = ",\n".join(f"  parameter {k} = {v!r}".replace("'", '"') for k, v in DSP48E2_MULTIPLY.items())
    ports = ",\n".join(f"  {'input' if d == 'i' else 'output'} wire [{w - 1}:0] {n}"
                        for n, (d, w) in DSP48E2_PORTS.items())
    ties = "\n".join(f"  assign {n} = {w}'d0;" for n, (d, w) in DSP48E2_PORTS.items() if d == "o")
    return ("// Generated from fpgax.hdl.risk.DSP48E2_PORTS for lint only.\n/* verilator lint_off UNUSEDPARAM */\n"
            f"module DSP48E2 #(\n{params}\n) (\n{ports}\n);\n{ties}\nendmodule\n")
