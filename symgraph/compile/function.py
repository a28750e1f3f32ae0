"""function(): compile symbolic inputs and outputs into a callable."""

import functools
import operator
import warnings
import weakref
from collections import OrderedDict

import numpy as np

from ..errors import (
    ArgumentCountError, GraphTypeError, MissingInputError, SymgraphError, UnusedInputError, where,
)
from ..graph.basic import Constant, Variable
from ..graph.fg import FunctionGraph
from ..graph.traversal import ancestors, rebuild
from ..rewrite.pipeline import rewrite_graph
from .backend import InputMismatch, get_backend
from .io import In, Out
from .mode import get_mode
from .shared import SharedVariable


def function(inputs, outputs=None, updates=None, givens=None, mode=None,
             on_unused_input="raise", name=None, allow_input_downcast=None, trust_input=False):
    """Compile a graph into a Python callable.

    Parameters
    ----------
    inputs : list of Variable or In
        The explicit arguments, in call order.
    outputs : Variable, Out, or a list of them
        What the call returns (a single value, or a list).
    updates : list of (SharedVariable, Variable) pairs or a dict
        New values of shared variables, all computed from the values before
        the call and stored together after it succeeds.
    givens : list of (Variable, Variable) pairs or a dict
        Substitutions made in the graph before compiling.
    mode : Mode, str
        ``'FAST_RUN'``, ``'FAST_COMPILE'``, a backend name or a ``Mode``.
    on_unused_input : {'raise', 'warn', 'ignore'}
    allow_input_downcast : bool or None
        Accept lossy input conversions (None: only Python floats to floatX).
    """
    return Function(inputs, outputs, updates, givens, get_mode(mode), on_unused_input, name,
                    allow_input_downcast, trust_input)


def _as_pairs(arg, what):
    if arg is None:
        return []
    if isinstance(arg, dict):
        return list(arg.items())
    try:
        pairs = [tuple(p) for p in arg]
    except TypeError:
        raise SymgraphError(f"{what} must be a dict or a list of pairs, got {type(arg).__name__}") from None
    for p in pairs:
        if len(p) != 2:
            raise SymgraphError(f"{what} must be pairs (variable, expression); got {p!r}")
    return pairs


