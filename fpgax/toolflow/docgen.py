"""Generated sections of docs/: tables derived from the wire-format definition.

A generated section sits between ``<!-- BEGIN GENERATED: key -->`` and
``<!-- END GENERATED: key -->``; ``fpgax docs`` rewrites it, ``fpgax docs --check`` (and a test)
fails when the file differs from what the definition gives.
"""

from __future__ import annotations

import enum
import inspect
import re
from pathlib import Path

from fpgax.spec import protocol
from fpgax.spec.config import PROFILES
from fpgax.spec.protocol import COMMAND, EVENT, FILE_HEADER, RecordFormat

MARKER = re.compile(r"(<!-- BEGIN GENERATED: (?P<key>[\w-]+) -->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=key) -->)",
                    re.S)


def _member_docs(cls: type[enum.Enum]) -> dict[str, str]:
    """The ``#:`` comment after each member in the source, as Sphinx's autodoc reads them."""
    docs = {}
    for line in inspect.getsource(cls).splitlines():
        m = re.match(r"\s+(\w+)\s*=\s*[^#]+#:\s*(.*)", line)
        if m:
            docs[m.group(1)] = m.group(2).strip()
    return docs


def record_table(fmt: RecordFormat) -> str:
    rows = ["| offset | bytes | field | type | meaning |", "|---:|---:|---|---|---|"]
    for f in sorted(fmt.fields, key=lambda f: (f.offset, bool(f.overlays))):
        kind = f.enum.__name__ if f.enum else f"u{f.bits}"
        note = f" (overlays {', '.join(f.overlays)})" if f.overlays else ""
        rows.append(f"| {f.offset} | {f.size} | `{f.name}` | {kind} | {f.doc}{note} |")
    return "\n".join(rows) + f"\n\n{fmt.size} bytes, little-endian. {fmt.doc}\n"


def enum_table(cls: type[enum.Enum]) -> str:
    docs = _member_docs(cls)
    value_fmt = "0x{:02X}" if issubclass(cls, enum.IntFlag) else "{}"
    rows = [f"**{cls.__name__}**" + (f" — {inspect.getdoc(cls).splitlines()[0]}" if cls.__doc__ else ""),
            "", "| value | name | meaning |", "|---:|---|---|"]
    for m in cls:
        rows.append(f"| {value_fmt.format(m.value)} | `{m.name}` | {docs.get(m.name, '')} |")
    return "\n".join(rows) + "\n"


def profile_table() -> str:
    rows = ["| profile | symbols S | levels L | on chip a side | pool N | accounts A | snapshot depth | default band |",
            "|---|---:|---:|---|---:|---:|---:|---|"]
    for name, c in PROFILES.items():
        on_chip = f"{c.places:,} places, the rest in HBM" if c.deep else "every level"
        rows.append(f"| `{name}` | {c.symbols:,} | {c.levels:,} | {on_chip} | {c.pool:,} | {c.accounts:,} | "
                    f"{c.snapshot_depth} | {c.default_band[0]}..{c.default_band[1]} |")
    return "\n".join(rows) + "\n"


def register_table() -> str:
    from fpgax.spec import regmap as rm

    rows = ["| offset | name | bits | access | kind | meaning |", "|---:|---|---:|---|---|---|"]
    for r in rm.REGISTERS:
        rows.append(f"| 0x{r.offset:03X} | `{r.name}` | {r.bits} | {r.access.value} | {r.kind.value} | {r.doc} |")
    return "\n".join(rows) + "\n"


def _memory_of(bank: str) -> str:
    """The memory a bank belongs to: ``engine.rows.rows.bank7`` -> ``engine.rows.rows``."""
    return re.sub(r"\.bank\d+$", "", bank)


def memory_groups(memories: list[dict]) -> list[tuple[str, list[dict]]]:
    """The estimate's memories grouped by the memory their banks belong to, largest first."""
    groups: dict[str, list[dict]] = {}
    for mem in memories:
        groups.setdefault(_memory_of(mem["memory"]), []).append(mem)
    return sorted(groups.items(), key=lambda kv: (-sum(m["bits"] for m in kv[1]), kv[0]))


def bank_names(names: list[str]) -> list[str]:
    """Memory names as Markdown, each memory of several banks once: ```name` (n banks)``."""
    counts: dict[str, int] = {}
    for name in names:
        counts[_memory_of(name)] = counts.get(_memory_of(name), 0) + 1
    return [f"`{name}`" if n == 1 else f"`{name}` ({n} banks)" for name, n in counts.items()]


