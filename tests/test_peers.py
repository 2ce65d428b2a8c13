"""`fpgax bench peers`: the model and the PyPI order books trade the same on the limit-and-cancel flow,
a peer that trades differently is caught, and a missing peer interpreter is a clear error."""

import sys

import pytest

from fpgax.cli import main
from fpgax.errors import FpgaxError
from fpgax.measure import peers

pytestmark = pytest.mark.skipif(not all(peers.installed(m) for m in ("pyorderbook", "lightmatchingengine")),
                                reason="the peers extra is not installed")


def test_the_flow_is_limit_and_cancel_with_trades():
    flow = peers.limit_and_cancel_flow(3000, seed=2)
    kinds = {k for k, *_ in flow}
    assert kinds == {peers.NEW, peers.CANCEL}
    # cancels name earlier NEWs
    assert all(flow[target][0] == peers.NEW and target < i for i, (k, _, _, _, target) in enumerate(flow)
               if k == peers.CANCEL)
    assert len(peers.run_model(flow)) > 100


def test_every_peer_trades_like_the_model():
    flow = peers.limit_and_cancel_flow(5000, seed=3)
    reference = peers.run_model(flow)
    assert peers.run_pyorderbook(flow) == reference
    assert peers.run_lightmatchingengine(flow) == reference


def test_a_peer_that_trades_differently_is_reported(monkeypatch, capsys):
    real = peers.run_lightmatchingengine

    def drops_the_last_trade(flow):
        return real(flow)[:-1]

    monkeypatch.setitem(peers.RUNNERS, "lightmatchingengine", drops_the_last_trade)
    assert main(["bench", "peers", "--orders", "3000"]) == 1
    out = capsys.readouterr().out
    assert "lightmatchingengine" in out and "NO" in out and "matching-engine" in out


def test_the_report_is_consistent(tmp_path, capsys):
    out = tmp_path / "peers.json"
    assert main(["bench", "peers", "--orders", "3000", "--json", str(out)]) == 0
    import json

    result = json.loads(out.read_text())
    model = result["engines"]["fpgax model"]
    assert result["identical"] and model["ratio_to_model"] == 1.0
    for r in result["engines"].values():
        assert r["trades"] == result["fills"] and r["identical"]
        assert r["ratio_to_model"] == pytest.approx(r["commands_per_s"] / model["commands_per_s"], abs=0.001)


def test_a_peer_interpreter_without_matching_engine_is_a_clear_error():
    with pytest.raises(FpgaxError, match="matching-engine on .* failed.*pip install matching-engine"):
        peers.peers(200, peer_python=sys.executable, repeat=1)
