"""Fingerprints of a whole machine state, for the stateful search (SPIN's state hashing).

A state is everything that decides what can happen from it on: every object reachable from the
machine - firmware, PEs, the GIC, locks, the kernel's data, invariants' own state - and, for
each generator (a thread or handler part-way through its code), the instruction it is suspended
at, its locals and its evaluation stack (values pushed before a `yield`, the iterators of the
`for` loops it is in), read from the interpreter with `gc.get_referents`. Two states with equal
fingerprints run the same from there on.

What only records the past is left out, named by the class that keeps it: a class attribute
`__past__` lists such attributes, and `("*",)` makes a whole object a record (an observer
drawing the timeline). Leaving out something the future reads would merge different states
and hide what one of them leads to, so only what is provably write-only belongs there. A
class whose state is large and flat may say what it is with a `__fingerprint__()` method
returning plain values (the GIC's lines).

A class may also list in `__fixed__` attributes set at construction from the scenario's
options and never changed (configuration, dispatch tables): the same in every state of one
search, so walking them would only cost time.

An object the walker cannot see inside (a C type it does not know) makes its state unmatched:
never wrongly merged. The tokens are written out exactly (`marshal`, which keeps `True`, `1`
and `1.0` apart) and digested (128-bit BLAKE2b).
Classes and modules are taken as constant: code keeps its mutable state on instances.
"""

from __future__ import annotations

import enum
import functools
import gc
import hashlib
import itertools
import marshal
import operator
import types
from typing import Any

PAST = "__past__"
FIXED = "__fixed__"
OWN = "__fingerprint__"
EVERYTHING = ("*",)

_ATOMS = frozenset({int, str, bool, type(None), float, bytes, complex})
_BY_IDENTITY = (
    type,
    types.ModuleType,
    types.CodeType,
    types.BuiltinFunctionType,
    enum.Enum,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
)
# C iterators whose position `__reduce__` gives (list, tuple, range, dict and set iterators,
# enumerate, zip, map, reversed).
_ITERATORS: tuple[object, ...] = (
    iter([]),
    iter(()),
    iter(range(1)),
    iter({}),
    iter({}.values()),
    iter({}.items()),
    iter(set()),
    iter(""),
    enumerate(()),
    zip(),
    map(abs, ()),
    reversed([]),
    reversed(range(1)),
)
_REDUCIBLE = frozenset(type(it) for it in _ITERATORS)
_CELL = types.CellType
_IMMUTABLE, _HEAPTYPE = 1 << 8, 1 << 9  # Py_TPFLAGS_*: a class statement makes neither


def _native(cls: type) -> bool:
    """Defined in C (static, or an extension module's): not by a `class` statement, nor
    compiled from one by mypyc (`sdei.accel`), which lists its attributes."""
    if MYPYC_ATTRS in cls.__dict__:
        return False
    return bool(cls.__flags__ & _IMMUTABLE) or not cls.__flags__ & _HEAPTYPE


MYPYC_ATTRS = "__mypyc_attrs__"  # a compiled class's attributes: its slots


_FRAME = types.FrameType


class Plan:
    """How to walk instances of one class: its slots, and what it leaves out."""

    __slots__ = ("get", "native", "own", "past", "record", "slots", "tag")

    def __init__(self, cls: type) -> None:
        past: set[str] = set()
        slots: list[str] = []
        for base in reversed(cls.__mro__):
            past.update(base.__dict__.get(PAST, ()))
            past.update(base.__dict__.get(FIXED, ()))
            declared = base.__dict__.get(MYPYC_ATTRS) or base.__dict__.get("__slots__", ())
            for name in (declared,) if isinstance(declared, str) else declared:
                if name not in ("__dict__", "__weakref__") and name not in slots:
                    slots.append(name)
        self.record = "*" in past
        self.own = getattr(cls, OWN, None)  # the class says what its state is
        self.tag = _tag(cls)
        # A built-in (C) class it derives from, whose state lives where no walk can see.
        self.native = next((b for b in cls.__mro__ if b is not object and _native(b)), None)
        self.past = frozenset(past)
        self.slots = tuple(s for s in slots if s not in past)
        self.get = operator.attrgetter(*self.slots) if len(self.slots) > 1 else None


_tags: dict[object, tuple[str, int]] = {}


def _tag(thing: object) -> tuple[str, int]:
    """A plain stand-in for a class, code object, enum member or module: what the token list
    holds so that it can be written out exactly (`repr`) and digested."""
    found = _tags.get(thing)
    if found is None:
        found = _tags[thing] = ("~", len(_tags))
    return found


_GENERATOR = _tag(types.GeneratorType)
_DICT = _tag(dict)
_TAGS: dict[type, tuple[str]] = {
    list: ("list",),
    tuple: ("tuple",),
}  # a sequence's tag: (name,) or (name, length)
_plans: dict[type, Plan] = {}
_UNSET = "<unset>"  # a slot with no value yet
_unmatched = itertools.count()


def _plan(cls: type) -> Plan:
    plan = _plans.get(cls)
    if plan is None:
        plan = _plans[cls] = Plan(cls)
    return plan