def estimate_section(root: Path) -> str:
    """The u280 estimate (docs/estimate-u280.json, written by `make estimate`) as tables."""
    import json

    path = Path(root) / "docs" / "estimate-u280.json"
    if not path.exists():
        return "Not measured yet: run `make estimate`.\n"
    report = json.loads(path.read_text())
    cfg = report["parameters"]
    window = cfg.get("window")
    on_chip = (f" ({window} places a side on chip, every level in HBM)"
               if window is not None and window < cfg["levels"] else "")
    rows = [f"Profile `{report['profile']}`: {cfg['symbols']:,} symbols x {cfg['levels']:,} levels per side{on_chip} x "
            f"{cfg['pool']:,} orders, {report['data_width']}-bit AXI; {report['tool']}, {report['seconds']} s.",
            "", "| resource | used | available | % |", "|---|---:|---:|---:|"]
    for name, r in report["resources"].items():
        rows.append(f"| {name} | {r['used']:,} | {r['available']:,} | {r['percent']:.2f} |")
    depth = report["lut_depth"]
    rows += ["", f"Deepest LUT path: **{depth['max']} levels**, from {depth['from']} to {depth['to']}."]
    timing = report.get("timing")
    if timing:
        rows += ["", f"Modelled worst period: **{timing['period_ns']:.2f} ns, Fmax {timing['fmax_mhz']} MHz** at -2 "
                     f"(target {timing['target_period_ns']} ns, {timing['target_mhz']:g} MHz: "
                     f"{'met' if timing['met'] else '**not met**'}). RAM cells with unregistered outputs: "
                     f"{timing['unregistered_ram_cells']} (read ports given their output register: "
                     f"{timing.get('absorbed_output_registers', 0)}); most LUT levels after one: "
                     f"{timing['luts_after_unregistered_ram']}; combinational DSPs: {timing['combinational_dsps']}.",
                 "", "The 10 worst paths (one per end signal):", "",
                 "| ns | LUTs | from | to | Amaranth sources along it |", "|---:|---:|---|---|---|"]
        for path in timing["paths"]:
            sources = []
            for src in path["sources"]:
                src = (src or "").removeprefix("feeds ")
                if src and src not in sources:
                    sources.append(src)
            rows.append(f"| {path['ns']:.2f} | {path['luts']} | {path['from']} | {path['to']} | "
                        f"{', '.join(sources) or '-'} |")
        over = timing.get("over_limit")
        if over and over["endpoints"]:
            rows += ["", f"Endpoints whose worst path is over {over['limit_ns']} ns (the silicon issue's limit): "
                         f"**{over['endpoints']:,} of {over['of']:,}**. Where those paths start, worst first:", "",
                     "| start | worst ns | LUTs | endpoints |", "|---|---:|---:|---:|"]
            rows += [f"| {part['start']} | {part['ns']:.2f} | {part['luts']} | {part['endpoints']:,} |"
                     for part in over["by_start"]]
        elif over:
            rows += ["", f"Endpoints whose worst path is over {over['limit_ns']} ns (the silicon issue's limit): "
                         f"**none of {over['of']:,}**."]
    tiles = report.get("vivado_tiling")
    tiled = {m["memory"]: m for m in (tiles or {}).get("per_memory", [])}
    rows += ["", "A memory of several banks (`PipelinedRam`: `name.bank0`, `name.bank1`, ...) is one row, its "
                 "figures the banks' sums.", "",
             "| memory | banks x depth x width | ram_style | Mbit | % of on-chip RAM | Vivado tiles | Yosys |",
             "|---|---|---|---:|---:|---|---|"]
    for name, banks in memory_groups(report["memories"]):
        mem = banks[0]
        parts = [tiled[b["memory"]] for b in banks if b["memory"] in tiled]
        vivado = (f"{sum(t['blocks'] for t in parts):g} {parts[0]['primitive']}"
                  if parts and len({t["primitive"] for t in parts}) == 1 else "-")
        yosys_sum = {}
        for t in parts:
            for kind, v in t.get("yosys", {}).items():
                yosys_sum[kind] = yosys_sum.get(kind, 0) + v
        yosys = " + ".join(f"{v:g} {k}" for k, v in yosys_sum.items() if v) or "-"
        shape = f"{mem['depth']:,} x {mem['width']}"
        if len(banks) > 1:
            shape = f"{len(banks)} x {shape}"
        rows.append(f"| `{name}` | {shape} | {mem['style']} | {sum(b['bits'] for b in banks) / 2**20:.2f} | "
                    f"{sum(b['percent_of_onchip_ram'] for b in banks):.2f} | {vivado} | {yosys} |")
    if tiles:
        rows += ["", f"Vivado-style tiling in total: **{tiles['URAM288']['used']:,} URAM288 "
                     f"({tiles['URAM288']['percent']:.1f}%)**, {tiles['RAMB36']['used']:,g} RAMB36 "
                     f"({tiles['RAMB36']['percent']:.1f}%), **{tiles['bits_percent']:.1f}% of BRAM+URAM bits**."]
    plan = report.get("slr_plan")
    if plan:
        rows += ["", f"SLR plan: {'fits' if plan['fits'] else '**does not fit**'}.", "",
                 "| SLR | URAM288 | RAMB36 | LUT | memories |", "|---|---:|---:|---:|---|"]
        for slr in plan["slrs"]:
            rows.append(f"| SLR{slr['slr']} | {slr['URAM288']:g} / {slr['budget']['URAM288']} | "
                        f"{slr['RAMB36']:g} / {slr['budget']['RAMB36']} | {slr['LUT']:,} / {slr['budget']['LUT']:,} | "
                        f"{', '.join(bank_names(slr['memories'])) or '-'} |")
        from fpgax.toolflow.estimate import _split_text

        if plan["split"]:
            rows += ["", "Memories that do not fit one SLR: "
                     + "; ".join(f"`{part['memory']}` {_split_text(part)}" for part in plan["split"]) + "."]
    hbm = report.get("hbm")
    if hbm:
        from fpgax.toolflow.estimate import HBM_GIB

        bw = hbm.get("bandwidth")
        needed = (f"**{bw['gb_per_s']:g} GB/s** = {bw['bytes_per_command']:g} bytes a command (`fpgax bench window` "
                  f"on `{bw['flow']}` at {bw['window']} places, docs/perf/window-goog.json) x "
                  f"{bw['commands_per_s']:,} commands/s ({bw['rate_source']}): {bw['percent_of_master']:g}% of the "
                  "master's peak" if bw else f"no figure ({hbm['bandwidth_missing']})")
        rows += ["", f"HBM: the depth's tables take **{hbm['gb']:g} GB** ({hbm['bytes']:,} bytes) of {hbm['banks']} "
                     f"({hbm['percent_of_banks']:g}% of its {hbm['banks_bytes'] / 2**30:g} GiB, "
                     f"{hbm['percent_of_hbm']:g}% of the card's {HBM_GIB:g} GiB); the master's peak is "
                     f"{hbm['master_gb_per_s']:g} GB/s each way ({hbm['master_source']}).",
                 "", f"HBM bandwidth needed: {needed}."]
    return "\n".join(rows) + "\n"