class Function:
    """A compiled function: call it with NumPy values, get NumPy values back."""

    def __init__(self, inputs, outputs, updates, givens, mode, on_unused_input, name,
                 allow_input_downcast, trust_input):
        from ..tensor.variable import as_tensor_variable

        self._spec = (inputs, outputs, updates, givens, mode, on_unused_input, name,
                      allow_input_downcast)
        self.name = name
        self.mode = mode
        self.trust_input = trust_input
        if on_unused_input not in ("raise", "warn", "ignore"):
            raise SymgraphError(f"on_unused_input must be 'raise', 'warn' or 'ignore', got {on_unused_input!r}")
        if not isinstance(inputs, (list, tuple)):
            raise SymgraphError(f"function inputs must be a list, got {type(inputs).__name__}")
        self.ins = [i if isinstance(i, In) else In(i) for i in inputs]
        seen = set()
        for i in self.ins:
            if i.variable in seen:
                raise SymgraphError(f"input {i.variable} is given twice to function()")
            seen.add(i.variable)
        self.allow_input_downcast = allow_input_downcast

        self.single_output = outputs is not None and not isinstance(outputs, (list, tuple))
        out_list = [] if outputs is None else ([outputs] if self.single_output else list(outputs))
        self.outs = [o if isinstance(o, Out) else Out(o) for o in out_list]
        out_vars = []
        for o in self.outs:
            v = o.variable
            if not isinstance(v, Variable):
                v = as_tensor_variable(v)
            out_vars.append(v)

        update_pairs = _as_pairs(updates, "updates")
        self.update_targets = []
        update_vars = []
        for target, expr in update_pairs:
            if not isinstance(target, SharedVariable):
                raise SymgraphError(f"updates: {target!r} is not a shared variable" + where(target))
            if target in self.update_targets:
                raise SymgraphError(f"updates: shared variable {target} is updated twice")
            expr = as_tensor_variable(expr) if not isinstance(expr, Variable) else expr
            if not target.type.is_compatible(expr.type):
                raise GraphTypeError(
                    f"updates: the new value of {target} has type {expr.type}, but the shared variable "
                    f"has type {target.type}; cast it (e.g. expr.astype('{target.type.dtype}'))"
                    + where(expr)
                )
            self.update_targets.append(target)
            update_vars.append(expr)

        given_pairs = _as_pairs(givens, "givens")
        all_outputs = out_vars + update_vars
        if given_pairs:
            replace = {}
            for old, new in given_pairs:
                new = new if isinstance(new, Variable) else as_tensor_variable(new)
                if not isinstance(old, Variable):
                    raise SymgraphError(f"givens: {old!r} is not a variable")
                if not old.type.is_compatible(new.type):
                    raise GraphTypeError(f"givens: {old} has type {old.type}, its replacement {new} has type {new.type}")
                replace[old] = new
            all_outputs, _ = rebuild(all_outputs, replace)

        explicit = [i.variable for i in self.ins]
        # Shared variables with a default_update (random states) advance on
        # every call unless the caller updates them explicitly.
        while True:
            defaults = [(v, v.default_update) for v in ancestors(all_outputs, blockers=explicit)
                        if isinstance(v, SharedVariable) and getattr(v, "default_update", None) is not None
                        and v not in self.update_targets]
            if not defaults:
                break
            for target, expr in defaults:
                self.update_targets.append(target)
                update_vars.append(expr)
                all_outputs.append(expr)
        needed = ancestors(all_outputs, blockers=explicit)
        needed_set = set(needed)
        for i in self.ins:
            if i.variable not in needed_set:
                msg = (f"input {i.variable} (argument {self.ins.index(i)}) is not used to compute the "
                       f"outputs; pass on_unused_input='ignore' (or 'warn') to allow it" + where(i.variable))
                if on_unused_input == "raise":
                    raise UnusedInputError(msg)
                if on_unused_input == "warn":
                    warnings.warn(msg, stacklevel=3)
        shared_vars = []
        explicit_set = set(explicit)
        for v in needed:
            if v.owner is not None or v in explicit_set or isinstance(v, Constant):
                continue
            if isinstance(v, SharedVariable):
                shared_vars.append(v)
                continue
            raise MissingInputError(
                f"the graph needs a value for {v} ({v.type}), which is not an input of function(); "
                f"add it to the inputs or replace it with givens" + where(v)
            )
        for t in self.update_targets:
            if t not in shared_vars:
                shared_vars.append(t)
        self.shared_inputs = shared_vars
        self.n_outputs = len(out_vars)

        fgraph_inputs = explicit + shared_vars
        fgraph = FunctionGraph(fgraph_inputs, all_outputs, update_mapping={
            len(out_vars) + k: fgraph_inputs.index(t) for k, t in enumerate(self.update_targets)})
        self.maker_fgraph = fgraph
        self.backend_name = mode.backend_name
        self.backend = get_backend(self.backend_name)
        # A backend may start one-off work (the llvm backend's call builtins) that overlaps the rewrites.
        prepare = getattr(self.backend, "prepare", None)
        if prepare is not None:
            prepare()
        rewrite_graph(fgraph, mode)
        self.fgraph = fgraph
        self._run = self.backend.compile(fgraph, mode)
        self._copy_out, self._copy_updates = _outputs_to_copy(fgraph, self.outs, self.n_outputs)
        if getattr(self._run, "fresh_outputs", False):
            # The backend returns arrays it allocated for this call and nothing else.
            self._copy_out, self._copy_updates = [], []
        self._backend_checks = getattr(self._run, "checks_inputs", False)
        self._n_args = len(self.ins)
        self._update_index = [fgraph.inputs.index(t) for t in self.update_targets]
        # A backend that runs the whole call natively gives a builtin doing all of __call__ (it hands
        # whatever it cannot do, errors included, to __call__ itself).
        make = getattr(self._run, "native_function", None)
        native = None
        if make is not None and not self._copy_out and not self._copy_updates:
            native = make(self._n_args, self.shared_inputs, self.n_outputs, self.single_output,
                          functools.partial(_call_python, weakref.ref(self)), self.update_targets)
        if native is not None:
            self._native_call = native
            self.__class__ = _NativeFunction

    @property
    def inputs(self):
        return [i.variable for i in self.ins]

    @property
    def outputs(self):
        return [o.variable for o in self.outs]

    def _bind(self, args, kwargs):
        n = len(self.ins)
        if len(args) > n:
            raise ArgumentCountError(
                f"{self._label()} takes {n} argument{'s' * (n != 1)} "
                f"({', '.join(self._input_names())}), got {len(args)}"
            )
        values = list(args) + [None] * (n - len(args))
        given = [True] * len(args) + [False] * (n - len(args))
        for key, value in kwargs.items():
            for k, i in enumerate(self.ins):
                if i.name == key:
                    if given[k]:
                        raise ArgumentCountError(f"{self._label()}: argument {key!r} given twice")
                    values[k], given[k] = value, True
                    break
            else:
                raise ArgumentCountError(f"{self._label()}: no input named {key!r}")
        for k, i in enumerate(self.ins):
            if not given[k]:
                if not i.has_default:
                    missing = [self._input_names()[j] for j in range(n) if not given[j] and not self.ins[j].has_default]
                    raise ArgumentCountError(
                        f"{self._label()} takes {n} argument{'s' * (n != 1)} "
                        f"({', '.join(self._input_names())}); missing {', '.join(missing)}"
                    )
                values[k] = i.value
        return values

    def _input_names(self):
        return [i.name or f"<{i.variable.type}>" for i in self.ins]

    def _label(self):
        return f"function {self.name!r}" if self.name else "the function"

    def _filter(self, values):
        out = []
        for k, (i, v) in enumerate(zip(self.ins, values)):
            allow = i.allow_downcast if i.allow_downcast is not None else self.allow_input_downcast
            label = f"{i.name or 'argument'} (argument {k} of {self._label()})"
            try:
                v = i.variable.type.filter(v, name=label, allow_downcast=allow)
            except SymgraphError as e:
                raise type(e)(str(e) + where(i.variable)) from None
            out.append(v)
        return out

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != self._n_args:
            values = self._bind(args, kwargs)
        else:
            values = list(args)
        if not (self.trust_input or self._backend_checks):
            values = self._filter(values)
        if self.shared_inputs:
            values.extend([s.container[0] for s in self.shared_inputs])
        try:
            results = self._run(values)
        except InputMismatch:
            # The backend's own checks refused an input: convert as documented, then retry.
            n = self._n_args
            values = self._filter(values[:n]) + values[n:]
            results = self._run(values)
        n = self.n_outputs
        if self._copy_updates:
            for k in self._copy_updates:
                results[k] = np.array(results[k], copy=True)
        for target, new in zip(self.update_targets, results[n:]):
            target.container[0] = new
        if self._copy_out:
            results = results[:n]
            for k in self._copy_out:
                results[k] = np.array(results[k], copy=True)
        if self.single_output:
            return results[0]
        return results[:n] if len(results) != n else results

    def __reduce__(self):
        return (_rebuild_function, self._spec)

    def __repr__(self):
        return f"<symgraph Function {self.name or ''} {len(self.ins)} inputs -> {self.n_outputs} outputs>"


