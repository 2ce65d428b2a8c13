"""Long regressions (`make regress`, marker `slow`): long generated flows on several seeds and
profiles, invariants every 1000 commands and the event ledger at the end."""

import pytest

from fpgax.sim.golden.model import MatchingModel
from fpgax.spec.config import profile
from fpgax.workload.gen import GenOptions, generate

from .test_properties import EventLedger


@pytest.mark.slow
@pytest.mark.parametrize("name,seed", [("sim", s) for s in range(1, 5)] + [("tiny", 5), ("u280", 6)])
def test_long_generated_flow(name, seed):
    config = profile(name)
    opts = GenOptions(orders=250_000, seed=seed, symbols=min(8, config.symbols),
                      accounts=min(8, config.accounts), invalid=0.01, admin=0.002, burst=0.002)
    model = MatchingModel(config)
    ledger = EventLedger()
    for i, cmd in enumerate(generate(opts, config)):
        for e in model.apply(cmd):
            ledger.apply(e)
        if i % 1000 == 0:
            model.check_invariants()
    model.check_invariants()
    ledger.check(model)
