"""Engine parameters and the named profiles shared by the golden model and the RTL."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from fpgax.errors import FpgaxError
from fpgax.spec.protocol import ALL_SYMBOLS, EVENT, Side


class ConfigError(FpgaxError, ValueError):
    """An engine profile or configuration that is not valid."""


#: The smallest on-chip window a book side can have: the engine's level feed reads its index eight
#: places a word (``LevelFeed``'s encoder groups), so a window has at least one whole word.
MIN_WINDOW = 8


def window_base(best: int, side: int, window: int) -> int:
    """The deep book's window policy (docs/deep-book.md): the base (the price at place 0) of a book
    side's window of ``window`` places (``window - 1`` levels and the spill place) that puts ``best``
    ``window // 4`` levels in from the window's better edge -- room for orders that improve it."""
    room = window // 4
    return best - room if side == Side.SELL else best - (window - 1) + 1 + room


def window_zero(low: int, high: int, range_low: int, config: EngineConfig, side: int) -> int:
    """The price at place 0 of a book side's window (``config.window`` places) on a band low..high
    whose range starts at ``range_low``, before the side holds orders: the policy's window
    (``window_base``) for a best at the band's better end -- the asks' low end, the bids' high end --,
    kept inside the range."""
    wanted = window_base(low if side == Side.SELL else high, side, config.window)
    return range_low + min(max(wanted - range_low, 0), config.levels - (config.window - 1))


