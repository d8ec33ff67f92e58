# cython: language_level=3, boundscheck=False, wraparound=False
"""The native canonical encoding of an import row: the UTF-8 bytes of
``json.dumps(dict(row), sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` for a
dict of exactly ``str`` keys and values, written straight from CPython's UTF-8 form of
each string. ImportRowRecord's rule hashes it for every row it validates, where json's
general machinery cost half of the validation.

The escapes are json's with ``ensure_ascii=False``: ``\\"`` and ``\\\\``, the short forms
``\\b \\f \\n \\r \\t``, ``\\u00XX`` (lower-case hex) for the other characters below U+0020,
and every other character as it is. Anything else (a key or value that is not exactly a str,
a string UTF-8 cannot encode) gives None: the caller encodes it the reference way, which
answers or raises as it always did.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_GetItem, PyDict_Keys
from cpython.exc cimport PyErr_Clear
from cpython.list cimport PyList_GET_ITEM
from cpython.object cimport PyObject
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy


cdef extern from "Python.h":
    bint PyUnicode_CheckExact(object)
    bint PyDict_Check(object)
    # NULL with an exception set (not raised here: the caller falls back)
    const char* PyUnicode_AsUTF8AndSize(object, Py_ssize_t*)

cdef const char* HEX = b"0123456789abcdef"
# What each UTF-8 byte adds to a string's size when escaped: 1 for " and \ and the short
# forms (\b \f \n \r \t), 5 for the other control characters (\u00XX), none for the rest.
cdef unsigned char EXTRA[256]
for _byte in range(256):
    if _byte in (8, 9, 10, 12, 13, 34, 92):
        EXTRA[_byte] = 1
    elif _byte < 32:
        EXTRA[_byte] = 5
    else:
        EXTRA[_byte] = 0


cdef struct Text:
    const unsigned char* data  # CPython's UTF-8 form of the str, kept by the str itself
    Py_ssize_t length


def canonical_row(object row):
    """The canonical bytes of ``row`` (a dict or a dict subclass that reads as one: the
    caller's to say), or None where only the reference encoding decides."""
    if not PyDict_Check(row):
        raise TypeError(f"expected a dict, got {type(row).__name__}")
    cdef list keys = PyDict_Keys(row)
    cdef Py_ssize_t count = len(keys), index
    for index in range(count):
        if not PyUnicode_CheckExact(<object>PyList_GET_ITEM(keys, index)):
            return None
    keys.sort()  # exact strs: no Python code runs, the dict cannot change under us
    cdef Text* texts = <Text*>malloc((2 * count + 1) * sizeof(Text))
    if texts == NULL:
        raise MemoryError()
    try:
        return _encode(row, keys, count, texts)
    finally:
        free(texts)


cdef object _encode(object row, list keys, Py_ssize_t count, Text* texts):
    cdef PyObject* value
    cdef object key
    cdef Py_ssize_t index, size = 2 * count + 1 if count else 2  # braces, colons, commas
    for index in range(count):
        key = <object>PyList_GET_ITEM(keys, index)
        value = PyDict_GetItem(row, key)
        if value is NULL or not PyUnicode_CheckExact(<object>value):
            return None
        if not _utf8(key, &texts[2 * index]) or not _utf8(<object>value, &texts[2 * index + 1]):
            return None
    for index in range(2 * count):
        size += _escaped_size(&texts[index])
    out = PyBytes_FromStringAndSize(NULL, size)
    cdef char* at = PyBytes_AS_STRING(out)
    at[0] = b"{"
    at += 1
    for index in range(2 * count):
        if index:
            at[0] = b":" if index & 1 else b","
            at += 1
        at = _write_escaped(at, &texts[index])
    at[0] = b"}"
    if at + 1 != PyBytes_AS_STRING(out) + size:  # cannot happen: the sizes are the writes'
        raise SystemError("canonical_row wrote a different size than it measured")
    return out


cdef bint _utf8(object text, Text* into) except -1:
    """False where UTF-8 cannot encode ``text`` (a lone surrogate): the reference raises."""
    cdef const char* data = PyUnicode_AsUTF8AndSize(text, &into.length)
    if data == NULL:
        PyErr_Clear()
        return False
    into.data = <const unsigned char*>data
    return True


cdef Py_ssize_t _escaped_size(const Text* text) noexcept:
    """Bytes of ``text`` as a JSON string, quotes included."""
    cdef const unsigned char* data = text.data
    cdef Py_ssize_t length = text.length
    cdef Py_ssize_t size = length + 2
    cdef Py_ssize_t index = _plain_run(data, 0, length)
    while index < length:
        size += EXTRA[data[index]]
        index = _plain_run(data, index + 1, length)
    return size


cdef inline Py_ssize_t _plain_run(
    const unsigned char* data, Py_ssize_t index, Py_ssize_t length
) noexcept:
    """The first index from ``index`` on of a byte JSON escapes, or ``length``: eight bytes
    at a time while none of them is a control character, ``"`` or ``\\``."""
    cdef uint64_t word
    while index + 8 <= length:
        memcpy(&word, data + index, 8)
        if _has_escape(word):
            break
        index += 8
    while index < length and not EXTRA[data[index]]:
        index += 1
    return index


cdef inline bint _has_escape(uint64_t word) noexcept:
    """Whether one of the eight bytes of ``word`` is below 0x20, ``"`` or ``\\``: a byte
    below n sets its top bit in (word - n in every byte) & ~word & 0x80 in every byte, and a
    byte equal to c is a byte below 1 of word ^ c in every byte. It never misses one; a
    borrow from a lower byte may flag the next, which the bytewise scan then passes."""
    cdef uint64_t quote = word ^ 0x2222222222222222ULL
    cdef uint64_t backslash = word ^ 0x5C5C5C5C5C5C5C5CULL
    return (
        ((word - 0x2020202020202020ULL) & ~word)
        | ((quote - 0x0101010101010101ULL) & ~quote)
        | ((backslash - 0x0101010101010101ULL) & ~backslash)
    ) & 0x8080808080808080ULL != 0


cdef inline char _short_escape(unsigned char byte) noexcept:
    if byte == 34 or byte == 92:  # " and \ stand for themselves after the backslash
        return <char>byte
    if byte == 8:
        return b"b"
    if byte == 12:
        return b"f"
    if byte == 10:
        return b"n"
    if byte == 13:
        return b"r"
    if byte == 9:
        return b"t"
    return 0


cdef char* _write_escaped(char* at, const Text* text) noexcept:
    """Writes ``text`` as a JSON string at ``at``; returns where it ends."""
    cdef const unsigned char* data = text.data
    cdef Py_ssize_t length = text.length, start = 0, index
    cdef unsigned char byte
    cdef char letter
    at[0] = b'"'
    at += 1
    while True:
        index = _plain_run(data, start, length)
        memcpy(at, data + start, index - start)  # the run of bytes written as they are
        at += index - start
        if index == length:
            break
        byte = data[index]
        start = index + 1
        at[0] = b"\\"
        letter = _short_escape(byte)
        if letter:
            at[1] = letter
            at += 2
        else:
            at[1] = b"u"
            at[2] = b"0"
            at[3] = b"0"
            at[4] = HEX[byte >> 4]
            at[5] = HEX[byte & 15]
            at += 6
    at[0] = b'"'
    return at + 1