def timing_figures() -> str:
    """The delay figures of the timing walk, with their sources (fpgax.toolflow.timing.FIGURES)."""
    from fpgax.toolflow.timing import FIGURES

    rows = ["| figure | ns | source | |", "|---|---:|---|---|"]
    for name, f in FIGURES.items():
        rows.append(f"| `{name}` | {f.ns:.2f} | {f.source} | {'assumption' if f.assumption else 'published'} |")
    return "\n".join(rows) + "\n"


def sections(root: Path = Path(".")) -> dict[str, str]:
    from fpgax.spec import regmap as rm

    out = {
        "command": record_table(COMMAND),
        "event": record_table(EVENT),
        "file-header": record_table(FILE_HEADER),
        "profiles": profile_table(),
        "constants": (f"- `PROTOCOL_VERSION` = {protocol.PROTOCOL_VERSION}\n"
                      f"- `ALL_SYMBOLS` = 0x{protocol.ALL_SYMBOLS:04X}\n"),
    }
    for cls in (protocol.Opcode, protocol.Side, protocol.OrdType, protocol.TimeInForce,
                protocol.CommandFlag, protocol.EventType, protocol.EventFlag, protocol.Reason):
        out["enum-" + cls.__name__] = enum_table(cls)
    out["registers"] = register_table()
    for cls in (rm.Ctrl, rm.Irq, rm.Status):
        out["enum-" + cls.__name__] = enum_table(cls)
    out["kernel-xml"] = "```xml\n" + _kernel_xml() + "```\n"
    out["estimate-u280"] = estimate_section(root)
    out["timing-figures"] = timing_figures()
    out["itch-messages"] = itch_table()
    from fpgax.formats import journal

    out["journal-header"] = record_table(journal.JOURNAL_HEADER)
    out["journal-batch"] = record_table(journal.BATCH_HEADER)
    from fpgax.formats import message_store

    out["store-header"] = record_table(message_store.STORE_HEADER)
    out["store-message"] = record_table(message_store.MESSAGE_HEADER)
    from fpgax.spec import ouch

    out["soup-packets"] = message_tables(ouch.SOUP.values(), free=ouch.FREE_PAYLOAD) + \
        "\nEvery packet is preceded by its length (2 bytes, big-endian, counting the type byte and the payload).\n"
    out["ouch-inbound"] = message_tables(ouch.INBOUND.values())
    out["ouch-outbound"] = message_tables(ouch.OUTBOUND.values())
    out["fix-messages"], out["fix-tags"] = fix_tables()
    out["reject-mapping"] = reject_mapping()
    return out


