"""What every command group shares: the same option names and defaults, flow loading with the
profile check, opening a backend, and writing results (text on stdout, JSON with ``--json``).

Option names are the same everywhere: ``--profile`` (default: the profile a ``.bin`` flow was made
for, else ``sim``), ``-o/--output`` for a file a command makes, ``--json OUT`` for a JSON copy of
a result (``-`` for stdout, instead of the text), ``--simulator`` for verilator or icarus.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fpgax.errors import FpgaxError
from fpgax.formats.flows import Flow, load_flow
from fpgax.spec.config import DEFAULT_PROFILE, PROFILES, EngineConfig, profile

SIMULATORS = ("verilator", "icarus")


def profile_name(name: str) -> str:
    """argparse type of ``--profile``: a profile name (a workload name gets a hint)."""
    from fpgax.workload.workloads import WORKLOADS

    if name in PROFILES:
        return name
    hint = f"; {name!r} is a workload: use --workload {name}" if name in WORKLOADS else ""
    raise argparse.ArgumentTypeError(f"unknown engine profile {name!r} (choose from {', '.join(sorted(PROFILES))})"
                                     + hint)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not a fraction in 0..1")
    return value


def cycle_range(text: str) -> tuple[int, int]:
    """argparse type of a LO,HI range of cycle counts (LO <= HI)."""
    low, sep, high = text.partition(",")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit() or int(low) > int(high):
        raise argparse.ArgumentTypeError(f"{text!r}: expected LO,HI, two cycle counts with LO <= HI")
    return int(low), int(high)


def account_symbol(text: str) -> tuple[int, int]:
    """argparse type of ACCOUNT:SYMBOL, two non-negative integers."""
    account, sep, symbol = text.partition(":")
    if not sep or not account.strip().isdigit() or not symbol.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected ACCOUNT:SYMBOL, e.g. 1:0")
    return int(account), int(symbol)


def port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a UDP/TCP port (0..65535)")
    return value


def host_port(text: str) -> tuple[str, int]:
    """argparse type of a HOST:PORT option (port 0: any free port)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT")
    return host, int(port)


def add_profile(p: argparse.ArgumentParser, flow: bool = False, settings: str | None = None) -> None:
    """``--profile``; with ``settings`` (what they are for, in the help) also ``--set KEY=VALUE``, other
    sizes than the profile's (``config_of``/``flow_and_config`` apply them and name them)."""
    more = "the profile a .bin flow was made for, else " if flow else ""
    p.add_argument("--profile", type=profile_name, metavar="{" + ",".join(sorted(PROFILES)) + "}",
                   help=f"engine sizes (default: {more}{DEFAULT_PROFILE}); see fpgax.spec.config.PROFILES")
    if settings:
        p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="settings",
                       help=f"another size than the profile's, {settings} (repeatable; a field of "
                            f"fpgax.spec.config.EngineConfig, e.g. --set window=64 --set default_band=1,128)")


def add_json(p: argparse.ArgumentParser, what: str = "the result") -> None:
    p.add_argument("--json", type=Path, metavar="OUT", help=f"write {what} as JSON to OUT ('-': stdout, no text)")


def add_flow_checks(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-rejects", action="store_true",
                   help="run a flow that names symbols or accounts the profile does not have (they are rejected)")


def add_simulator(p: argparse.ArgumentParser) -> None:
    p.add_argument("--simulator", default="verilator", choices=SIMULATORS,
                   help="the HDL simulator (default: verilator)")


def add_host_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("host backends (sim, alveo)")
    g.add_argument("--journal", type=Path, help="journal every batch sent here (see `fpgax recover`)")
    g.add_argument("--simulator", default="verilator", choices=SIMULATORS, help="sim: the HDL simulator")
    g.add_argument("--data-width", type=int, default=512, choices=(64, 128, 256, 512),
                   help="sim: the kernel's AXI data width in bits (default: 512)")
    g.add_argument("--xclbin", type=Path, help="alveo: the bitstream (see `fpgax load`)")
    g.add_argument("--device", type=int, default=0, help="alveo: index of the card")


def config_of(args) -> tuple[EngineConfig, str]:
    """The profile a command without a flow runs on: ``--profile`` or the default."""
    name = getattr(args, "profile", None) or DEFAULT_PROFILE
    return _with_settings(profile(name), name, args)


def _with_settings(config: EngineConfig, name: str, args) -> tuple[EngineConfig, str]:
    """``--set``'s sizes applied (the name then says so: "deep with window=64")."""
    from fpgax.spec.config import with_settings

    settings = getattr(args, "settings", None)
    if not settings:
        return config, name
    return with_settings(config, settings), f"{name} with {', '.join(s.strip() for s in settings)}"


def flow_and_config(args, path: Path | None = None) -> tuple[Flow, EngineConfig, str]:
    """Load the flow and choose its profile: ``--profile``, else the one a ``.bin`` flow's header names,
    else the default. A flow that does not fit the profile is refused before anything runs."""
    flow = load_flow(path or args.flow)
    base = getattr(args, "profile", None) or flow.profile or DEFAULT_PROFILE
    config, name = _with_settings(profile(base), base, args)
    # (a .bin flow made for the profile runs with other --set sizes while its pool, which its order
    # ids were resolved for, is the same: check_pool)
    flow.check_fits(config, base, allow_rejects=getattr(args, "allow_rejects", False))
    return flow, config, name


def open_exchange(args, config: EngineConfig, journal: Path | None = None):
    """An ``Exchange`` on ``args.backend`` (model, sim or alveo) with the host options given."""
    from fpgax.host import exchange

    if args.backend == "sim":
        backend = exchange.open_backend("sim", config, simulator=args.simulator, data_width=args.data_width)
    elif args.backend == "alveo":
        if args.xclbin is None:
            raise FpgaxError("--backend alveo needs --xclbin FILE")
        backend = exchange.open_backend("alveo", config, xclbin=args.xclbin, device=args.device)
    else:
        backend = exchange.open_backend(args.backend, config)
    return exchange.Exchange(backend, journal)


def check_book_depth(depth: int | None, config: EngineConfig, name: str) -> None:
    if depth is not None and not 1 <= depth <= config.snapshot_depth:
        raise FpgaxError(f"--book-depth {depth} must be in 1..{config.snapshot_depth}, the snapshot depth of "
                         f"profile {name}")


def emit(result: dict, text: str | None, args) -> None:
    """A command's result: ``text`` on stdout, and the JSON of ``result`` to ``--json OUT`` (with
    ``--json -`` the JSON goes to stdout instead of the text)."""
    out = getattr(args, "json", None)
    if out is not None and str(out) == "-":
        print(json.dumps(result, indent=2))
        return
    if text:
        print(text)
    if out is not None:
        write_json(out, result)


def write_json(path: Path, obj) -> None:
    try:
        Path(path).write_text(json.dumps(obj, indent=2) + "\n")
    except OSError as e:
        raise FpgaxError(f"{path}: {e.strerror}") from None


def note(text: str) -> None:
    """A line for the person at the terminal (stderr: stdout stays the command's result)."""
    print(text, file=sys.stderr)
