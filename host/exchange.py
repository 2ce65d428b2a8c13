"""``Exchange``: the user-facing host API, the same over three backends.

    ex = fpgax.host.open("sim")              # or "model", or "alveo" (a U280 with the bitstream)
    events = ex.submit(commands)             # Command objects, a COMMAND_DTYPE array, or a flow file
    ex.book(symbol=0, depth=5)               # the top of the book (a SNAPSHOT)
    ex.stats()                               # counters: commands, events, fills, rejects, ...

Backends (``Backend.run(commands array) -> events array``, one engine each, state kept between calls):
* ``model``: the golden model (``fpgax.sim.golden.model``), in process.
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

from fpgax.errors import FpgaxError
from fpgax.formats.flows import ClientIds, Flow, OrderIdMap, load_flow
from fpgax.formats.journal import Journal, JournalError, read_journal, repair_journal
from fpgax.formats.summary import book_from_levels
from fpgax.spec import protocol as p
from fpgax.spec.config import EngineConfig, name_of, profile

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
        from fpgax.sim.golden.model import MatchingModel

        self.config = config
        self.model = MatchingModel(config)
        self.counts = Counter()

    def run(self, commands: np.ndarray) -> np.ndarray:
        events = []
        for cmd in p.array_to_commands(commands):
            events += self.model.apply(cmd)
        out = p.events_to_array(events)
        self.counts["commands"] += len(commands)
        self.counts["events"] += len(out)
        self.counts["fills"] += int(np.count_nonzero(out["type"] == E.FILL))
        self.counts["rejects"] += int(np.count_nonzero(out["type"] == E.REJECTED))
        return out

    def stats(self) -> dict[str, int]:
        return {k: self.counts[k] for k in ("commands", "events", "fills", "rejects")}


class KernelBackend(Backend):
    """The XRT kernel behind a ``Device`` (simulated or a card), through ``KernelDriver``."""

    def __init__(self, device, config: EngineConfig | None = None, **driver_options):
        from fpgax.host.driver import KernelDriver

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


_NO_EVENTS = np.zeros(0, p.EVENT_DTYPE)


class Exchange:
    """The host API: commands in, every event out, in order, on any backend.

    ``submit`` returns the events as an ``EVENT_DTYPE`` array (``records=True``: ``Event`` objects).
    Commands given as an array (a ``.bin`` flow, a ``COMMAND_DTYPE`` array) are checked and sent as
    arrays, with the host's bookkeeping done column-wise; ``Command`` objects that name their target
    by client id (``ref``, a CSV flow) are resolved one by one, as they must wait for acknowledgements.
    """

    def __init__(self, backend: Backend, journal: str | Path | None = None):
        self.backend = backend
        self.config = backend.config
        self.ids = OrderIdMap()
        self.client_ids = ClientIds()              # [R-CLIENT-ID], the rule the offline tools apply too
        self.journal = Journal(journal, self.config.pool, name_of(self.config)) if journal else None
        self.host_rejects = 0

    # -- commands in ----------------------------------------------------------------------------
    @staticmethod
    def _normalize(commands):
        """An array (no client-id references) or a list of Command objects (some have references)."""
        if isinstance(commands, (str, Path)):
            commands = load_flow(commands)
        if isinstance(commands, Flow):
            return commands.commands if commands.has_refs else commands.array
        if isinstance(commands, np.ndarray):
            if commands.dtype != p.COMMAND_DTYPE:
                raise FpgaxError(f"submit: expected a {p.COMMAND_DTYPE} array, got {commands.dtype}")
            return commands
        if isinstance(commands, p.Command):
            commands = [commands]
        try:
            commands = list(commands)
        except TypeError:
            raise FpgaxError(f"submit takes Command objects, a COMMAND_DTYPE array or a flow file; got "
                             f"a {type(commands).__name__}") from None
        bad = next((c for c in commands if not isinstance(c, p.Command)), None)
        if bad is not None:
            raise FpgaxError(f"submit takes Command objects, a COMMAND_DTYPE array or a flow file; got "
                             f"a {type(bad).__name__}: {bad!r:.60}")
        if any(c.ref >= 0 for c in commands):
            return commands
        try:
            return p.commands_to_array(commands)
        except ValueError as e:
            raise FpgaxError(f"submit: {e}") from None

    def submit(self, commands, records: bool = False):
        """Send commands in order; return every event, in order (host rejects in their place)."""
        events = self._submit(self._normalize(commands))
        return p.array_to_events(events) if records else events

    def submit_all(self, commands, chunk: int = 4096, progress=None, records: bool = False):
        """``submit`` in chunks of ``chunk`` commands, calling ``progress(commands done)`` after each."""
        commands = self._normalize(commands)
        out = []
        for start in range(0, len(commands), chunk):
            out.append(self._submit(commands[start:start + chunk]))
            if progress:
                progress(min(start + chunk, len(commands)))
        events = p.concatenate(out, p.EVENT_DTYPE)
        return p.array_to_events(events) if records else events

    def _submit(self, commands) -> np.ndarray:
        """Normalized commands: an array goes column-wise, Command objects with references one by one."""
        if isinstance(commands, np.ndarray):
            return self._submit_array(commands)
        return self._submit_with_refs(commands)

    def _submit_array(self, commands: np.ndarray) -> np.ndarray:
        """The column-wise path: client-id reuse is checked on the NEW/REPLACE rows only, by sets."""
        claims = np.flatnonzero(np.isin(commands["opcode"], (O.NEW, O.REPLACE)) & (commands["client_id"] != 0))
        keys = list(zip(commands["account"][claims].tolist(), commands["client_id"][claims].tolist(), strict=True))
        taken = self.client_ids.taken
        if taken.isdisjoint(keys) and len(set(keys)) == len(keys):
            taken.update(keys)
            return self._send(commands)
        # some client id is used twice: go command by command. A reuse of an id claimed earlier in the part
        # not yet sent waits for that part's answer (the engine may reject the first use, freeing the id).
        out, start, pending = [], 0, set()
        for row, key in zip(claims.tolist(), keys, strict=True):
            if key in pending:
                out.append(self._send(commands[start:row]))
                start, pending = row, set()
            if key in taken:
                out.append(self._send(commands[start:row]))
                out.append(p.events_to_array([ClientIds.reject(p.array_to_commands(commands[row:row + 1])[0])]))
                self.host_rejects += 1
                start, pending = row + 1, set()
            else:
                taken.add(key)
                pending.add(key)
        out.append(self._send(commands[start:]))
        return p.concatenate(out, p.EVENT_DTYPE)

    def _submit_with_refs(self, commands: list[p.Command]) -> np.ndarray:
        """Commands that may name their target by client id: a target not acknowledged yet (earlier in
        this submission) holds the command until what precedes it has been sent and answered."""
        out: list[np.ndarray] = []
        batch: list[p.Command] = []
        pending: set[tuple[int, int]] = set()       # client ids in `batch` not acknowledged yet
        for cmd in commands:
            held = cmd.ref >= 0 and cmd.opcode in (O.CANCEL, O.REPLACE) and (cmd.account, cmd.ref) in pending
            reused = cmd.opcode in (O.NEW, O.REPLACE) and (cmd.account, cmd.client_id) in pending
            if held or reused:      # wait for the acknowledgement of the target, or of the first use
                out.append(self._send_objects(batch))
                batch, pending = [], set()
            if not self.client_ids.claim(cmd):
                out.append(self._send_objects(batch))
                batch, pending = [], set()
                out.append(p.events_to_array([self.client_ids.reject(cmd)]))
                self.host_rejects += 1
                continue
            if cmd.opcode in (O.NEW, O.REPLACE) and cmd.client_id:
                pending.add((cmd.account, cmd.client_id))
            if cmd.ref >= 0:
                cmd = self.ids.resolve(copy.copy(cmd))
            batch.append(cmd)
        out.append(self._send_objects(batch))
        return p.concatenate(out, p.EVENT_DTYPE)

    def _send_objects(self, batch: list[p.Command]) -> np.ndarray:
        try:
            return self._send(p.commands_to_array(batch))
        except ValueError as e:
            raise FpgaxError(f"submit: {e}") from None

    def _send(self, array: np.ndarray) -> np.ndarray:
        if not len(array):
            return _NO_EVENTS
        if self.journal:
            self.journal.append(array)
        events = self.backend.run(array)
        self.ids.observe_array(events)
        rejected = (events["type"] == E.REJECTED) & (events["client_id"] != 0)
        if rejected.any():
            self.client_ids.taken.difference_update(zip(events["account"][rejected].tolist(),
                                             events["client_id"][rejected].tolist(), strict=True))
        return events

    # -- queries --------------------------------------------------------------------------------
    def book(self, symbol: int, depth: int = 5) -> dict:
        """Top ``depth`` levels per side: {"bids": [[price, qty, orders]], "asks": [...]} (best first)."""
        events = self.submit([p.Command(opcode=O.SNAPSHOT, symbol=symbol, qty=depth)], records=True)
        if events[0].type == E.REJECTED:
            raise FpgaxError(f"SNAPSHOT of symbol {symbol} rejected: {p.Reason(events[0].reason).name}")
        return book_from_levels(events).get(symbol, {"bids": [], "asks": []})

    def position(self, account: int, symbol: int) -> dict:
        """An account's position in a symbol [R-POSITION], by a POSITION command: ``{"position": net
        (long > 0, short < 0), "open_buys": ..., "open_sells": ..., "max_position": limit or None}``
        (each saturated at 2^32-1, as the event carries it)."""
        events = self.submit([p.Command(opcode=O.POSITION, account=account, symbol=symbol)], records=True)
        if events[0].type == E.REJECTED:
            raise FpgaxError(f"POSITION of account {account} in symbol {symbol} rejected: "
                             f"{p.Reason(events[0].reason).name}")
        return position_of(events[1])

    def books(self, depth: int = 5) -> dict[int, dict]:
        """The book of every symbol that has one (see ``book``)."""
        out = {}
        for symbol in range(self.config.symbols):
            book = self.book(symbol, depth)
            if book["bids"] or book["asks"]:
                out[symbol] = book
        return out

    def stats(self) -> dict[str, int]:
        return {"backend": self.backend.name, **self.backend.stats(), "host_rejects": self.host_rejects}

    @classmethod
    def recover(cls, journal_path, backend: Backend, chunk: int = 65536, progress=None,
                repair: bool = False) -> tuple[Exchange, np.ndarray]:
        """Rebuild an engine from a journal on ``backend`` (``recover_split`` without the split)."""
        ex, events, _ = cls.recover_split(journal_path, backend, None, chunk, progress, repair)
        return ex, events

    @classmethod
    def recover_split(cls, journal_path, backend: Backend, at: int | None, chunk: int = 65536, progress=None,
                      repair: bool = False) -> tuple[Exchange, np.ndarray, np.ndarray]:
        """Rebuild an engine from a journal on ``backend``: replay every journaled command from reset
        (the same events the lost engine gave, the same book). Returns the Exchange, which goes on
        appending to the journal in the same session, the replayed events (an array), and those of the
        commands from number ``at`` on (0-based; none when ``at`` is None): the order-entry gateway's
        in-flight message at a crash.

        A torn tail (a crash while appending) is truncated with ``repair``, else refused; a corrupt
        journal is refused (JournalError says where): its session cannot be continued."""
        contents = read_journal(journal_path)
        if contents.problem is not None:
            if contents.problem.kind == "torn" and repair:
                repair_journal(journal_path)
                contents = read_journal(journal_path)
            else:
                hint = " (repair=True truncates it)" if contents.problem.kind == "torn" else ""
                raise JournalError(f"{journal_path}: {contents.problem}{hint}")
        if contents.pool != backend.config.pool:
            raise FpgaxError(f"{journal_path}: journal of an engine with pool {contents.pool}, the backend has "
                             f"{backend.config.pool}")
        at = len(contents.commands) if at is None else min(at, len(contents.commands))
        head = replay_commands(backend, contents.commands[:at], chunk, progress)
        tail = replay_commands(backend, contents.commands[at:], chunk)
        events = p.concatenate([head, tail], p.EVENT_DTYPE)
        ex = cls(backend)
        ex.journal = Journal(journal_path, backend.config.pool, session=contents.session)
        ex.ids.observe_array(events)
        # sent and not rejected = acknowledged by ACCEPTED or REPLACED
        acked = np.isin(events["type"], (E.ACCEPTED, E.REPLACED)) & (events["order_id"] != 0) & \
            (events["client_id"] != 0)
        ex.client_ids.taken = set(zip(events["account"][acked].tolist(), events["client_id"][acked].tolist(),
                                      strict=True))
        return ex, events, tail

    def close(self) -> None:
        if self.journal:
            self.journal.close()
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def replay_commands(backend: Backend, commands: np.ndarray, chunk: int = 65536, progress=None) -> np.ndarray:
    """Commands (an array) through a backend in chunks; every event."""
    out = []
    for start in range(0, len(commands), chunk):
        out.append(backend.run(commands[start:start + chunk]))
        if progress:
            progress(min(start + chunk, len(commands)))
    return p.concatenate(out, p.EVENT_DTYPE)


def open_backend(backend: str, config: EngineConfig, **options) -> Backend:
    if backend == "model":
        return ModelBackend(config)
    if backend == "sim":
        from fpgax.host.sim_device import SimDevice

        driver_options = {k: options.pop(k) for k in ("cmd_capacity", "evt_capacity") if k in options}
        return KernelBackend(SimDevice(config, **options), config, **driver_options)
    if backend == "alveo":
        from fpgax.host.pynq_device import PynqDevice

        driver_options = {k: options.pop(k) for k in ("cmd_capacity", "evt_capacity") if k in options}
        return KernelBackend(PynqDevice(**options), config, **driver_options)
    raise FpgaxError(f"unknown backend {backend!r}; choose from model, sim, alveo")


def open(backend: str = "model", config: EngineConfig | str = "sim", journal=None, **options) -> Exchange:  # noqa: A001
    """An ``Exchange`` on a backend: ``model``, ``sim`` (options: data_width, simulator, evt_capacity,
    ...) or ``alveo`` (options: xclbin, device index)."""
    if isinstance(config, str):
        config = profile(config)
    return Exchange(open_backend(backend, config, **options), journal)


def position_of(event) -> dict:
    """A POSITION event as ``Exchange.position`` returns it."""
    if event.type != E.POSITION:
        raise FpgaxError(f"expected a POSITION event, got {p.EventType(event.type).name}")
    return {"position": event.qty if event.side == p.Side.BUY else -event.qty, "open_buys": event.open_buys,
            "open_sells": event.open_sells,
            "max_position": None if event.max_position == p.NO_POSITION_LIMIT else event.max_position}
