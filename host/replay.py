"""A flow on any backend, from reset, with a summary and the final book: what ``fpgax replay`` and
``fpgax recover`` print, as library functions.

* ``model``: the golden model in process (``fpgax.sim.golden.run.run_model``); a CSV flow's
  client-id references are resolved from its own events.
* ``rtl``: the bare engine, Verilated (``fpgax.sim.drivers.rtl``): resolved commands in, one batch;
  the final book comes from SNAPSHOT commands appended after the flow.
* ``sim``/``alveo``: the XRT kernel through the host API (``Exchange.submit_all``), simulated or on a card.

Events are returned as an ``EVENT_DTYPE`` array on every backend.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from fpgax.errors import FpgaxError
from fpgax.formats.flows import ClientIds, Flow
from fpgax.formats.summary import book_from_levels, summarize
from fpgax.progress import Progress
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig

BACKENDS = ("model", "rtl", "sim", "alveo")
HOST_BACKENDS = ("sim", "alveo")


@dataclass
class Replay:
    summary: dict                  #: ``fpgax.formats.summary.summarize`` plus backend details
    events: np.ndarray             #: every event of the flow, in order
    book: dict = field(default_factory=dict)   #: symbol -> L2 book (with ``book_depth``)
    positions: dict = field(default_factory=dict)   #: "account:symbol" -> position (with ``positions``)


def replay(flow: Flow, config: EngineConfig, backend: str = "model", *, book_depth: int | None = None,
           check: bool = False, journal=None, chunk: int = 1024, positions=(), **backend_options) -> Replay:
    """Run ``flow`` from reset on ``backend``; ``book_depth`` adds the final L2 book of every symbol
    that has one, ``positions`` ((account, symbol) pairs) the final positions [R-POSITION], each by a
    POSITION command after the flow (the model's state on the model). ``check`` (model only) checks the
    invariants after every command. ``journal`` (sim, alveo) journals every batch sent. Host options
    (simulator, data_width, xclbin, device) go to the backend."""
    if backend not in BACKENDS:
        raise FpgaxError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if journal is not None and backend not in HOST_BACKENDS:
        raise FpgaxError(f"--journal needs a host backend (sim, alveo): the {backend} backend sends no command "
                         f"through the host, so there is nothing to journal")
    if check and backend != "model":
        raise FpgaxError("--check checks the golden model's invariants: use it with --backend model")
    for account, symbol in positions:
        if account >= config.accounts or symbol >= config.symbols:
            raise FpgaxError(f"--position {account}:{symbol}: the engine has accounts 0..{config.accounts - 1} "
                             f"and symbols 0..{config.symbols - 1}")
    if backend == "model":
        result = _replay_model(flow, config, book_depth, check, positions)
    elif backend == "rtl":
        result = _replay_rtl(flow, config, book_depth, positions)
    else:
        result = _replay_host(flow, config, backend, book_depth, journal, chunk, backend_options, positions)
    return result


def _replay_model(flow, config, book_depth, check, positions) -> Replay:
    from fpgax.host.exchange import position_of
    from fpgax.sim.golden.run import run_model

    model, _, events, seconds = run_model(flow, config, check=check)
    summary = summarize(len(flow), events, seconds)
    book = {}
    if book_depth is not None:
        book = {s: model.l2(s, book_depth) for s in range(config.symbols) if not model.books[s].is_empty()}
    held = {}
    for account, symbol in positions:   # (as the engine reports them: a POSITION command on a copy's state)
        report = model.apply(p.Command(opcode=p.Opcode.POSITION, account=account, symbol=symbol))
        held[f"{account}:{symbol}"] = position_of(report[1])
    return Replay(summary, p.events_to_array(events), book, held)


def _replay_rtl(flow, config, book_depth, positions) -> Replay:
    from fpgax.sim.drivers import rtl
    from fpgax.sim.golden.run import resolved

    if flow.has_refs or ClientIds.has_reuse(flow.array):   # what a host sends: reused client ids rejected first
        commands = p.commands_to_array(resolved(flow, config))
    else:
        commands = flow.array
    host_rejects = len(flow) - len(commands)
    after = []
    if book_depth is not None:
        after.append(p.encode(p.COMMAND, n=config.symbols, opcode=p.Opcode.SNAPSHOT,
                              symbol=np.arange(config.symbols), qty=book_depth))
    if positions:
        after.append(p.encode(p.COMMAND, n=len(positions), opcode=p.Opcode.POSITION,
                              account=[a for a, _ in positions], symbol=[s for _, s in positions]))
    commands_run = p.concatenate([commands, *after], p.COMMAND_DTYPE) if after else commands
    t0 = time.perf_counter()
    result = rtl.run(commands_run, config)
    seconds = time.perf_counter() - t0
    events, book, held = result.array, {}, {}
    if after:   # the snapshots' and positions' events are not part of the flow's
        first = first_event_of_command(events, len(commands))
        extra = p.array_to_events(events[first:])
        if book_depth is not None:
            book = book_from_levels(extra)
        held = _positions_from(extra, positions)
        events = events[:first]
    summary = summarize(len(commands), events, seconds)
    summary.update(cycles=result.cycles, cycles_per_command=result.cycles / max(len(commands), 1),
                   host_rejects=host_rejects, harness_seconds=round(result.harness_seconds, 6))
    return Replay(summary, events, book, held)


def _positions_from(events, positions) -> dict:
    """The POSITION commands' answers among ``events``, in the order asked; a rejected one is an error
    (the engine has no POSITION command: the RTL before the order types)."""
    from fpgax.host.exchange import position_of

    answers = [e for e in events if e.type == p.EventType.POSITION]
    rejected = [e for e in events if e.type == p.EventType.REJECTED]
    if positions and len(answers) != len(positions):
        reason = p.Reason(rejected[-1].reason).name if rejected else "no answer"
        raise FpgaxError(f"the engine did not answer POSITION ({reason}): this engine does not report positions")
    return {f"{a}:{s}": position_of(e) for (a, s), e in zip(positions, answers, strict=True)}


def _replay_host(flow, config, backend, book_depth, journal, chunk, options, positions) -> Replay:
    from fpgax.host.exchange import Exchange, open_backend

    with Exchange(open_backend(backend, config, **options), journal) as ex, \
            Progress(backend, len(flow)) as bar:
        t0 = time.perf_counter()   # after the backend is up: a simulator's build and start are not the flow's
        events = ex.submit_all(flow, chunk=chunk, progress=bar.update)
        seconds = time.perf_counter() - t0
        summary = summarize(len(flow), events, seconds)
        book = {}
        if (book_depth is not None or positions) and ex.journal:
            ex.journal.close()
            ex.journal = None   # the snapshots and positions taken for the report are not part of the day
        if book_depth is not None:
            book = ex.books(book_depth)
        held = {f"{a}:{s}": ex.position(a, s) for a, s in positions}
        summary["stats"] = ex.stats()
    return Replay(summary, events, book, held)


def first_event_of_command(events: np.ndarray, n: int) -> int:
    """Index of the first event of command ``n`` (0-based), counting acknowledgements [R-ACK]."""
    acks = np.flatnonzero(p.is_ack(events["type"], events["reason"]))
    return int(acks[n]) if n < len(acks) else len(events)


def recover(journal_path, config: EngineConfig, backend: str = "model", *, book_depth: int = 5, repair: bool = False,
            **backend_options) -> Replay:
    """Rebuild the engine from a host journal on ``backend`` (model or sim): the same events, the same
    book, for every command of the journal's whole batches. ``summary["journal"]`` says what the
    journal held and where it stops being trustworthy (``problem``): a torn tail, truncated when
    ``repair``, or corruption, whose good prefix is what was replayed. The books shown are not journaled."""
    from fpgax.formats.journal import read_journal, repair_journal
    from fpgax.host.exchange import Exchange, open_backend, replay_commands

    contents = read_journal(journal_path)
    repaired = None
    if contents.problem is not None and contents.problem.kind == "torn" and repair:
        repaired = repair_journal(journal_path)
        contents = read_journal(journal_path)
    if contents.pool != config.pool:
        raise FpgaxError(f"{journal_path}: journal of an engine with pool {contents.pool}, this profile has "
                         f"{config.pool} (give the profile it was written with: --profile "
                         f"{contents.profile or 'NAME'})")
    t0 = time.perf_counter()
    with Exchange(open_backend(backend, config, **backend_options)) as ex:
        with Progress("recover", len(contents.commands)) as bar:
            events = replay_commands(ex.backend, contents.commands, progress=bar.update)
        summary = summarize(len(contents.commands), events, time.perf_counter() - t0)
        book = ex.books(min(book_depth, config.snapshot_depth))
    summary["journal"] = {"session": contents.session, "profile": contents.profile, "batches": contents.batches,
                          "commands": len(contents.commands), "good_bytes": contents.good_bytes,
                          "problem": None if contents.problem is None else vars(contents.problem),
                          "repaired": None if repaired is None else vars(repaired)}
    return Replay(summary, events, book)
