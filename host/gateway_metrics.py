"""Prometheus metrics of ``fpgax serve`` (``--metrics HOST:PORT``), with ``prometheus_client``.

Every gateway has its own registry:

* ``fpgax_inbound_messages_total{type}`` -- OUCH messages received, by type;
* ``fpgax_outbound_messages_total{type}`` -- OUCH messages sent (sequenced), by type;
* ``fpgax_rejects_total{reason}`` -- Rejected messages, by OUCH reject reason code;
* ``fpgax_sessions_connected`` -- logged-in SoupBinTCP sessions;
* ``fpgax_gateway_seconds`` -- a histogram of the gateway's handling of one inbound message, from
  its arrival to its answers being queued (the server's share of a round trip);
* ``fpgax_engine_seconds`` -- a histogram of the engine call inside it;
* ``fpgax_store_bytes`` -- bytes in the message stores (``fpgax_journal_bytes`` too when journaling);
* ``fpgax_backend{counter}`` -- the backend's counters (``Exchange.stats``: the kernel's on sim/alveo).
"""

from __future__ import annotations

from fpgax.errors import FpgaxError
from fpgax.spec import protocol as p

BUCKETS = (25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3, 1.0)


class GatewayMetrics:
    def __init__(self, gateway):
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError:
            raise FpgaxError("--metrics needs prometheus_client: pip install 'fpgax[serve]'") from None
        self.gateway = gateway
        self.registry = CollectorRegistry()
        r = self.registry
        by_type = "by type: OUCH's letter, or 'fix' and FIX's MsgType"
        self.inbound = Counter("fpgax_inbound_messages", f"messages received, {by_type}", ["type"], registry=r)
        self.outbound = Counter("fpgax_outbound_messages", f"messages sent, {by_type}", ["type"], registry=r)
        self.rejects = Counter("fpgax_rejects", "Rejected orders, by OUCH reject reason, or 'fix' and OrdRejReason",
                               ["reason"], registry=r)
        self.sessions = Gauge("fpgax_sessions_connected", "logged-in SoupBinTCP and FIX sessions", registry=r)
        self.gateway_seconds = Histogram("fpgax_gateway_seconds", "handling of one inbound message",
                                         buckets=BUCKETS, registry=r)
        self.engine_seconds = Histogram("fpgax_engine_seconds", "the engine call for one inbound message",
                                        buckets=BUCKETS, registry=r)
        Gauge("fpgax_store_bytes", "bytes in the message stores (OUCH, and QuickFIX's)",
              registry=r).set_function(self._store_bytes)
        Gauge("fpgax_journal_bytes", "bytes in the engine journal", registry=r).set_function(self._journal_bytes)
        self.backend = Gauge("fpgax_backend", "the backend's counters", ["counter"], registry=r)
        self.commands = Counter("fpgax_engine_commands", "commands sent to the engine, by opcode", ["opcode"],
                                registry=r)
        self.events = Counter("fpgax_engine_events", "events the engine gave, by type", ["type"], registry=r)
        self.server = None

    def _store_bytes(self) -> float:
        stores = [s.store.path for s in self.gateway.streams.values()]
        fix = self.gateway.fronts.get("fix")
        if fix is not None and (fix.dir / "store").exists():        # QuickFIX's file stores
            stores += list((fix.dir / "store").iterdir())
        return float(sum(path.stat().st_size for path in stores if path.exists()))

    def _journal_bytes(self) -> float:
        journal = getattr(self.gateway.exchange, "journal", None)
        return float(journal.path.stat().st_size) if journal is not None and journal.path.exists() else 0.0

    def count_engine(self, commands, events) -> None:
        """One engine call's commands by opcode and events by type."""
        for cmd in commands:
            self.commands.labels(opcode=p.Opcode(cmd.opcode).name).inc()
        for e in events:
            self.events.labels(type=p.EventType(e.type).name).inc()

    def refresh_backend(self) -> None:
        for name, value in self.gateway.exchange.stats().items():
            if isinstance(value, int | float):
                self.backend.labels(counter=name).set(value)

    def serve(self, host: str, port: int) -> tuple[str, int]:
        from prometheus_client import start_http_server

        try:
            self.server, _thread = start_http_server(port, host, registry=self.registry)
        except OSError as e:
            raise FpgaxError(f"--metrics {host}:{port}: {e.strerror}") from None
        return self.server.server_address[:2]

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
