"""The state a test relies on, snapshot before any student code runs, then restored (or checked) around each test.

Student code shares the grading kernel's interpreter with the tests, so it can replace what the tests
use: a builtin, ``math.isclose``, ``np.testing``, a ``torch.Tensor`` method, a module in ``sys.modules``
(a ``numpy.py`` shipped beside the notebook), IPython's input and AST transformers, a trace function.
:class:`Guard` records those objects when the kernel starts (before the first cell) and puts them back;
:meth:`Guard.restore` returns, in words, what it had to put back. Whatever runs in the same process
can in principle undo this (frames, ``ctypes``): the guard stops the replacements above, not a student
who targets the grader itself. Pure Python; the kernel (`grading.kernel`) decides when to call it.
"""

from __future__ import annotations

import builtins
import importlib
import sys
import threading
import types
from builtins import (  # bound now, before learner code can replace them in builtins
    all,
    callable,
    delattr,
    dict,
    getattr,
    hasattr,
    id,
    isinstance,
    len,
    list,
    set,
    setattr,
    sorted,
    str,
    tuple,
    type,
    vars,
    zip,
)
from collections.abc import Iterable

__all__ = ["Guard", "protected_modules"]

# Modules every test may use whatever the assignment imports.
ALWAYS_PROTECTED = ("builtins", "math", "operator", "functools", "numbers", "copy")
# sys attributes whose identity matters to how a cell runs and reports.
SYS_ATTRIBUTES = ("stdout", "stderr", "displayhook", "excepthook", "breakpointhook")
# sys lists whose contents decide what `import` returns.
SYS_LISTS = ("meta_path", "path_hooks")
_FUNCTION_PARTS = ("__code__", "__defaults__", "__kwdefaults__")


def _is_guarded_value(value: object) -> bool:
    """Callables, classes and modules: what a test calls. Plain data in a module may change legitimately."""
    return callable(value) or isinstance(value, types.ModuleType)


def protected_modules(top_level: Iterable[str]) -> list[str]:
    """Loaded modules to protect for tests that import `top_level` packages.

    Each package's own namespace, every loaded ``<package>...testing...`` submodule, the modules that
    define the package's public functions (``np.allclose`` calls ``numpy._core.numeric.isclose``),
    and :data:`ALWAYS_PROTECTED`.
    """
    names = {n for n in ALWAYS_PROTECTED if n in sys.modules}
    for package in {name.split(".")[0] for name in top_level}:
        if package not in sys.modules:
            continue
        names.add(package)
        try:  # np.testing is imported lazily: load it now, while the environment is pristine
            importlib.import_module(package + ".testing")
        except ImportError:
            pass
        names.update(m for m in list(sys.modules) if m.startswith(package + ".") and "testing" in m.split("."))
    for name in list(names):
        for value in list(vars(sys.modules[name]).values()):
            home = getattr(value, "__module__", None) if isinstance(value, types.FunctionType) else None
            if isinstance(home, str) and home in sys.modules and home.split(".")[0] in names:
                names.add(home)
    return sorted(n for n in names if isinstance(sys.modules.get(n), types.ModuleType))


class _Namespace:
    """The guarded entries of a module's or a class's ``__dict__``, and the parts of the functions in it."""

    def __init__(self, owner: object, label: str, *, drop_new: bool):
        self.owner, self.label, self.drop_new = owner, label, drop_new
        self.saved = {k: v for k, v in vars(owner).items() if _is_guarded_value(v)}
        self.functions = {
            k: (v, tuple(getattr(v, p) for p in _FUNCTION_PARTS))
            for k, v in self.saved.items()
            if isinstance(v, types.FunctionType)
        }

    def check(self, fix: bool) -> list[str]:
        changes, current = [], vars(self.owner)
        for key, value in self.saved.items():
            if current.get(key, _MISSING) is not value:
                changes.append(f"{self.label}.{key}")
                if fix:
                    setattr(self.owner, key, value)
        if self.drop_new:
            for key in [k for k, v in current.items() if k not in self.saved and _is_guarded_value(v)]:
                changes.append(f"{self.label}.{key} (added)")
                if fix:
                    delattr(self.owner, key)
        for key, (function, parts) in self.functions.items():
            for part, value in zip(_FUNCTION_PARTS, parts):
                if getattr(function, part) is not value:
                    changes.append(f"{self.label}.{key}.{part}")
                    if fix:
                        setattr(function, part, value)
        return changes


class _Builtins:
    """Every entry of ``builtins.__dict__``: a replaced or added builtin changes what tests compute."""

    def __init__(self):
        self.saved = dict(vars(builtins))

    def check(self, fix: bool) -> list[str]:
        changes, current = [], vars(builtins)
        for key, value in self.saved.items():
            if current.get(key, _MISSING) is not value:
                changes.append(f"builtins.{key}")
                if fix:
                    current[key] = value
        for key in [k for k in current if k not in self.saved and k != "_"]:
            changes.append(f"builtins.{key} (added)")
            if fix:
                del current[key]
        return changes


