# cython: language_level=3, boundscheck=False, wraparound=False
"""The native writer: runs a write program (velocity_stream.serde.program) in C.

Same programs, same bytes as the Python writer in compiled.py; see there. Strings are copied
from CPython's own UTF-8 form of the str (no encoded copy is made), lengths and longs are
written as zig-zag varints straight into one growing buffer.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.datetime cimport (
    PyDateTime_CheckExact,
    datetime_day,
    datetime_hour,
    datetime_microsecond,
    datetime_minute,
    datetime_month,
    datetime_second,
    datetime_tzinfo,
    datetime_year,
    import_datetime,
)
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from cpython.dict cimport PyDict_Check, PyDict_CheckExact, PyDict_GetItem, PyDict_Next
from cpython.object cimport PyObject
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

from datetime import UTC, datetime, timedelta

from velocity_stream.serde.program import Op

# The ops as C ints, from their one definition in program.py.
cdef int STRING = Op.STRING
cdef int BYTES = Op.BYTES
cdef int LONG = Op.LONG
cdef int MILLIS = Op.MILLIS
cdef int DOUBLE = Op.DOUBLE
cdef int FLOAT = Op.FLOAT
cdef int BOOLEAN = Op.BOOLEAN
cdef int ENUM = Op.ENUM
cdef int RECORD = Op.RECORD
cdef int ARRAY = Op.ARRAY
cdef int MAP = Op.MAP
cdef int OPTIONAL = Op.OPTIONAL

import_datetime()

cdef extern from "Python.h":
    ctypedef struct PyTypeObject
    PyTypeObject* Py_TYPE(object)
    PyObject* _PyType_Lookup(PyTypeObject*, object)  # borrowed, NULL when absent
    object PyObject_GenericGetDict(object, void*)

cdef extern from *:
    """
    static int is_data_descriptor(PyObject* found) {
        return found != NULL && Py_TYPE(found)->tp_descr_set != NULL;
    }
    """
    bint is_data_descriptor(PyObject*)

# A class whose attribute lookup is object's (pydantic models: BaseModel adds only a
# __getattr__, asked after it fails) finds an attribute first as a data descriptor of the
# class, then in the instance's __dict__.
cdef object GENERIC_GETATTRIBUTE = object.__dict__["__getattribute__"]
cdef object DICT_ITEMS = dict.__dict__["items"]

cdef object EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
cdef object MILLISECOND = timedelta(milliseconds=1)
cdef object UTC_ZONE = UTC


cdef struct Buffer:
    char* data
    Py_ssize_t size
    Py_ssize_t capacity


cdef int reserve(Buffer* out, Py_ssize_t extra) except -1:
    cdef Py_ssize_t needed = out.size + extra
    cdef Py_ssize_t capacity
    cdef char* grown
    if needed <= out.capacity:
        return 0
    capacity = max(out.capacity * 2, needed)
    grown = <char*>realloc(out.data, capacity)
    if grown == NULL:
        raise MemoryError()
    out.data = grown
    out.capacity = capacity
    return 0


cdef int put_long(Buffer* out, int64_t value) except -1:
    cdef uint64_t n = (<uint64_t>value << 1) ^ <uint64_t>(value >> 63)
    reserve(out, 10)
    while n > 0x7F:
        out.data[out.size] = <char>((n & 0x7F) | 0x80)
        out.size += 1
        n >>= 7
    out.data[out.size] = <char>n
    out.size += 1
    return 0


cdef int put_sized(Buffer* out, const char* data, Py_ssize_t size) except -1:
    put_long(out, size)
    reserve(out, size)
    memcpy(out.data + out.size, data, size)
    out.size += size
    return 0


cdef int64_t utc_millis(object value):
    """``(value - EPOCH) // MILLISECOND`` for an exact datetime in UTC, from its fields: the
    Python arithmetic makes two timedeltas and an int, more than the rest of a field costs."""
    cdef int64_t days = days_from_civil(
        datetime_year(value), datetime_month(value), datetime_day(value)
    )
    cdef int64_t seconds = (
        days * 86400
        + datetime_hour(value) * 3600
        + datetime_minute(value) * 60
        + datetime_second(value)
    )
    # the microseconds (0 to 999,999) floor-divided: seconds before 1970 are whole already
    return seconds * 1000 + datetime_microsecond(value) // 1000


cdef int64_t days_from_civil(int64_t year, int64_t month, int64_t day):
    """Days from 1970-01-01 to a proleptic Gregorian date, in eras of 400 years (146,097
    days) counted from March, so that the leap day ends the year."""
    if month <= 2:
        year -= 1
    cdef int64_t era = (year if year >= 0 else year - 399) // 400
    cdef int64_t year_of_era = year - era * 400
    cdef int64_t day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    cdef int64_t day_of_era = (
        year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    )
    return era * 146097 + day_of_era - 719468


cdef inline bint dict_items_are_dicts(object value):
    """A dict, or a dict subclass that keeps dict's own ``items``."""
    return PyDict_CheckExact(value) or (
        PyDict_Check(value) and _PyType_Lookup(Py_TYPE(value), "items") is <PyObject*>DICT_ITEMS
    )


