"""``fpgax build | load | devices | docs``: the build flow, the card, the generated documentation."""

from __future__ import annotations

from pathlib import Path

from fpgax.cli import common


def register(sub) -> None:
    p = sub.add_parser("build", help="Verilog, lint, estimate, Vitis packaging and link (docs/build.md)")
    bsub = p.add_subparsers(dest="step", required=True)
    for step, text in (("verilog", "kernel and engine Verilog under build/<profile>/, lint-checked"),
                       ("xo", "kernel.xml + package_xo.tcl; runs Vivado if present"),
                       ("xclbin", "v++ --link for the U280; image and manifest in bitstreams/")):
        s = bsub.add_parser(step, help=text)
        common.add_profile(s)
        s.add_argument("--data-width", type=int, default=512, choices=(64, 128, 256, 512),
                       help="AXI data width of the kernel (default: 512)")
        s.add_argument("--build-dir", type=Path, default=Path("build"), help="build directory (default: build)")
        if step == "verilog":
            s.add_argument("--no-lint", action="store_true", help="skip verilator --lint-only -Wall")
        if step == "xclbin":
            s.add_argument("--bitstreams", type=Path, default=Path("bitstreams"))
        s.set_defaults(func=_cmd_build)
    e = bsub.add_parser("estimate", help="Yosys resource and LUT-depth estimate for the xcu280 (fpgax[estimate])")
    common.add_profile(e, settings="for a what-if estimate; the report names the settings")
    e.add_argument("--data-width", type=int, default=512, choices=(64, 128, 256, 512),
                   help="AXI data width of the kernel (default: 512)")
    common.add_json(e, "the report")
    e.add_argument("--work", type=Path, help="keep Yosys' files (Verilog, stat, netlist, log) here")
    e.add_argument("--unit", metavar="NAME", help="one unit of the pipelined engine at the profile's sizes, between "
                   "registers, instead of the kernel (fpgax.hdl.unit_bench.UNITS: match-loop, matcher, "
                   "price-index, ...; a wrong name lists them)")
    e.set_defaults(func=_cmd_estimate)

    d = sub.add_parser("devices", help="list the Alveo cards XRT sees, or say why there are none")
    d.set_defaults(func=_cmd_devices)

    ld = sub.add_parser("load", help="check a bitstream against its manifest, load it, check its ID registers")
    ld.add_argument("bitstream", type=Path, help="an .xclbin listed in the manifest")
    ld.add_argument("--manifest", type=Path, help="default: manifest.json next to the bitstream")
    ld.add_argument("--device", type=int, default=0, help="index of the card")
    common.add_profile(ld)
    ld.set_defaults(func=_cmd_load)

    doc = sub.add_parser("docs", help="regenerate the generated sections of docs/")
    doc.add_argument("--check", action="store_true", help="exit 1 if docs/ is out of date")
    doc.add_argument("--root", type=Path, default=Path("."), help="repository root")
    doc.set_defaults(func=_cmd_docs)


def _cmd_build(args) -> int:
    from fpgax.toolflow import build

    _, name = common.config_of(args)
    if args.step == "verilog":
        dirs = build.write_verilog(name, args.build_dir, args.data_width, lint=not args.no_lint)
        print(f"wrote {dirs.kernel_v} and {dirs.engine_v}" + ("" if args.no_lint else " (lint clean)"))
    elif args.step == "xo":
        dirs = build.build_xo(name, args.build_dir, args.data_width)
        print(f"wrote {dirs.xo}")
    else:
        image = build.build_xclbin(name, args.build_dir, args.bitstreams, args.data_width)
        print(f"wrote {image} and its entry in {image.with_name('manifest.json')}")
    return 0


def _cmd_estimate(args) -> int:
    from fpgax.toolflow.estimate import estimate, estimate_unit, format_report

    config, name = common.config_of(args)
    if args.unit:
        report = estimate_unit(args.unit, name, args.work, config)
    else:
        report = estimate(name, args.data_width, args.work, config)
    common.emit(report, format_report(report), args)
    return 0


def _cmd_devices(args) -> int:
    from fpgax.host.device import DeviceError
    from fpgax.host.pynq_device import devices

    try:
        names = devices()
    except DeviceError as e:
        common.note(f"fpgax: no card: {e}")
        return 1
    for i, name in enumerate(names):
        print(f"{i}: {name}")
    return 0


def _cmd_load(args) -> int:
    from fpgax.host.driver import KernelDriver
    from fpgax.host.pynq_device import PynqDevice
    from fpgax.toolflow.manifest import check_image

    config, _ = common.config_of(args)
    entry = check_image(args.bitstream, args.manifest or args.bitstream.with_name("manifest.json"), config)
    print(f"{args.bitstream.name}: manifest ok (profile {entry['profile']}, git {entry['git_revision']}, "
          f"built {entry['date']})")
    with PynqDevice(args.bitstream, args.device) as dev:
        ids = KernelDriver(dev, config).ids
    print("loaded; ID registers: " + ", ".join(f"{k}={v}" for k, v in ids.items()))
    return 0


def _cmd_docs(args) -> int:
    from fpgax.toolflow.docgen import update_docs

    stale = update_docs(args.root, check=args.check)
    for path in stale:
        common.note(f"{path}: {'out of date' if args.check else 'updated'}")
    return 1 if args.check and stale else 0
