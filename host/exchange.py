"""``Exchange``: the user-facing host API, the same over three backends.

    ex = fpgax.host.open("sim")              # or "model", or "alveo" (a U280 with the bitstream)
    events = ex.submit(commands)             # Command objects, a COMMAND_DTYPE array, or a flow file
    ex.book(symbol=0, depth=5)               # the top of the book (a SNAPSHOT)
    ex.stats()                               # counters: commands, events, fills, rejects, ...

Backends (``Backend.run(commands array) -> events array``, one engine each, state kept between calls):
* ``model``: the golden model (``fpgax.sim.model``), in process.
* ``sim``: the XRT kernel simulated (``SimDevice``) through ``KernelDriver``, the real driver.
* ``alveo``: a card through pynq (``PynqDevice``) through the same ``KernelDriver``.

Above the backend, the host keeps (account, client id) -> order id from the engine's events:
* a NEW or REPLACE whose client id the account already used (sent and not rejected) is rejected
  here, before it reaches the engine: a REJECTED event with reason ``DUPLICATE_CLIENT_ID`` and
  flag ``HOST`` (seq 0); client ids 0 are not checked;
* a CANCEL or REPLACE may name its target by client id (``Command.ref``); a target whose
  acknowledgement has not arrived yet (it is earlier in the same submission) is held: the host
  sends what precedes it, learns the order id from the events, then goes on. A client id never
  acknowledged resolves to order id 0, which the engine rejects (``UNKNOWN_ORDER``).
* with a journal, every batch is appended and flushed before it is sent (``fpgax recover``).
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

import numpy as np

from fpgax import protocol as p
from fpgax.config import EngineConfig, profile
from fpgax.flows import OrderIdMap, load_flow

from .journal import Journal

E, O = p.EventType, p.Opcode


class Backend:
    name = "backend"
    config: EngineConfig

    def run(self, commands: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def stats(self) -> dict[str, int]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class ModelBackend(Backend):
    """The golden model as a backend; its counters are counted here, as the kernel counts them."""

    name = "model"

    def __init__(self, config: EngineConfig):
        from fpgax.sim.model import MatchingModel

        self.config = config
        self.model = MatchingModel(config)
        self.counts = Counter()

    def run(self, commands: np.ndarray) -> np.ndarray:
        events = []
        for cmd in p.array_to_commands(commands):
            events += self.model.apply(cmd)
        self.counts["commands"] += len(commands)
        self.counts["events"] += len(events)
        self.counts["fills"] += sum(e.type == E.FILL for e in events)
        self.counts["rejects"] += sum(e.type == E.REJECTED for e in events)
        return p.events_to_array(events)

    def stats(self) -> dict[str, int]:
        return {k: self.counts[k] for k in ("commands", "events", "fills", "rejects")}


class KernelBackend(Backend):
    """The XRT kernel behind a ``Device`` (simulated or a card), through ``KernelDriver``."""

    def __init__(self, device, config: EngineConfig | None = None, **driver_options):
        from .driver import KernelDriver

        self.device = device
        self.name = device.name
        self.driver = KernelDriver(device, config, **driver_options)
        self.config = self.driver.config

    def run(self, commands: np.ndarray) -> np.ndarray:
        return self.driver.run(commands)

    def stats(self) -> dict[str, int]:
        return {**self.driver.counters(), "calls": self.driver.calls}

    def close(self) -> None:
        self.device.close()


def host_reject(cmd: p.Command, reason: p.Reason) -> p.Event:
    return p.Event(type=E.REJECTED, reason=reason, flags=p.EventFlag.HOST, symbol=cmd.symbol,
                   client_id=cmd.client_id, account=cmd.account, price=cmd.price, qty=cmd.qty)


class Exchange:
    def __init__(self, backend: Backend, journal: str | Path | None = None):
        self.backend = backend
        self.config = backend.config
        self.ids = OrderIdMap()
        self.taken: set[tuple[int, int]] = set()   # (account, client id) sent and not rejected
        self.journal = Journal(journal, self.config.pool) if journal else None
        self.host_rejects = 0

    # -- commands in ----------------------------------------------------------------------------
    @staticmethod
    def _as_commands(commands) -> list[p.Command]:
        if isinstance(commands, (str, Path)):
            return load_flow(commands).commands
        if isinstance(commands, np.ndarray):
            return p.array_to_commands(commands)
        if isinstance(commands, p.Command):
            return [commands]
        return list(commands)

    def submit(self, commands) -> list[p.Event]:
        """Send commands in order; return every event, in order (host rejects in their place)."""
        events: list[p.Event] = []
        batch: list[p.Command] = []
        pending: set[tuple[int, int]] = set()       # client ids in `batch` not acknowledged yet
        for cmd in self._as_commands(commands):
            if cmd.ref >= 0 and cmd.opcode in (O.CANCEL, O.REPLACE) and (cmd.account, cmd.ref) in pending:
                events += self._send(batch)         # hold it until its target's acknowledgement
                batch, pending = [], set()
            if cmd.opcode in (O.NEW, O.REPLACE) and cmd.client_id:
                key = (cmd.account, cmd.client_id)
                if key in self.taken:
                    events += self._send(batch)
                    batch, pending = [], set()
                    events.append(host_reject(cmd, p.Reason.DUPLICATE_CLIENT_ID))
                    self.host_rejects += 1
                    continue
                self.taken.add(key)
                pending.add(key)
            if cmd.ref >= 0:
                cmd = self.ids.resolve(copy.copy(cmd))
            batch.append(cmd)
        events += self._send(batch)
        return events

    def _send(self, batch: list[p.Command]) -> list[p.Event]:
        if not batch:
            return []
        array = p.commands_to_array(batch)
        if self.journal:
            self.journal.append(array)
        events = p.array_to_events(self.backend.run(array))
        self.ids.observe(events)
        for e in events:
            if e.type == E.REJECTED and e.client_id:
                self.taken.discard((e.account, e.client_id))
        return events

    # -- queries --------------------------------------------------------------------------------
    def book(self, symbol: int, depth: int = 5) -> dict:
        """Top ``depth`` levels per side: {"bids": [(price, qty, orders)], "asks": [...]} (best first)."""
        events = self.submit([p.Command(opcode=O.SNAPSHOT, symbol=symbol, qty=depth)])
        if events[0].type == E.REJECTED:
            raise ValueError(f"SNAPSHOT of symbol {symbol} rejected: {p.Reason(events[0].reason).name}")
        levels = [e for e in events if e.type == E.LEVEL]
        return {"bids": [(e.price, e.qty, e.leaves) for e in levels if e.side == p.Side.BUY],
                "asks": [(e.price, e.qty, e.leaves) for e in levels if e.side == p.Side.SELL]}

    def stats(self) -> dict[str, int]:
        return {"backend": self.backend.name, **self.backend.stats(), "host_rejects": self.host_rejects}

    @classmethod
    def recover(cls, journal_path, backend: Backend, chunk: int = 65536, progress=None) -> tuple[Exchange, list]:
        """Rebuild an engine from a journal on ``backend``: replay every journaled command from reset
        (the same events the lost engine gave, the same book). Returns the Exchange, which goes on
        appending to the journal, and the replayed events."""
        from .journal import read_journal

        commands, pool = read_journal(journal_path)
        if pool != backend.config.pool:
            raise ValueError(f"{journal_path}: journal of an engine with pool {pool}, the backend has "
                             f"{backend.config.pool}")
        events: list[p.Event] = []
        for start in range(0, len(commands), chunk):
            events += p.array_to_events(backend.run(commands[start:start + chunk]))
            if progress:
                progress(min(start + chunk, len(commands)))
        ex = cls(backend, journal_path)
        ex.ids.observe(events)
        # sent and not rejected = acknowledged by ACCEPTED or REPLACED
        ex.taken = {(e.account, e.client_id) for e in events
                    if e.type in (E.ACCEPTED, E.REPLACED) and e.order_id and e.client_id}
        return ex, events

    def close(self) -> None:
        if self.journal:
            self.journal.close()
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_backend(backend: str, config: EngineConfig, **options) -> Backend:
    if backend == "model":
        return ModelBackend(config)
    if backend == "sim":
        from .sim_device import SimDevice

        driver_options = {k: options.pop(k) for k in ("cmd_capacity", "evt_capacity") if k in options}
        return KernelBackend(SimDevice(config, **options), config, **driver_options)
    if backend == "alveo":
        from .pynq_device import PynqDevice

        driver_options = {k: options.pop(k) for k in ("cmd_capacity", "evt_capacity") if k in options}
        return KernelBackend(PynqDevice(**options), config, **driver_options)
    raise ValueError(f"unknown backend {backend!r}; choose from model, sim, alveo")


def open(backend: str = "model", config: EngineConfig | str = "sim", journal=None, **options) -> Exchange:  # noqa: A001
    """An ``Exchange`` on a backend: ``model``, ``sim`` (options: data_width, simulator, evt_capacity,
    ...) or ``alveo`` (options: xclbin, device index)."""
    if isinstance(config, str):
        config = profile(config)
    return Exchange(open_backend(backend, config, **options), journal)
