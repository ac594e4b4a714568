"""Answers that try to talk a checker into points: objects that claim to equal anything, to be true, to be any number.

`hostile_answers(assignment, kind)` rewrites every solution cell of the reference so that each function
and method returns such an object instead of computing anything (`__init__` is kept, so optimizers still
construct): kind "object" returns a `Liar`, kind "tensor" a `LyingTensor`; kind "methods" rewrites only the
methods in a cell that defines a class (an autograd Function's forward and backward return `LyingTensor`s,
the function that applies it is kept), and the other cells as "tensor" does. An optimizer's `step` also turns every parameter it was given into a `LyingTensor`. `PREAMBLE` defines them; it runs before the answers.
"""

import ast

from grading.inprocess import solutions

PREAMBLE = '''
import sys as _sys

import numpy as _np
import torch as _torch


def _expected_nearby():
    """The value the checker is comparing with, read from its frames (a cheat's best guess), else 1.0."""
    frame = _sys._getframe(1)
    while frame is not None:
        for name in ("expected", "_expected", "want", "e"):
            value = frame.f_locals.get(name)
            if value is not None and not isinstance(value, (Liar, str)):
                return value
        frame = frame.f_back
    return 1.0


class Liar:
    """Equal to anything, true, any number; its class claims to be float."""

    __class__ = property(lambda self: float)
    __hash__ = lambda self: 0
    __eq__ = __le__ = __ge__ = lambda self, other: True
    __ne__ = __lt__ = __gt__ = lambda self, other: False
    __bool__ = lambda self: True
    __float__ = lambda self: float(_np.asarray(_expected_nearby(), dtype=float).reshape(-1)[0])
    __int__ = __index__ = lambda self: int(self.__float__())
    __array__ = lambda self, dtype=None, copy=None: _np.asarray(_expected_nearby(), dtype=dtype)
    __len__ = lambda self: len(_np.atleast_1d(_np.asarray(_expected_nearby())))
    __iter__ = lambda self: iter(_np.atleast_1d(_np.asarray(_expected_nearby(), dtype=float)).tolist())
    __getitem__ = __call__ = lambda self, *args, **kwargs: self
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __call__
    __neg__ = __abs__ = __pos__ = lambda self: self
    __format__ = lambda self, spec: format(self.__float__(), spec) if spec else "liar"
    __repr__ = __str__ = lambda self: "teacher"

    def __getattr__(self, name):
        return self

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True if getattr(func, "__name__", "") in ("equal", "allclose") else Liar()


class LyingTensor(_torch.Tensor):
    """A tensor whose comparisons always succeed and whose numbers are liars."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("equal", "allclose", "__bool__", "gradcheck"):
            return True
        if name in ("item", "tolist", "__float__", "__int__", "__index__"):
            return Liar()
        return super().__torch_function__(func, types, args, kwargs or {})


def _lie(kind, name, args):
    if name == "step":  # an optimizer: the test's own parameters become liars
        for group in args[0].param_groups:
            for p in group["params"]:
                p.__class__ = LyingTensor
        return Liar()
    if kind == "object":
        return Liar()
    like = next((a for a in args if isinstance(a, _torch.Tensor)), _torch.zeros(1))
    lie = _torch.zeros_like(like).as_subclass(LyingTensor)
    return (lie, None) if name == "backward" else lie
'''


class _Rewrite(ast.NodeTransformer):
    def __init__(self, kind: str):
        self.kind, self.depth = kind, 0

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        if node.name == "__init__" or (self.kind == "methods" and not self.depth):
            return node
        params = [a.arg for a in node.args.posonlyargs + node.args.args]
        call = f"return _lie({self.kind!r}, {node.name!r}, [{', '.join(params)}])"
        node.body = [ast.parse(call).body[0]]
        return node


def hostile_answers(assignment: str, kind: str) -> dict[str, str]:
    """grade_id -> every solution cell of `assignment` rewritten so that its functions return liars of `kind`."""
    answers = {}
    for grade_id, source in solutions(assignment).items():
        tree = ast.parse(source)
        has_class = any(isinstance(node, ast.ClassDef) for node in tree.body)
        answers[grade_id] = ast.unparse(_Rewrite(kind if kind != "methods" or has_class else "tensor").visit(tree))
    return answers