def price_range_low(low: int, high: int, levels: int) -> int:
    """[R-BAND] The low price of the price range (``levels`` ticks) a symbol gets with a band
    low..high set on its empty book: the band centred in the range, which starts at 1 at the
    lowest. The engine keeps the symbol's levels at price - range low."""
    return max(1, low - (levels - (high - low + 1)) // 2)


#: The most (account, symbol) entries a position table on chip holds (``EngineConfig.keeps_positions``).
ON_CHIP_POSITION_ENTRIES = 1 << 16
#: The rows of the cache on chip in front of a position table in HBM (``EngineConfig.position_cache_rows``):
#: direct-mapped, 16K rows of about 180 bits, 12 URAM288 (docs/order-types.md).
POSITION_CACHE_ROWS = 1 << 14
#: Whether a profile whose position table is too large for the chip (the u280's) keeps it in HBM
#: behind the cache (``CachedPositionKeeper``): verified on small tables
#: (``EngineConfig.position_cache``), and the u280 built with it meets the silicon figures in the
#: estimate (docs/estimate-u280.json, docs/order-types.md). False builds such a profile's engine
#: without positions (it rejects position limits and POSITION).
HBM_POSITIONS_IN_SERVICE = True


@dataclass(frozen=True)
class EngineConfig:
    """Sizes of one matching engine.

    * ``symbols``   S: symbols 0..S-1, every one open from reset.
    * ``levels``    L: price levels per book side, a symbol's price range; its band
                    (high - low + 1) may not be wider, and moves inside the range while
                    orders rest.
    * ``pool``      N: order slots, a power of two; order ids are ``generation << log2(N) | slot``.
    * ``accounts``  A: accounts 0..A-1, every one enabled with no limits from reset.
    * ``snapshot_depth``  largest SNAPSHOT depth, in levels per side.
    * ``default_band``    (low, high) band of every symbol from reset, inclusive ticks.
    * ``window``    W: the level places a book side keeps on chip, a power of two, at least
                    ``MIN_WINDOW`` (a window of W - 1 levels and the spill place,
                    docs/deep-book.md), the rest of the range in HBM; None (or ``levels``): the
                    whole range on chip (``PipelinedEngine``'s deep mode when W < L).
    * ``position_cache``  the position table in HBM behind a cache of this many rows, on a deep
                    profile whose table would fit on chip too (benches of the u280's arrangement on
                    small tables); None: in HBM only where it does not fit on chip, with
                    ``POSITION_CACHE_ROWS`` rows.
    """

    symbols: int = 8
    levels: int = 1024
    pool: int = 1024
    accounts: int = 16
    snapshot_depth: int = 16
    default_band: tuple[int, int] = (1, 1000)
    window: int | None = None
    position_cache: int | None = None

    def __post_init__(self):
        if not 1 <= self.symbols < ALL_SYMBOLS:
            raise ConfigError(f"symbols must be in 1..{ALL_SYMBOLS - 1}, got {self.symbols}")
        if self.pool < 2 or self.pool & (self.pool - 1):
            raise ConfigError(f"pool must be a power of two >= 2, got {self.pool}")
        if self.slot_bits >= EVENT["order_id"].bits:
            raise ConfigError(f"pool {self.pool} leaves no generation bits in a 32-bit order id")
        for name in ("levels", "accounts", "snapshot_depth"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1")
        lo, hi = self.default_band
        if not (1 <= lo <= hi and hi - lo + 1 <= self.levels):
            raise ConfigError(f"default band {self.default_band} must be 1 <= low <= high "
                             f"and at most {self.levels} levels wide")
        if self.window is not None and not (MIN_WINDOW <= self.window <= self.levels
                                            and self.window & (self.window - 1) == 0):
            raise ConfigError(f"window {self.window}: a power of two, at least {MIN_WINDOW} and at most the "
                              f"{self.levels} levels")
        if self.position_cache is not None:
            rows = self.position_cache
            if not (2 <= rows < self.position_entries and rows & (rows - 1) == 0):
                raise ConfigError(f"position_cache {rows}: a power of two, at least 2 and below the "
                                  f"{self.position_entries} position entries")
            if not self.deep:
                raise ConfigError("position_cache: a position table in HBM needs a deep book (a window below "
                                  "the levels), whose HBM master it shares")

    @property
    def deep(self) -> bool:
        """The range is wider than the places on chip: levels beyond a side's window are in HBM."""
        return self.window is not None and self.window < self.levels

    @property
    def places(self) -> int:
        """The level places a book side has on chip: ``window``, or the whole range."""
        return self.window if self.deep else self.levels

    @property
    def position_entries(self) -> int:
        """Entries of the position table [R-POSITION]: one per (account, symbol), each count rounded
        up to a power of two (the entry's number is the symbol's bits below the account's)."""
        return (1 << max(1, (self.symbols - 1).bit_length())) * (1 << max(1, (self.accounts - 1).bit_length()))

    @property
    def positions_in_hbm(self) -> bool:
        """The engine keeps positions with its table in HBM, behind a cache on chip
        (docs/order-types.md): ``position_cache`` says so, on a deep book's engine, whose HBM master
        it shares -- or the table is too large for the chip (more than ``ON_CHIP_POSITION_ENTRIES``:
        the u280's 8M entries) and ``HBM_POSITIONS_IN_SERVICE``."""
        if self.position_cache is not None:
            return True
        return HBM_POSITIONS_IN_SERVICE and self.deep and self.position_entries > ON_CHIP_POSITION_ENTRIES

    @property
    def position_cache_rows(self) -> int | None:
        """The rows of the cache in front of a position table in HBM; None where it is on chip."""
        if not self.positions_in_hbm:
            return None
        return self.position_cache or POSITION_CACHE_ROWS

    @property
    def keeps_positions(self) -> bool:
        """The engine keeps positions (position limits, POSITION) on this profile: its table fits on
        chip, or it is in HBM (``positions_in_hbm``). Otherwise it rejects them."""
        return self.position_entries <= ON_CHIP_POSITION_ENTRIES or self.positions_in_hbm

    @property
    def slot_bits(self) -> int:
        return self.pool.bit_length() - 1

    @property
    def generation_bits(self) -> int:
        return EVENT["order_id"].bits - self.slot_bits

    @property
    def max_events_per_command(self) -> int:
        """No command emits more events than this in a book without icebergs: an order meets each
        resting order at most once (a FILL or an STP cancel), plus its acknowledgement and its
        final CANCELED; HALT and MASS_CANCEL cancel each resting order once; SNAPSHOT emits at most
        two sides of levels. An iceberg is met again after each slice an aggressor empties
        (``max_events_with_icebergs``)."""
        return max(self.pool + 2, 1 + 2 * self.snapshot_depth)

    def max_events_with_icebergs(self, qty: int) -> int:
        """The bound for an order of ``qty`` in a book that may hold icebergs [R-ICEBERG]: each time
        its fill empties an iceberg's slice, a REPLENISHED and a FILL more -- at most once per unit
        of its quantity."""
        return self.max_events_per_command + 2 * qty

    def with_(self, **changes) -> EngineConfig:
        return replace(self, **changes)

    def as_dict(self) -> dict:
        """The fields (without ``position_cache`` when it is None, its default: the dict of every
        configuration that does not set it -- the manifests', the estimates' and the build keys' --
        is as it was before the field)."""
        fields = asdict(self)
        if fields["position_cache"] is None:
            del fields["position_cache"]
        return fields


#: The deep book's scale (the deep-book issue, docs/deep-book.md): symbols and price levels a book
#: side that the u280 profile holds, each side's window on chip and every level row in HBM. The HBM
#: tables' unit (``fpgax build estimate --unit depth-store``) is sized by them.
DEEP_BOOK_SYMBOLS, DEEP_BOOK_LEVELS = 5_000, 100_000
#: The deep book's on-chip places a book side (a power of two): a window of one level fewer from the
#: best outward and the spill place (``WindowMover``), the rest in HBM. 128: the most whose level rows
#: fit on chip for 5,000 symbols (8,192 symbol numbers x 2 sides x 128 places = 2.1M level rows, 256
#: URAM288 banks: the bank multiplexer's limit, and the u280 profile's level rows today; 256 would
#: need 512); the GOOG day's share of commands touching HBM with it is in docs/deep-book.md
#: (``fpgax bench window``). The u280 profile's window; the window mover's unit (``--unit
#: window-move``) is sized by it.
DEEP_BOOK_WINDOW = 128

#: Named profiles. ``sim`` is small enough for simulation and covers the default band
#: 1..1000 and the AAPL LOBSTER sample (a 1000-tick band); ``deep`` is ``sim`` over 4,096 ticks a
#: side, a real stock's whole day (the GOOG 2012-06-21 LOBSTER day spans 2,580); ``u280`` is
#: sized for the Alveo U280: the deep book's scale, 5,000 symbols x 100,000 levels a side, each
#: side's best 127 levels on chip (its window of 128 places) and every level in HBM, 256K orders.
PROFILES: dict[str, EngineConfig] = {
    "sim": EngineConfig(symbols=8, levels=1024, pool=1024, accounts=16, snapshot_depth=16),
    "deep": EngineConfig(symbols=8, levels=4096, pool=1024, accounts=16, snapshot_depth=16),
    "tiny": EngineConfig(symbols=2, levels=64, pool=16, accounts=4, snapshot_depth=4,
                         default_band=(1, 64)),
    "u280": EngineConfig(symbols=DEEP_BOOK_SYMBOLS, levels=DEEP_BOOK_LEVELS, pool=1 << 18, accounts=1024,
                         snapshot_depth=32, window=DEEP_BOOK_WINDOW),
}


def with_settings(config: EngineConfig, settings: list[str]) -> EngineConfig:
    """``config`` with ``KEY=VALUE`` settings of its fields (integers; ``default_band=LO,HI``), for
    what-if estimates at other sizes. A key that is no field, a value that is no integer, or sizes
    that do not make an engine are a ``ConfigError`` that says which."""
    fields = EngineConfig.__dataclass_fields__
    changes = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        key = key.strip()
        if not sep or key not in fields:
            raise ConfigError(f"--set {setting!r}: KEY=VALUE with KEY one of {', '.join(fields)}")
        try:
            if key == "default_band":
                low, high = (int(part) for part in value.replace("..", ",").split(","))
                changes[key] = (low, high)
            else:
                changes[key] = int(value.replace("_", ""))
        except ValueError:
            raise ConfigError(f"--set {setting!r}: {'LO,HI' if key == 'default_band' else 'an integer'}") from None
    return config.with_(**changes)


def profile(name: str) -> EngineConfig:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}") from None


#: The profile every command uses when none is given and no .bin flow names one.
DEFAULT_PROFILE = "sim"


def name_of(config: EngineConfig) -> str:
    """The name of the profile with exactly these sizes, or "" for a custom configuration."""
    return next((name for name, c in PROFILES.items() if c == config), "")
