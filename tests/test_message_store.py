"""The gateway's message stores: CRC-checked frames, a torn tail truncated, damage refused with its offset."""

import asyncio

import pytest

from fpgax.formats.message_store import MESSAGE_HEADER, STORE_HEADER, MessageStore, StoreError

MESSAGES = [b"A" + bytes(range(40)), b"E" + b"x" * 60, b"C" + b"y" * 28]


def written(path):
    store = MessageStore(path)
    for message in MESSAGES:
        store.append(message)
    store.close()
    return path


def test_messages_come_back_in_order_after_a_reopen(tmp_path):
    path = written(tmp_path / "s.soup")
    assert path.stat().st_size == STORE_HEADER.size + sum(MESSAGE_HEADER.size + len(m) for m in MESSAGES)
    again = MessageStore(path)
    assert again.messages == MESSAGES
    again.append(b"S" + b"z" * 10)
    again.close()
    assert MessageStore(path).messages == [*MESSAGES, b"S" + b"z" * 10]


@pytest.mark.parametrize("cut", [1, MESSAGE_HEADER.size + len(MESSAGES[-1]) - 1])
def test_a_torn_last_message_is_truncated_it_was_never_sent(tmp_path, cut):
    path = written(tmp_path / "s.soup")
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size - cut)
    store = MessageStore(path)
    assert store.messages == MESSAGES[:-1]
    assert path.stat().st_size == size - MESSAGE_HEADER.size - len(MESSAGES[-1])


def test_a_damaged_message_is_refused_with_its_offset_and_number(tmp_path):
    path = written(tmp_path / "s.soup")
    data = bytearray(path.read_bytes())
    second = STORE_HEADER.size + MESSAGE_HEADER.size + len(MESSAGES[0])
    data[second + MESSAGE_HEADER.size + 5] ^= 0x01            # one bit of message 2's body
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=rf"byte {second}: message 2 .* fails its CRC32C.* 1 messages before it"):
        MessageStore(path)


@pytest.mark.parametrize("where, expected", [(3, "no FPGXSOUP magic"), (17, "store header .* CRC32C"),
                                             (STORE_HEADER.size + 2, "message 1's header is damaged")])
def test_a_damaged_header_is_refused(tmp_path, where, expected):
    path = written(tmp_path / "s.soup")
    data = bytearray(path.read_bytes())
    data[where] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=expected):
        MessageStore(path)


def test_the_gateway_refuses_to_start_on_a_damaged_store(tmp_path):
    from fpgax.host.exchange import Exchange, ModelBackend
    from fpgax.host.ouch_gateway import OuchGateway, Venue
    from fpgax.spec.config import profile

    config = profile("sim")
    venue = Venue.default(config)
    store = tmp_path / "store"
    store.mkdir()
    damaged = written(store / f"{venue.session}-user1.soup")
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))
    gateway = OuchGateway(Exchange(ModelBackend(config)), venue, store)
    with pytest.raises(StoreError, match="user1.soup: byte .* message 3"):
        asyncio.run(gateway.start())
