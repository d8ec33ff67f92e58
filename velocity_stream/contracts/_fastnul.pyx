# cython: language_level=3, boundscheck=False, wraparound=False
"""The native NUL check: the walk of nul_walk.py (``walk_holds_nul``) in C, for validation.

It takes the same branches in the same order (a string; a model's ``__dict__``; tuple and
list items; a dict's string keys, then its values) and answers the same, for any value. Exact
types go first, by pointer: str, the types that hold no string, tuple, list, dict and models;
anything else goes through ``isinstance`` as the walk does. A string is searched with
``PyUnicode_FindChar`` on CPython's own form of it, a ``memchr`` for Latin-1 text.
"""

from cpython.dict cimport PyDict_Next
from cpython.object cimport PyObject

from pydantic import BaseModel

from velocity_stream.contracts.nul_walk import INERT_TYPES


cdef extern from "Python.h":
    Py_ssize_t PyUnicode_FindChar(object, Py_UCS4, Py_ssize_t, Py_ssize_t, int) except -2
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    bint PyUnicode_Check(object)
    bint PyType_IsSubtype(type, type)


cdef object MODEL = BaseModel
cdef frozenset INERT = INERT_TYPES
# Nesting deeper than this (only a cycle, which model_construct can make) raises
# RecursionError, as the walk does past the interpreter's default recursion limit.
cdef int MAX_DEPTH = 1000


cpdef bint holds_nul(object value) except -1:
    """Whether a string in ``value`` holds U+0000, exactly as ``walk_holds_nul`` says."""
    return _holds(value, 0)


cdef inline bint _text_holds_nul(object text) except -1:
    return PyUnicode_FindChar(text, 0, 0, PyUnicode_GET_LENGTH(text), 1) >= 0


cdef bint _holds(object value, int depth) except -1:
    if PyUnicode_Check(value):
        return _text_holds_nul(value)
    cls = type(value)
    if cls in INERT:
        return False
    if depth >= MAX_DEPTH:
        raise RecursionError("maximum recursion depth exceeded while looking for U+0000")
    return _inside(value, cls, depth + 1)


cdef bint _inside(object value, object cls, int depth) except -1:
    cdef Py_ssize_t position = 0
    cdef PyObject* key
    cdef PyObject* item
    if cls is tuple or cls is list:
        return _items(value, depth)
    if cls is dict:
        return _map(value, depth)
    if PyType_IsSubtype(<type>cls, <type>MODEL):
        fields = value.__dict__
        while PyDict_Next(fields, &position, &key, &item):
            if _holds(<object>item, depth):
                return True
        return False
    # Subclasses (FrozenMap, a named tuple) by their type too: none of them can be a model as
    # well (the instance layouts conflict), so the walk's order is kept.
    if PyType_IsSubtype(<type>cls, tuple) or PyType_IsSubtype(<type>cls, list):
        return _items(value, depth)
    if PyType_IsSubtype(<type>cls, dict):
        return _map(value, depth)
    # whatever isinstance says beyond the type (a virtual subclass), in the walk's order
    if isinstance(value, BaseModel):
        return _items(list(value.__dict__.values()), depth)
    if isinstance(value, (tuple, list)):
        return _items(value, depth)
    if isinstance(value, dict):
        return _map(value, depth)
    return False


cdef bint _items(object items, int depth) except -1:
    for item in items:
        if _holds(item, depth):
            return True
    return False


cdef bint _map(object mapping, int depth) except -1:
    for key in mapping:
        if PyUnicode_Check(key) and _text_holds_nul(key):
            return True
    for item in mapping.values():
        if _holds(item, depth):
            return True
    return False