class _Attributes:
    """Named attributes of one object, compared by identity."""

    def __init__(self, owner: object, label: str, names: Iterable[str]):
        self.owner, self.label = owner, label
        self.saved = {n: getattr(owner, n) for n in names if hasattr(owner, n)}

    def check(self, fix: bool) -> list[str]:
        changes = []
        for name, value in self.saved.items():
            if getattr(self.owner, name, _MISSING) is not value:
                changes.append(f"{self.label}.{name}")
                if fix:
                    setattr(self.owner, name, value)
        return changes


class _ListContents:
    """The items of a list object that the interpreter keeps using (transformers, sys.meta_path)."""

    def __init__(self, items: list, label: str):
        self.items, self.label, self.saved = items, label, list(items)

    def check(self, fix: bool) -> list[str]:
        if len(self.items) == len(self.saved) and all(a is b for a, b in zip(self.items, self.saved)):
            return []
        if fix:
            self.items[:] = self.saved
        return [f"{self.label} (contents)"]


class _Hooks:
    """Trace and profile functions (``sys.settrace``, ``threading.settrace``): none while tests run."""

    def __init__(self):
        self.saved = (sys.gettrace(), sys.getprofile())

    def check(self, fix: bool) -> list[str]:
        changes = []
        if sys.gettrace() is not self.saved[0]:
            changes.append("sys.settrace")
        if sys.getprofile() is not self.saved[1]:
            changes.append("sys.setprofile")
        if getattr(threading, "_trace_hook", None) is not None or getattr(threading, "_profile_hook", None) is not None:
            changes.append("threading.settrace/setprofile")
        if fix and changes:
            sys.settrace(self.saved[0])
            sys.setprofile(self.saved[1])
            threading.settrace(None)
            threading.setprofile(None)
        return changes


class _SysModules:
    """``sys.modules[name]`` for the protected names: undoes a shadowing module (a shipped ``numpy.py``)."""

    def __init__(self, names: Iterable[str]):
        self.saved = {n: sys.modules[n] for n in names}

    def check(self, fix: bool) -> list[str]:
        changes = []
        for name, module in self.saved.items():
            if sys.modules.get(name) is not module:
                changes.append(f"sys.modules[{name!r}]")
                if fix:
                    sys.modules[name] = module
        return changes


_MISSING = object()


class Guard:
    """A snapshot of what tests rely on; :meth:`restore` puts it back, :meth:`changes` only reports."""

    def __init__(
        self,
        module_names: Iterable[str],
        *,
        objects: Iterable[tuple[object, str, Iterable[str]]] = (),
        lists: Iterable[tuple[list, str]] = (),
        classes: Iterable[type] = (),
        instances: Iterable[tuple[object, str]] = (),
    ):
        """Snapshot now.

        Args:
            module_names: modules whose namespaces (callables, classes, submodules) and functions to keep.
            objects: ``(object, label, attribute names)`` whose attributes to keep by identity.
            lists: ``(list, label)`` whose contents to keep.
            classes: extra classes whose methods to keep (the shell's and the kernel's).
            instances: ``(object, label)`` whose own callables to keep: a method replaced on the instance
                (``shell.run_cell = ...``) is removed again.
        """
        module_names = sorted(set(module_names))
        self._parts: list = [_Builtins(), _SysModules(module_names), _Hooks()]
        self._parts.append(_Attributes(sys, "sys", SYS_ATTRIBUTES))
        self._parts.extend(_ListContents(getattr(sys, n), f"sys.{n}") for n in SYS_LISTS)
        seen_classes: set[int] = set()
        for name in module_names:
            if name == "builtins":
                continue
            module = sys.modules[name]
            self._parts.append(_Namespace(module, name, drop_new=False))
            for value in list(vars(module).values()):
                if isinstance(value, type) and getattr(value, "__module__", "").split(".")[0] == name.split(".")[0]:
                    if id(value) not in seen_classes and _is_mutable_class(value):
                        seen_classes.add(id(value))
                        self._parts.append(_Namespace(value, f"{name}.{value.__name__}", drop_new=True))
        for cls in classes:
            for klass in cls.__mro__:
                if id(klass) not in seen_classes and _is_mutable_class(klass):
                    seen_classes.add(id(klass))
                    self._parts.append(_Namespace(klass, f"{klass.__module__}.{klass.__qualname__}", drop_new=True))
        self._parts.extend(_Namespace(obj, label, drop_new=True) for obj, label in instances)
        self._parts.extend(_Attributes(obj, label, names) for obj, label, names in objects)
        self._parts.extend(_ListContents(items, label) for items, label in lists)

    def changes(self) -> list[str]:
        """What differs from the snapshot, without touching it."""
        return [change for part in self._parts for change in part.check(fix=False)]

    def restore(self) -> list[str]:
        """Put the snapshot back; return what had changed."""
        return [change for part in self._parts for change in part.check(fix=True)]


def _is_mutable_class(cls: type) -> bool:
    """Classes defined in Python (``torch.Tensor``) can be patched; immutable C types (``float``, ``np.ndarray``) cannot."""
    return cls is not object and not cls.__flags__ & _IMMUTABLE_TYPE


_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE, set on every static (C) type since Python 3.10
