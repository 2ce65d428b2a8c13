"""Bad input to the tools gets a clear error before anything runs, never a traceback or a silent
default: the host API, md capture's settings, lobster's output, the build's paths."""

import pytest

from fpgax.cli import main
from fpgax.errors import FpgaxError
from fpgax.host.exchange import Exchange, ModelBackend
from fpgax.spec.config import profile

CSV = "action,account,client_id,symbol,side,type,tif,price,qty,ref\nNEW,1,1,0,B,LIMIT,DAY,10,5,\n"


@pytest.mark.parametrize("bad", [[1, 2], ["NEW"], object()])
def test_submit_takes_commands_or_says_what_it_got(bad):
    with pytest.raises(FpgaxError, match="submit takes Command objects"):
        Exchange(ModelBackend(profile("tiny"))).submit(bad)


@pytest.mark.parametrize("options,message", [
    (["--port", "70000"], "70000 is not a UDP/TCP port"),
    (["--names", "WAYTOOLONGNAME,B"], "symbol name 'WAYTOOLONGNAME'"),
    (["--names", "A"], "--names: 1 given, the tiny profile has 2 symbols"),
    (["--ticks", "0,100"], "a tick size is at least 1"),
    (["--ticks", "x,100"], "--ticks 'x,100': expected comma-separated int values"),
    (["--session", "ELEVENCHARSX"], "session 'ELEVENCHARSX'"),
    (["--group", "10.0.0.1"], "10.0.0.1 is not an IPv4 multicast group"),
    (["--stall", "1.5"], "1.5 is not a fraction"),
])
def test_md_capture_checks_its_settings_before_the_simulation(tmp_path, capsys, options, message):
    flow = tmp_path / "f.csv"
    flow.write_text(CSV)
    try:
        code = main(["md", "capture", str(flow), "-o", str(tmp_path / "x.pcap"), "--profile", "tiny", *options])
    except SystemExit as e:       # argparse's own checks
        code = e.code
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "x.pcap").exists()


def test_lobster_refuses_a_binary_output_it_could_not_write_right(tmp_path, capsys):
    from pathlib import Path

    data = Path(__file__).parent / "data" / "lobster"
    assert main(["lobster", str(data / "AAPL_2012-06-21_34200000_57600000_message_10.csv"),
                 str(data / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"), "-o", str(tmp_path / "x.bin")]) == 2
    assert "only a .csv flow keeps" in capsys.readouterr().err and not (tmp_path / "x.bin").exists()


def test_the_link_step_is_handed_absolute_paths(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["build", "xclbin", "--profile", "tiny", "--build-dir", "rel", "--bitstreams", "bits"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "rel" / "tiny") in err and str(tmp_path / "bits") in err   # v++ runs elsewhere
