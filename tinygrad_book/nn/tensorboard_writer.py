"""TensorBoard's event files, written by hand: no TensorFlow, no protobuf library.

An event file (``events.out.tfevents.<time>.<host>``) is a TFRecord file, a sequence of records:

    uint64 length (little-endian) | uint32 masked crc32c of those 8 bytes | data | uint32 masked crc32c of data

and each record's data is one serialized ``Event`` protocol buffer. The messages we write,
with their field numbers (tensorflow/core/util/event.proto, framework/summary.proto, graph.proto):

    Event          { double wall_time = 1; int64 step = 2; string file_version = 3;
                     bytes graph_def = 4; Summary summary = 5; }
    Summary        { repeated Value value = 1; }
    Summary.Value  { string tag = 1; float simple_value = 2; HistogramProto histo = 5; }
    HistogramProto { double min = 1; double max = 2; double num = 3; double sum = 4;
                     double sum_squares = 5; repeated double bucket_limit = 6 [packed];
                     repeated double bucket = 7 [packed]; }
    GraphDef       { repeated NodeDef node = 1; }
    NodeDef        { string name = 1; string op = 2; repeated string input = 3; }

The first record of a file says its format: an Event whose file_version is "brain.Event:2".
"""
from __future__ import annotations

import os
import socket
import struct
import time

import numpy as np

# --- protocol buffers: the wire format -------------------------------------------------------
# A message is a sequence of fields; each field is a key, varint(field_number << 3 | wire_type),
# then its value: wire type 0 a varint, 1 eight little-endian bytes, 2 a varint length + bytes,
# 5 four little-endian bytes. Fields left at their default are simply not written.
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


def varint(value: int) -> bytes:
    """Base-128, least significant group first, high bit = more bytes follow. A negative
    int64 is written as its 64-bit two's complement (ten bytes), as protobuf does."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def key(field: int, wire_type: int) -> bytes:
    return varint(field << 3 | wire_type)


def int_field(field: int, value: int) -> bytes:
    return key(field, VARINT) + varint(value) if value else b""


def double_field(field: int, value: float) -> bytes:
    return key(field, FIXED64) + struct.pack("<d", value) if value else b""


def float_field(field: int, value: float) -> bytes:
    """A float is written even when 0.0: a scalar summary of 0 must still carry its value."""
    return key(field, FIXED32) + struct.pack("<f", value)


def bytes_field(field: int, value) -> bytes:
    """A string (UTF-8), bytes or an embedded message, length-delimited."""
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return key(field, LENGTH_DELIMITED) + varint(len(data)) + data


def packed_doubles(field: int, values) -> bytes:
    """A `repeated double [packed=true]`: one length-delimited run of 8-byte values."""
    values = np.asarray(values, dtype="<f8")
    return bytes_field(field, values.tobytes()) if values.size else b""


# --- the messages ----------------------------------------------------------------------------
def histogram_proto(values, bins: int = 30) -> bytes:
    """HistogramProto of `values`: count, sum, sum of squares, and `bins` equal-width
    buckets. Bucket i counts the values in [bucket_limit[i-1], bucket_limit[i]) (the first
    starts at min, the last ends at max), which is how TensorBoard reads them."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("histogram of an empty array")
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:                       # all equal (a zero-initialized bias): one bucket
        counts, limits = np.array([v.size]), np.array([hi])
    else:
        counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
        limits = edges[1:]
    return (double_field(1, lo) + double_field(2, hi) + double_field(3, float(v.size))
            + double_field(4, float(v.sum())) + double_field(5, float(np.dot(v, v)))
            + packed_doubles(6, limits) + packed_doubles(7, counts.astype(np.float64)))


def scalar_value(tag: str, value: float) -> bytes:
    """One Summary.Value holding a scalar."""
    return bytes_field(1, tag) + float_field(2, float(value))


def histogram_value(tag: str, values) -> bytes:
    return bytes_field(1, tag) + bytes_field(5, histogram_proto(values))


def summary(*values: bytes) -> bytes:
    return b"".join(bytes_field(1, v) for v in values)


def graph_def(nodes) -> bytes:
    """GraphDef of (name, op, [input names]) triples: what TensorBoard's Graphs tab draws."""
    return b"".join(bytes_field(1, bytes_field(1, name) + bytes_field(2, op)
                                + b"".join(bytes_field(3, i) for i in inputs))
                    for name, op, inputs in nodes)


def event(step: int = 0, wall_time: float | None = None, file_version: str | None = None,
          summary_bytes: bytes | None = None, graph_bytes: bytes | None = None) -> bytes:
    """One Event with exactly one of file_version, summary or graph_def."""
    out = double_field(1, time.time() if wall_time is None else wall_time) + int_field(2, step)
    if file_version is not None:
        out += bytes_field(3, file_version)
    if graph_bytes is not None:
        out += bytes_field(4, graph_bytes)
    if summary_bytes is not None:
        out += bytes_field(5, summary_bytes)
    return out


# --- TFRecord framing ----------------------------------------------------------------------
def _crc32c_table():
    """CRC-32C (Castagnoli; reflected polynomial 0x82F63B78), one entry per byte value."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked checksum: rotate right by 15 bits, add a constant (mod 2**32), so
    that a CRC computed over data that itself holds CRCs does not degenerate."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc32c(header)) + data
            + struct.pack("<I", masked_crc32c(data)))


# --- the writer ------------------------------------------------------------------------------
class EventFileWriter:
    """Appends events to a new event file in `log_dir` (made if missing)."""

    def __init__(self, log_dir):
        os.makedirs(log_dir, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        self.path = os.path.join(log_dir, name)
        self._file = open(self.path, "ab")
        self._write(event(file_version="brain.Event:2"))

    def _write(self, data: bytes):
        self._file.write(tfrecord(data))

    def add_scalars(self, step: int, scalars: dict):
        """One Summary holding every (tag, number) of `scalars`."""
        values = [scalar_value(tag, v) for tag, v in scalars.items()]
        if values:
            self._write(event(step, summary_bytes=summary(*values)))

    def add_histograms(self, step: int, arrays: dict):
        values = [histogram_value(tag, a) for tag, a in arrays.items()]
        if values:
            self._write(event(step, summary_bytes=summary(*values)))

    def add_graph(self, nodes):
        self._write(event(graph_bytes=graph_def(nodes)))

    def flush(self):
        self._file.flush()

    def close(self):
        if not self._file.closed:
            self._file.close()
