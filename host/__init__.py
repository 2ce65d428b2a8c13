"""The fpgax host layer: ``open(backend)`` gives an ``Exchange`` on the model, the simulated
kernel or an Alveo card (see ``fpgax.host.exchange``)."""

from fpgax.host.exchange import Backend, Exchange, KernelBackend, ModelBackend, open  # noqa: A004

__all__ = ["Backend", "Exchange", "KernelBackend", "ModelBackend", "open"]