def fix_tables() -> tuple[str, str]:
    """The FIX 4.4 messages the gateway takes and sends, and every tag it uses (from fpgax.spec.fix)."""
    from fpgax.spec import fix

    messages = ["| MsgType | message | way | engine | tags |", "|---|---|---|---|---|"]
    for m in fix.MESSAGES.values():
        tags = ", ".join(f"{fix.TAGS[t].name} ({fix.TAGS[t].number})" for t in m.tags)
        messages.append(f"| `{m.msg_type}` | {m.name} | {m.direction} | {m.maps_to} | {tags} |")
    tags = ["| tag | name | use |", "|---:|---|---|"]
    for t in sorted(fix.TAGS.values(), key=lambda t: t.number):
        tags.append(f"| {t.number} | {t.name} | {t.meaning} |")
    values = [
        "", "Values: Side " + ", ".join(f"`{k}` {v.name}" for k, v in fix.SIDES.items()) +
        "; OrdType " + ", ".join(f"`{k}` {v.name}" for k, v in fix.ORD_TYPES.items()) +
        "; TimeInForce " + ", ".join(f"`{k}` {v.name}" for k, v in fix.TIME_IN_FORCE.items()) +
        f"; ExecInst `{fix.POST_ONLY_EXEC_INST}` POST_ONLY; ExecType " +
        ", ".join(f"`{v}` {k}" for k, v in fix.EXEC_TYPE.items()) + "; OrdStatus " +
        ", ".join(f"`{v}` {k}" for k, v in fix.ORD_STATUS.items()) + ".",
    ]
    return "\n".join(messages) + "\n", "\n".join(tags + values) + "\n"


def reject_mapping() -> str:
    """The engine's reject reasons as OUCH Rejected codes and FIX OrdRejReason (fpgax.spec.ouch, .fix)."""
    from fpgax.spec import fix, ouch

    rows = ["| engine reason | OUCH reject reason | FIX OrdRejReason (Text: the reason's name) |", "|---|---|---|"]
    for reason in protocol.Reason:
        if not 0 < reason < protocol.Reason.USER:
            continue
        code = ouch.REJECT_CODES.get(reason, ouch.OTHER_REJECT)
        rows.append(f"| {reason.name} | {code} ({ouch.REJECT_CODE_NAMES[code]}) | "
                    f"{fix.ORD_REJ_REASON.get(reason, fix.OTHER)} |")
    rows += ["", "The gateways' own rejects, before the engine: OUCH " + ", ".join(
        f"{why} '{code}'" for why, code in ouch.GATEWAY_REJECTS.items()) +
             "; FIX " + ", ".join(f"{why} {code} ({text})" for why, (code, text) in fix.GATEWAY_REJECTS.items()) + "."]
    return "\n".join(rows) + "\n"


def itch_table() -> str:
    """The ITCH 5.0 messages fpgax publishes, field by field (from fpgax.spec.itch)."""
    from fpgax.spec import itch

    return message_tables(itch.MESSAGES.values(), "sent for", "fpgax value")


def message_tables(messages, lead: str = "", last: str = "meaning", free: set | None = None) -> str:
    """A table per fixed-layout message (ITCH, OUCH, SoupBinTCP): offset, size, field, type, text."""
    kinds = {"u": "integer", "a": "alpha", "p": "price (4 decimals)", "t": "timestamp (ns)",
             "n": "numeric ASCII, right-justified"}
    rows = []
    for m in messages:
        size = "variable" if free and m.type in free else f"{m.size} bytes"
        rows += [f"**`{m.type}` {m.name}** ({size}) — {lead + ': ' if lead else ''}{m.doc}.", "",
                 f"| offset | bytes | field | type | {last} |", "|---:|---:|---|---|---|",
                 "| 0 | 1 | `type` | alpha | `" + m.type + "` |"]
        for f, at in zip(m.fields, m.offsets().values(), strict=True):
            rows.append(f"| {at} | {f.size} | `{f.name}` | {kinds[f.kind]} | {f.doc} |")
        rows.append("")
    return "\n".join(rows)


def _kernel_xml() -> str:
    from fpgax.toolflow.kernelxml import kernel_xml

    return kernel_xml()


def render(text: str, generated: dict[str, str], path: str = "<doc>") -> str:
    def repl(m: re.Match) -> str:
        key = m.group("key")
        if key not in generated:
            raise ValueError(f"{path}: unknown generated section {key!r}")
        return m.group(1) + generated[key] + m.group(4)

    return MARKER.sub(repl, text)


def update_docs(root: Path, check: bool = False) -> list[Path]:
    """Rewrite (or, with ``check``, compare) every generated section under ``root/docs``."""
    generated = sections(root)
    stale = []
    for path in sorted((Path(root) / "docs").glob("*.md")):
        text = path.read_text()
        new = render(text, generated, str(path))
        if new != text:
            stale.append(path)
            if not check:
                path.write_text(new)
    return stale