class _NativeFunction(Function):
    """A Function whose calls go straight to its native builtin (no Python frame in between)."""

    __call__ = property(operator.attrgetter("_native_call"))


def _call_python(ref, *args, **kwargs):
    # The builtin holds its function weakly (no reference cycle); it may outlive it only if kept apart.
    f = ref()
    if f is None:
        raise SymgraphError("this compiled function has been deleted; keep the Function, not its __call__")
    return Function.__call__(f, *args, **kwargs)


def _rebuild_function(inputs, outputs, updates, givens, mode, on_unused_input, name, allow_input_downcast):
    return function(inputs, outputs, updates, givens, mode, on_unused_input, name, allow_input_downcast)


def alias_root(var):
    """The variable whose memory ``var`` may share, following Ops' view maps."""
    while var.owner is not None:
        vm = getattr(var.owner.op, "view_map", {}).get(var.index)
        if not vm:
            return var
        var = var.owner.inputs[vm[0]]
    return var


def _outputs_to_copy(fgraph, outs, n_outputs):
    """Which results must be copied so no two owners share memory.

    An output that is (a view of) an input, a shared value or a constant, or
    that shares memory with another output or an updated shared value, is
    copied (``Out(borrow=True)`` waives it).  The same goes for new values of
    shared variables, so a shared variable never aliases the caller's arrays.
    Returns the indices of outputs and of all results (updates) to copy.
    """
    roots = [alias_root(v) for v in fgraph.outputs]
    seen = set()
    copy_updates = []
    for k in range(n_outputs, len(roots)):
        if roots[k].owner is None or roots[k] in seen:
            copy_updates.append(k)
        seen.add(roots[k])
    copy_out = []
    for k in range(n_outputs):
        root = roots[k]
        if (root.owner is None or root in seen) and not outs[k].borrow:
            copy_out.append(k)
        seen.add(root)
    return copy_out, copy_updates


__all__ = ["Function", "function", "In", "Out", "OrderedDict"]
