# cython: language_level=3, boundscheck=False, wraparound=False
"""The native reader: runs a read program (velocity_stream.serde.read_program) in C.

Same programs, same values and same refusals as the Python runner in reader.py; see there.
Varints, lengths and floats are read straight from the bytes object's buffer; strings are
decoded from it without an intermediate bytes copy.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.datetime cimport import_datetime, timedelta_new
from cpython.unicode cimport PyUnicode_DecodeUTF8, PyUnicode_GET_LENGTH
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memchr, memcpy

import uuid
from datetime import UTC, date, datetime

from velocity_stream.serde.read_program import Malformed, ReadOp, Refused

# The ops as C ints, from their one definition in read_program.py.
cdef int NULL_ = ReadOp.NULL
cdef int BOOLEAN = ReadOp.BOOLEAN
cdef int INT = ReadOp.INT
cdef int LONG = ReadOp.LONG
cdef int INT_FLOAT = ReadOp.INT_FLOAT
cdef int FLOAT = ReadOp.FLOAT
cdef int DOUBLE = ReadOp.DOUBLE
cdef int STRING = ReadOp.STRING
cdef int BYTES = ReadOp.BYTES
cdef int STRING_BYTES = ReadOp.STRING_BYTES
cdef int BYTES_STRING = ReadOp.BYTES_STRING
cdef int ENUM = ReadOp.ENUM
cdef int FIXED = ReadOp.FIXED
cdef int ARRAY = ReadOp.ARRAY
cdef int MAP = ReadOp.MAP
cdef int UNION = ReadOp.UNION
cdef int RECORD = ReadOp.RECORD
cdef int MILLIS = ReadOp.MILLIS
cdef int MICROS = ReadOp.MICROS
cdef int DATE = ReadOp.DATE
cdef int UUID = ReadOp.UUID

import_datetime()

cdef object EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
cdef object FROMORDINAL = date.fromordinal
cdef object MAKE_UUID = uuid.UUID
cdef int64_t DAYS_SHIFT = date(1970, 1, 1).toordinal()
cdef int64_t INT32 = 1 << 31


cdef struct Cursor:
    const char* data
    Py_ssize_t position
    Py_ssize_t end
    bint no_nul  # refuse a string holding U+0000 (read_without_nul)


cdef int64_t read_long(Cursor* c) except? -1:
    cdef uint64_t n = 0
    cdef uint64_t byte
    cdef int shift = 0
    while True:
        if c.position >= c.end:
            raise Refused("a varint past the end")
        byte = <unsigned char>c.data[c.position]
        c.position += 1
        if shift == 63 and byte > 1:
            raise Malformed("a varint longer than 64 bits")
        n |= (byte & 0x7F) << shift
        if not (byte & 0x80):
            break
        shift += 7
    return <int64_t>((n >> 1) ^ (<uint64_t>0 - (n & 1)))


cdef object since_epoch(int64_t amount, int64_t per_second):
    """EPOCH + ``amount`` units (``per_second`` of them a second), as fastavro computes it."""
    cdef int64_t per_day = per_second * 86400
    cdef int64_t days = amount // per_day
    cdef int64_t rest = amount % per_day
    if days < -999999999 or days > 999999999:
        raise Refused(f"{amount} is outside the range of datetime")
    return EPOCH + timedelta_new(
        <int>days, <int>(rest // per_second), <int>(rest % per_second * (1000000 // per_second))
    )


cdef Py_ssize_t read_size(Cursor* c) except -1:
    cdef int64_t size = read_long(c)
    if size < 0 or size > c.end - c.position:
        raise Refused(f"a length of {size} with {c.end - c.position} bytes left")
    return <Py_ssize_t>size


cdef object read_string(Cursor* c):
    # Every string and map key comes through here: with no_nul, one holding U+0000 (a 0x00
    # byte, which UTF-8 uses for nothing else) is refused, so a built model never holds one.
    cdef Py_ssize_t size = read_size(c)
    if c.no_nul and memchr(c.data + c.position, 0, size) != NULL:
        raise Refused("a string holding U+0000")
    value = PyUnicode_DecodeUTF8(c.data + c.position, size, NULL)
    c.position += size
    return value


cdef object read_bytes(Cursor* c, Py_ssize_t size):
    value = PyBytes_FromStringAndSize(c.data + c.position, size)
    c.position += size
    return value


cdef object read_value(Cursor* c, tuple instruction):
    cdef int op = instruction[0]
    cdef object argument = instruction[1]
    cdef object finish = instruction[2]
    cdef int64_t number
    cdef Py_ssize_t size
    cdef double double_value
    cdef float float_value
    cdef int64_t count
    cdef Py_ssize_t i
    cdef list values
    cdef tuple step
    cdef tuple branches
    cdef int slot
    if op == STRING or op == BYTES_STRING:
        value = read_string(c)
        if argument is not None:
            size = PyUnicode_GET_LENGTH(value)
            if size < argument[0] or (argument[1] is not None and size > argument[1]):
                raise Refused(f"a string of {size} code points")
    elif op == LONG:
        value = read_long(c)
    elif op == RECORD:
        values = list(argument[1])
        for step in argument[0]:
            slot = step[0]
            item = read_value(c, step[1])
            if slot >= 0:
                values[slot] = item
        value = argument[2](values)
    elif op == INT or op == DATE:
        number = read_long(c)
        if number < -INT32 or number >= INT32:
            raise Malformed(f"{number} does not fit an Avro int")
        value = number if op == INT else FROMORDINAL(number + DAYS_SHIFT)
    elif op == UNION:
        branches = argument
        number = read_long(c)
        if number < 0:
            raise Malformed(f"union branch {number}: a negative index")
        if number >= len(branches) or branches[number] is None:
            raise Refused(f"union branch {number}")
        value = read_value(c, branches[number])
    elif op == DOUBLE:
        if c.end - c.position < 8:
            raise Refused("a double past the end")
        memcpy(&double_value, c.data + c.position, 8)
        c.position += 8
        value = double_value
    elif op == FLOAT:
        if c.end - c.position < 4:
            raise Refused("a float past the end")
        memcpy(&float_value, c.data + c.position, 4)
        c.position += 4
        value = <double>float_value
    elif op == MILLIS:
        value = since_epoch(read_long(c), 1000)
    elif op == MICROS:
        value = since_epoch(read_long(c), 1000000)
    elif op == ENUM:
        number = read_long(c)
        if number < 0:
            raise Malformed(f"enum index {number}: a negative index")
        if number >= len(argument) or argument[number] is None:
            raise Refused(f"enum index {number}")
        value = argument[number]
    elif op == ARRAY or op == MAP:
        value = [] if op == ARRAY else {}
        while True:
            count = read_long(c)
            if count == 0:
                break
            if count < 0 or count > c.end - c.position:
                raise Refused(f"a block of {count} items with {c.end - c.position} bytes left")
            for i in range(count):
                if op == ARRAY:
                    value.append(read_value(c, argument))
                else:
                    key = read_string(c)
                    value[key] = read_value(c, argument)
    elif op == BOOLEAN:
        if c.position >= c.end:
            raise Refused("a boolean past the end")
        number = <unsigned char>c.data[c.position]
        if number > 1:
            raise Malformed(f"boolean byte {number}: neither 0 nor 1")
        c.position += 1
        value = number == 1
    elif op == NULL_:
        value = None
    elif op == INT_FLOAT:
        number = read_long(c)
        if argument and (number < -INT32 or number >= INT32):
            raise Malformed(f"{number} does not fit an Avro int")
        value = <double>number
    elif op == BYTES or op == STRING_BYTES:
        size = read_size(c)
        if op == STRING_BYTES:
            PyUnicode_DecodeUTF8(c.data + c.position, size, NULL)
        value = read_bytes(c, size)
    elif op == UUID:
        value = MAKE_UUID(read_string(c))
    elif op == FIXED:
        size = argument
        if c.end - c.position < size:
            raise Refused("a fixed past the end")
        value = read_bytes(c, size)
    else:
        raise Refused(f"unknown op {op}")
    if finish is not None:
        value = finish(value)
    return value


cdef object run(tuple program, object data, Py_ssize_t start, bint no_nul):
    cdef Cursor c
    if type(data) is not bytes:
        raise Refused("the body is not bytes")
    if start < 0 or start > PyBytes_GET_SIZE(data):
        raise Refused("the body starts past the end")
    c.data = PyBytes_AS_STRING(data)
    c.position = start
    c.end = PyBytes_GET_SIZE(data)
    c.no_nul = no_nul
    value = read_value(&c, program)
    if c.position != c.end:
        raise Refused(f"{c.end - c.position} bytes left over")
    return value


def read(tuple program, object data, Py_ssize_t start=0):
    """The value of the Avro body ``data[start:]`` by ``program``; Refused when unproven."""
    return run(program, data, start, False)


def read_without_nul(tuple program, object data, Py_ssize_t start=0):
    """``read``, refusing a string or map key holding U+0000 too."""
    return run(program, data, start, True)
