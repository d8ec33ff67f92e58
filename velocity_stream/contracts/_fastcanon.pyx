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
from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.string cimport memcpy


cdef extern from "Python.h":
    bint PyUnicode_CheckExact(object)
    bint PyDict_Check(object)

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


def canonical_row(object row):
    """The canonical bytes of ``row`` (a dict or a dict subclass that reads as one: the
    caller's to say), or None where only the reference encoding decides."""
    if not PyDict_Check(row):
        raise TypeError(f"expected a dict, got {type(row).__name__}")
    cdef list keys = list(row)
    cdef list texts = []
    # the braces, a colon in each pair, a comma between pairs
    cdef Py_ssize_t size = 2 * len(keys) + 1 if keys else 2
    cdef PyObject* value
    for key in keys:
        if not PyUnicode_CheckExact(key):
            return None
    keys.sort()
    for key in keys:
        value = PyDict_GetItem(row, key)
        if value is NULL or not PyUnicode_CheckExact(<object>value):
            return None
        texts.append(key)
        texts.append(<object>value)
    try:
        for text in texts:
            size += _escaped_size(text)
    except UnicodeEncodeError:
        return None
    out = PyBytes_FromStringAndSize(NULL, size)
    cdef char* at = PyBytes_AS_STRING(out)
    at[0] = b"{"
    at += 1
    cdef Py_ssize_t index
    for index in range(len(texts)):
        if index:
            at[0] = b":" if index % 2 else b","
            at += 1
        at = _write_escaped(at, texts[index])
    at[0] = b"}"
    if at + 1 != PyBytes_AS_STRING(out) + size:  # cannot happen: the sizes are the writes'
        raise SystemError("canonical_row wrote a different size than it measured")
    return out


cdef Py_ssize_t _escaped_size(str text) except -1:
    """Bytes of ``text`` as a JSON string, quotes included."""
    cdef Py_ssize_t length, index
    cdef const unsigned char* data = <const unsigned char*>PyUnicode_AsUTF8AndSize(text, &length)
    cdef Py_ssize_t size = length + 2
    for index in range(length):
        size += EXTRA[data[index]]
    return size


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


cdef char* _write_escaped(char* at, str text) except NULL:
    """Writes ``text`` as a JSON string at ``at``; returns where it ends. The UTF-8 form was
    made (and cached by CPython) when its size was taken."""
    cdef Py_ssize_t length, index, start = 0
    cdef const unsigned char* data = <const unsigned char*>PyUnicode_AsUTF8AndSize(text, &length)
    cdef unsigned char byte
    cdef char letter
    at[0] = b'"'
    at += 1
    for index in range(length):
        byte = data[index]
        if not EXTRA[byte]:
            continue
        memcpy(at, data + start, index - start)  # the run of bytes written as they are
        at += index - start
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
    memcpy(at, data + start, length - start)
    at += length - start
    at[0] = b'"'
    return at + 1