class Walk:
    """One fingerprint: a canonical token list of the object graph, shared objects by the
    order they were first met (so two equal graphs built apart give the same tokens)."""

    __slots__ = ("hold", "memo", "opaque", "out")

    def __init__(self) -> None:
        self.memo: dict[int, int] = {}
        # Every object met, alive until the walk ends: the walk makes temporaries (an
        # iterator's `__reduce__()`, a named tuple's fields), and one freed would give its
        # id() to the next, which would then pass for a reference to it.
        self.hold: list[Any] = []
        self.out: list[Any] = []
        self.opaque = 0  # objects fingerprinted by identity

    def walk(self, o: Any) -> None:
        out = self.out
        t = type(o)
        if t in _ATOMS:
            out.append(o)
            return
        memo = self.memo
        key = id(o)
        seen = memo.get(key)
        if seen is not None:
            out.append(("@", seen))
            return
        memo[key] = len(memo)
        self.hold.append(o)
        walk = self.walk
        if t is list or t is tuple:
            items = tuple(o)
            if _ATOMS.issuperset(map(type, items)):  # plain values only: one token
                out.append((_TAGS[t], items))
                return
            out.append((_TAGS[t], len(o)))
            atoms = _ATOMS
            for item in items:
                if type(item) in atoms:
                    out.append(item)
                else:
                    walk(item)
        elif t is dict:
            out.append((_DICT, len(o)))
            atoms = _ATOMS
            for k, v in o.items():
                if type(k) in atoms:
                    out.append(k)
                else:
                    walk(k)
                if type(v) in atoms:
                    out.append(v)
                else:
                    walk(v)
        elif t is set or t is frozenset:
            out.append((_tag(t), len(o)))
            for item in o:
                walk(item)
        elif t is types.GeneratorType:
            self._generator(o)
        elif t is types.FunctionType:
            out.append(_tag(o.__code__))
            walk(o.__defaults__)
            walk(o.__kwdefaults__)
            for cell in o.__closure__ or ():
                walk(cell)
        elif t is types.MethodType:
            out.append(_tag(t))
            walk(o.__func__)
            walk(o.__self__)
        elif t is _CELL:
            try:
                contents = o.cell_contents
            except ValueError:
                out.append("<empty cell>")
            else:
                out.append(_tag(t))
                walk(contents)
        elif t is types.BuiltinMethodType and not isinstance(o.__self__, types.ModuleType):
            out.append((_tag(t), o.__name__))
            walk(o.__self__)
        elif isinstance(o, _BY_IDENTITY):
            out.append(_tag(o))
        elif t in _REDUCIBLE:
            out.append(_tag(t))
            walk(o.__reduce__())
        elif t is functools.partial:
            out.append(_tag(t))
            walk(o.func)
            walk(o.args)
            walk(o.keywords)
        else:
            self._instance(o, t)

    def _generator(self, gen: types.GeneratorType[Any, Any, Any]) -> None:
        out = self.out
        frame = gen.gi_frame
        if frame is None:  # finished
            out.append((_GENERATOR, _tag(gen.gi_code), None))
            return
        out.append((_GENERATOR, _tag(gen.gi_code), frame.f_lasti))
        locals_ = frame.f_locals  # exact: which locals are set, and to what
        self.walk(locals_)
        # The evaluation stack (and the locals again, met already): iterators of the loops
        # the code is in, values computed before the `yield`, a `yield from`'s generator.
        for value in gc.get_referents(gen):
            if type(value) is not _FRAME and value is not locals_:
                self.walk(value)

    def _instance(self, o: Any, t: type) -> None:
        out = self.out
        plan = _plan(t)
        tag = plan.tag
        if plan.record:
            out.append(tag)
            return
        if plan.own is not None:  # plain values, hashable: one token
            out.append((tag, plan.own(o)))
            return
        native = plan.native
        if native is not None:
            if native is tuple:  # a named tuple
                out.append(tag)
                self.walk(tuple(o))
                return
            self.opaque += 1
            out.append(("opaque", id(o)))
            return
        d = getattr(o, "__dict__", None)
        walk = self.walk
        if d is not None:
            past = plan.past
            if past:
                d = {k: v for k, v in d.items() if k not in past}
            names = _tag(tuple(d))  # the attribute names, as one token
            values = tuple(d.values())
            atoms = _ATOMS
            if atoms.issuperset(map(type, values)):
                out.append((tag, names, values))  # plain values only: one token
            else:
                out.append((tag, names))
                for v in values:
                    if type(v) in atoms:
                        out.append(v)
                    else:
                        walk(v)
        elif plan.get is None:
            out.append(tag)
        if plan.get is not None:
            try:
                values = plan.get(o)
            except AttributeError:
                values = tuple(getattr(o, s, _UNSET) for s in plan.slots)
            if all(type(v) in _ATOMS for v in values):
                out.append((tag, values))  # a record of plain values: one token
                return
            out.append(tag)
            for v in values:
                walk(v)
        elif plan.slots:
            walk(getattr(o, plan.slots[0], _UNSET))


def fingerprint(root: Any) -> bytes:
    """A 128-bit digest of the state reachable from `root` (valid within this process).

    The tokens are plain values only, written out exactly with `marshal` (format 2: no
    back-references, so equal values give equal bytes; `True` is not `1`, `-1` is not `-2`, as
    they are to `hash`) and digested with BLAKE2b. `repr` writes out what `marshal` cannot."""
    w = Walk()
    w.walk(root)
    if w.opaque:
        w.out.append(("unmatched", next(_unmatched)))  # see the module docstring
    try:
        data = marshal.dumps(w.out, 2)
    except ValueError:  # a value marshal does not write (a `__fingerprint__`'s own type)
        data = repr(w.out).encode()
    return hashlib.blake2b(data, digest_size=16).digest()
