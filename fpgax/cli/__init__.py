"""The ``fpgax`` command: one module per command group, thin handlers over the library.

* ``flows``: gen, replay, compare, lobster, recover.
* ``bench``: bench model|rtl|latency|throughput|host|peers|diff, perf-report.
* ``hardware``: build verilog|xo|xclbin|estimate, devices, load, docs.
* ``md``: md capture|decode|listen|serve|lua.
* ``serve``: the order-entry gateway.

Exit codes: 0 done; 1 a check failed (a divergence, docs out of date, lint findings) or no usable
card (``DeviceError``); 2 an error in
the input or the environment (``FpgaxError``, printed as ``fpgax: error: ...``); 70 a bug in fpgax
(the traceback, and a request to report it); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
import traceback

from fpgax import progress
from fpgax.errors import FpgaxError

BUG = 70          #: EX_SOFTWARE: an internal error
INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    from fpgax.cli import bench, flows, hardware, md, serve

    parser = argparse.ArgumentParser(prog="fpgax", description="fpgax: an FPGA exchange matching engine")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (flows, bench, hardware, md, serve):
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    shown = progress.enabled()
    progress.enable(True)
    try:
        return args.func(args) or 0
    except FpgaxError as e:
        print(f"fpgax: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:   # one line (after a progress line being redrawn on a terminal)
        print(("\n" if sys.stderr.isatty() else "") + "fpgax: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:     # `fpgax ... | head`
        sys.stderr.close()
        return 0
    except Exception:   # noqa: BLE001 -- anything else is a bug: show it, ask for a report
        traceback.print_exc()
        print(f"fpgax: internal error in `fpgax {' '.join(sys.argv[1:] if argv is None else argv)}`: this is a bug "
              "in fpgax; please report it with the command line and the traceback above", file=sys.stderr)
        return BUG
    finally:
        progress.enable(shown)


__all__ = ["build_parser", "main"]