cdef int put_value(Buffer* out, object value, tuple instruction) except -1:
    cdef int op = instruction[0]
    cdef Py_ssize_t position = 0
    cdef PyObject* key_entry
    cdef PyObject* item_entry
    cdef const char* data
    cdef Py_ssize_t size
    cdef double double_value
    cdef float float_value
    if op == STRING:
        data = PyUnicode_AsUTF8AndSize(value, &size)
        put_sized(out, data, size)
    elif op == LONG:
        put_long(out, value)
    elif op == MILLIS:
        if PyDateTime_CheckExact(value) and datetime_tzinfo(value) is UTC_ZONE:
            put_long(out, utc_millis(value))
        else:  # another zone, a subclass, a naive value (TypeError): Python's arithmetic
            put_long(out, (value - EPOCH) // MILLISECOND)
    elif op == DOUBLE:
        double_value = value
        reserve(out, 8)
        memcpy(out.data + out.size, &double_value, 8)
        out.size += 8
    elif op == FLOAT:
        float_value = value
        reserve(out, 4)
        memcpy(out.data + out.size, &float_value, 4)
        out.size += 4
    elif op == BOOLEAN:
        reserve(out, 1)
        out.data[out.size] = 1 if value else 0
        out.size += 1
    elif op == ENUM:
        put_long(out, instruction[2][value])
    elif op == RECORD:
        put_record(out, value, instruction[2])
    elif op == OPTIONAL:
        if value is None:
            put_long(out, instruction[2][0])
        else:
            put_long(out, instruction[2][1])
            put_value(out, value, instruction[2][2])
    elif op == ARRAY:
        if value:
            put_long(out, len(value))
            for item in value:
                put_value(out, item, instruction[2])
        put_long(out, 0)
    elif op == MAP:
        if value:
            put_long(out, len(value))
            if instruction[2][0] == STRING and dict_items_are_dicts(value):
                # A map of strings (FrozenMap): its entries in the order items() gives them,
                # without a tuple each. Writing a string runs no Python code, so nothing can
                # change the dict while its entries are read.
                while PyDict_Next(value, &position, &key_entry, &item_entry):
                    data = PyUnicode_AsUTF8AndSize(<object>key_entry, &size)
                    put_sized(out, data, size)
                    put_value(out, <object>item_entry, instruction[2])
            else:
                for key, item in value.items():
                    data = PyUnicode_AsUTF8AndSize(key, &size)
                    put_sized(out, data, size)
                    put_value(out, item, instruction[2])
        put_long(out, 0)
    elif op == BYTES:
        if not isinstance(value, bytes):
            raise TypeError(f"expected bytes, got {type(value).__name__}")
        put_sized(out, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
    else:
        raise ValueError(f"unknown op {op}")
    return 0


cdef int put_record(Buffer* out, object record, tuple program) except -1:
    cdef tuple instruction
    cdef PyObject* found
    cdef PyTypeObject* kind = Py_TYPE(record)
    cdef object fields = None
    if _PyType_Lookup(kind, "__getattribute__") is <PyObject*>GENERIC_GETATTRIBUTE:
        fields = PyObject_GenericGetDict(record, NULL)
    for instruction in program:
        name = instruction[1]
        # What getattr finds, read from the instance's __dict__ when nothing on its class
        # comes first (a data descriptor): attribute access on a pydantic model goes through
        # its __getattr__ hook, which cost a third of writing the field.
        if fields is not None and not is_data_descriptor(_PyType_Lookup(kind, name)):
            found = PyDict_GetItem(fields, name)
            if found is not NULL:
                put_value(out, <object>found, instruction)
                continue
        put_value(out, getattr(record, name), instruction)
    return 0


def write(tuple program, object record, bytes head=b""):
    """``head`` followed by the Avro encoding of ``record`` by ``program``."""
    cdef Buffer out
    out.size = 0
    out.capacity = 1024 + len(head)
    out.data = <char*>malloc(out.capacity)
    if out.data == NULL:
        raise MemoryError()
    try:
        memcpy(out.data, PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head))
        out.size = PyBytes_GET_SIZE(head)
        put_record(&out, record, program)
        return PyBytes_FromStringAndSize(out.data, out.size)
    finally:
        free(out.data)
