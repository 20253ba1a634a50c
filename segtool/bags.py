"""rosbag2 bags without a ROS install (the rosbags library): MCAP or sqlite3 in, MCAP out.

A bag is a rosbag2 folder (``metadata.yaml`` beside its storage files), a folder of storage files whose recorder
died before writing ``metadata.yaml``, or one ``.mcap``/``.db3`` file. Messages stay serialized (CDR bytes).
An MCAP file without its index (a recorder that was killed, a copy cut short) is read record by record up to
the damage (the mcap library's stream reader); any damage ends the messages with :class:`BagError`, after
every message before it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from mcap.reader import NonSeekingReader
from rosbags.rosbag2 import Reader, Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode, StoragePlugin
from rosbags.typesys import Stores, get_typestore

STORAGE_SUFFIXES = ('.mcap', '.db3')
#: rosbag2 metadata version written: Jazzy's (Jazzy and newer read it).
WRITE_VERSION = 8
_TYPESTORE = get_typestore(Stores.LATEST)


class BagError(RuntimeError):
    """A bag that cannot be read, at all or past some point; the text names the file and the fault."""


@dataclass(frozen=True)
class BagMessage:
    """One serialized message: its topic, type (``pkg/msg/Name``), log time (ns) and CDR bytes."""

    topic: str
    msgtype: str
    log_time: int
    data: bytes


def is_bag(path: Path) -> bool:
    """Whether ``path`` is a bag: a storage file, or a folder with ``metadata.yaml`` or storage files."""
    path = Path(path)
    if path.is_dir():
        return (path / 'metadata.yaml').is_file() or bool(_storage_files(path))
    return path.suffix in STORAGE_SUFFIXES


def _storage_files(folder: Path) -> list[Path]:
    """List the storage files of a bag folder in recording order (``name_0``, ``name_1``, ..., ``name_10``)."""
    def order(path: Path) -> tuple[int, str]:
        number = re.search(r'(\d+)$', path.stem)
        return (int(number.group(1)) if number else -1, path.name)
    return sorted((p for p in folder.iterdir() if p.suffix in STORAGE_SUFFIXES), key=order)


class BagReader:
    """The messages of a bag in log-time order, or in file order where the index is damaged."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        #: topic -> (type, message count), known before reading; empty where the bag must be read to find out.
        self.topics: dict[str, tuple[str, int]] = {}
        #: Why the bag's index could not be used (it is then read record by record), else None.
        self.damage: str | None = None
        self._streamed: list[Path] = []
        try:
            with Reader(self.path) as reader:
                for connection in reader.connections:
                    _, count = self.topics.get(connection.topic, ('', 0))
                    self.topics[connection.topic] = (connection.msgtype, count + connection.msgcount)
        except Exception as err:  # rosbags raises several types (ReaderError, KeyError, OSError, ...)
            self._streamed = self._recoverable_files()
            if not self._streamed:
                raise BagError(f'cannot read bag {self.path}: {type(err).__name__}: {err}') from None
            self.damage = f'{type(err).__name__}: {err}'

    def _recoverable_files(self) -> list[Path]:
        files = _storage_files(self.path) if self.path.is_dir() else [self.path]
        return [f for f in files if f.suffix == '.mcap']

    def messages(self, wanted: Callable[[str, str], bool]) -> Iterator[BagMessage]:
        """Yield the messages for which ``wanted(topic, msgtype)`` holds; BagError after the last readable one."""
        if self._streamed:
            for file in self._streamed:
                yield from _stream(file, wanted)
            return
        read = 0
        try:
            with Reader(self.path) as reader:
                connections = [c for c in reader.connections if wanted(c.topic, c.msgtype)]
                iterator = reader.messages(connections=connections) if connections else iter(())
                for connection, log_time, data in iterator:
                    read += 1
                    yield BagMessage(connection.topic, connection.msgtype, log_time, bytes(data))
        except Exception as err:  # a damaged storage file: any of the reader's and decompressors' errors
            raise BagError(f'bag {self.path} is damaged after {read} readable messages: '
                           f'{type(err).__name__}: {err}') from None


def _stream(file: Path, wanted: Callable[[str, str], bool]) -> Iterator[BagMessage]:
    """Yield an MCAP file's messages record by record; BagError where the file ends early or is damaged."""
    read = 0
    try:
        with file.open('rb') as stream:
            for schema, channel, message in NonSeekingReader(stream).iter_messages(log_time_order=False):
                msgtype = schema.name if schema else ''
                if wanted(channel.topic, msgtype):
                    read += 1
                    yield BagMessage(channel.topic, msgtype, message.log_time, message.data)
    except Exception as err:  # the mcap library raises EndOfFile, McapError, struct and decompression errors
        detail = 'the file ends in the middle of a record' if not str(err) else f'{type(err).__name__}: {err}'
        raise BagError(f'{file} is truncated or damaged after {read} readable messages ({detail})') from None


def canonical_cdr(data: bytes, msgtype: str) -> bytes:
    """Return CDR bytes of ``msgtype`` re-serialized with zero padding.

    rclpy's serializer leaves the alignment padding between fields uninitialised, so one message could be written
    as different bytes from run to run; rosbags writes zeros there.
    """
    return bytes(_TYPESTORE.serialize_cdr(_TYPESTORE.deserialize_cdr(data, msgtype), msgtype))


class McapBagWriter:
    """A new rosbag2 bag (one MCAP file, zstd-compressed chunks); a topic's connection is made when it first comes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._writer = Writer(self.path, version=WRITE_VERSION, storage_plugin=StoragePlugin.MCAP)
        self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self._writer.open()
        self._connections: dict[str, object] = {}
        self.counts: dict[str, int] = {}

    def write(self, topic: str, msgtype: str, log_time: int, data: bytes) -> None:
        """Append one serialized message of ``msgtype`` (a type rosbags knows) to ``topic``."""
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._connections[topic] = self._writer.add_connection(topic, msgtype, typestore=_TYPESTORE)
        self._writer.write(connection, log_time, data)
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def close(self) -> None:
        """Write the index and ``metadata.yaml``: the bag is complete and valid."""
        self._writer.close()
