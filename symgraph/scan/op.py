"""The Scan Op: a structured loop over a closed body and a tuple of carried state.

Outer inputs are ``[n_steps, *sequences, *initial_carries, *parameters]``;
outer outputs are, per carried value, its history (one row per step) or,
where ``keep_history`` is False, only its final value, then the stacked
per-step outputs.  Every user-facing form (taps, several initial values,
``go_backwards``, shared-variable updates) is normalised into this one by
``symgraph.scan.builder``; the gradient and R_op build new Scans of the same
form, so they can be differentiated again.
"""

import weakref

import numpy as np

from ..errors import GraphTypeError, InputShapeError, SymgraphError, where
from ..graph.basic import Apply
from ..graph.op import Op, ShapeNotImplemented
from ..tensor.type import DISCRETE_DTYPES, TensorType
from ..tensor.variable import as_tensor_variable


class Scan(Op):
    __props__ = ("body", "n_seqs", "n_carry", "keep_history", "truncate_gradient", "name")

    def __init__(self, body, keep_history=None, truncate_gradient=-1, name=None):
        self.body = body
        self.n_seqs = len(body.seq_slots)
        self.n_carry = len(body.carry_slots)
        self.n_params = len(body.param_slots)
        self.n_ys = len(body.y_outs)
        self.has_until = body.until is not None
        if keep_history is None:
            keep_history = (True,) * self.n_carry
        self.keep_history = tuple(bool(k) for k in keep_history)
        self.truncate_gradient = int(truncate_gradient)
        self.name = name

    def __str__(self):
        return f"Scan{{{self.name or 'scan'}}}"

    # ---- building -----------------------------------------------------------------------

    def split_inputs(self, inputs):
        s, c = self.n_seqs, self.n_carry
        return inputs[0], inputs[1:1 + s], inputs[1 + s:1 + s + c], inputs[1 + s + c:]

    def make_node(self, n_steps, *rest):
        from ..tensor.math import cast

        rest = [as_tensor_variable(r) for r in rest]
        if len(rest) != self.n_seqs + self.n_carry + self.n_params:
            raise GraphTypeError(f"{self}: expected {self.n_seqs + self.n_carry + self.n_params} inputs "
                                 f"after n_steps, got {len(rest)}")
        n_steps = cast(as_tensor_variable(n_steps), "int64")
        seqs = rest[:self.n_seqs]
        inits = rest[self.n_seqs:self.n_seqs + self.n_carry]
        params = rest[self.n_seqs + self.n_carry:]
        body = self.body
        for seq, slot in zip(seqs, body.seq_slots):
            if seq.ndim != slot.ndim + 1 or seq.dtype != slot.dtype:
                raise GraphTypeError(f"{self}: sequence {seq} of type {seq.type} does not fit the step's "
                                     f"slice type {slot.type}" + where(seq))
        for init, slot in zip(inits, body.carry_slots):
            if not slot.type.is_compatible(init.type):
                raise GraphTypeError(f"{self}: initial value {init} of type {init.type} does not fit the "
                                     f"carried type {slot.type}" + where(init))
        for p, slot in zip(params, body.param_slots):
            if not slot.type.is_compatible(p.type):
                raise GraphTypeError(f"{self}: parameter {p} of type {p.type} does not fit {slot.type}"
                                     + where(p))
        outs = []
        for keep, slot in zip(self.keep_history, body.carry_slots):
            outs.append(TensorType(slot.dtype, ((None,) if keep else ()) + slot.type.shape)())
        for y in body.y_outs:
            outs.append(TensorType(y.dtype, (None,) + y.type.shape)())
        return Apply(self, [n_steps] + seqs + inits + params, outs)

    # ---- running ------------------------------------------------------------------------

    def inner_graph(self, backend="numpy"):
        """The body rewritten for ``backend`` (a FunctionGraph), made once per body and backend."""
        cache = _compiled_bodies.setdefault(self.body, {})
        if ("graph", backend) not in cache:
            from ..compile.inner import rewrite_inner

            cache["graph", backend] = rewrite_inner(self.body.inputs, self.body.outputs, backend)
        return cache["graph", backend]

    def inner_function(self, backend="numpy"):
        """The body compiled by ``backend``, as ``run(values) -> values``; one per body and backend."""
        cache = _compiled_bodies.setdefault(self.body, {})
        if ("run", backend) not in cache:
            from ..compile.inner import compile_inner

            cache["run", backend] = compile_inner(self.body.inputs, self.body.outputs, backend,
                                                  fgraph=self.inner_graph(backend))
        return cache["run", backend]

    def perform(self, node, inputs, output_storage):
        self.perform_on("numpy", node, inputs, output_storage)

    def perform_on(self, backend, node, inputs, output_storage):
        """``perform`` with the body compiled by ``backend`` (a backend running the loop from Python)."""
        n_steps, seqs, carry, params = self.split_inputs(inputs)
        n_steps = int(n_steps)
        if n_steps < 0:
            raise InputShapeError(f"{self}: n_steps must be >= 0, got {n_steps}" + where(node.outputs[0]))
        for k, s in enumerate(seqs):
            if s.shape[0] < n_steps:
                raise InputShapeError(f"{self}: sequence {k} has {s.shape[0]} entries, fewer than the "
                                      f"{n_steps} steps" + where(node.inputs[1 + k]))
        run = self.inner_function(backend)
        # s[t] of a vector is a NumPy scalar; native bodies take 0-d arrays (s[t, ...]).
        plain = backend == "numpy"
        C = self.n_carry
        carry = list(carry)
        params = list(params)
        hists = [np.empty((n_steps,) + c.shape, dtype=c.dtype) if keep else None
                 for c, keep in zip(carry, self.keep_history)]
        ys = None
        steps = n_steps
        for t in range(n_steps):
            outs = run([s[t] if plain else s[t, ...] for s in seqs] + carry + params)
            for i in range(C):
                new = outs[i]
                if new.shape != carry[i].shape:
                    raise InputShapeError(
                        f"{self}: step {t} changed the shape of carried value {i} from {carry[i].shape} "
                        f"to {new.shape}; a carried value keeps its shape" + where(self.body.carry_outs[i]))
                carry[i] = new
                if hists[i] is not None:
                    hists[i][t] = new
            if ys is None:
                ys = [np.empty((n_steps,) + np.shape(y), dtype=v.dtype)
                      for y, v in zip(outs[C:C + self.n_ys], self.body.y_outs)]
            for buf, y in zip(ys, outs[C:C + self.n_ys]):
                if np.shape(y) != buf.shape[1:]:
                    raise InputShapeError(f"{self}: step {t} output has shape {np.shape(y)}, earlier steps "
                                          f"{buf.shape[1:]}; per-step outputs keep their shape")
                buf[t] = y
            if self.has_until and bool(outs[-1]):
                steps = t + 1
                break
        if ys is None:
            ys = [np.empty((0,) + shape, dtype=v.dtype)
                  for shape, v in zip(self._empty_y_shapes(run, seqs, carry, params), self.body.y_outs)]
        k = 0
        for i in range(C):
            if self.keep_history[i]:
                output_storage[k][0] = hists[i][:steps] if steps < n_steps else hists[i]
            else:
                output_storage[k][0] = np.array(carry[i], copy=True)
            k += 1
        for buf in ys:
            output_storage[k][0] = buf[:steps] if steps < buf.shape[0] else buf
            k += 1

    def _empty_y_shapes(self, run, seqs, carry, params):
        """Per-step output shapes for a loop of zero steps, from one trial step on zeros."""
        probe = [np.zeros(s.shape[1:], dtype=s.dtype) for s in seqs] + list(carry) + list(params)
        try:
            outs = run(probe)
            return [np.shape(y) for y in outs[self.n_carry:self.n_carry + self.n_ys]]
        except Exception:  # noqa: BLE001  (a probe that fails gives shapes of zeros, as before)
            return [(0,) * y.ndim for y in self.body.y_outs]

    def infer_shape(self, fgraph, node, input_shapes):
        from ..graph.traversal import ancestors
        from ..tensor.shape_inference import symbolic_shapes

        if self.has_until:
            raise ShapeNotImplemented(self)
        n_steps = node.inputs[0]
        _, seq_shapes, init_shapes, param_shapes = self.split_inputs(list(input_shapes))
        body = self.body
        cache = {}
        for slot, shp in zip(body.seq_slots, seq_shapes):
            cache[slot] = tuple(shp[1:])
        for slot, shp in zip(body.carry_slots, init_shapes):
            cache[slot] = tuple(shp)
        for slot, shp in zip(body.param_slots, param_shapes):
            cache[slot] = tuple(shp)
        out = []
        for keep, shp in zip(self.keep_history, init_shapes):
            out.append(((n_steps,) if keep else ()) + tuple(shp))
        if body.y_outs:
            shapes = symbolic_shapes(body.y_outs, cache=cache)
            inner = set(body.inputs)
            for y in body.y_outs:
                dims = shapes[y]
                inner_vars = _inner_vars(body)
                if any(v in inner or v in inner_vars for d in dims for v in ancestors([d])):
                    raise ShapeNotImplemented(self)
                out.append((n_steps,) + tuple(dims))
        return out

    # ---- differentiation ------------------------------------------------------------------

    def L_op(self, inputs, outputs, output_grads):
        from .grad import scan_grad

        return scan_grad(self, inputs, outputs, output_grads)

    def R_op(self, inputs, eval_points):
        from .grad import scan_rop

        return scan_rop(self, inputs, eval_points)

    def connection_pattern(self, node):
        pattern = [[False] * len(node.outputs)]
        pattern += [[True] * len(node.outputs) for _ in node.inputs[1:]]
        return pattern


# body -> {("graph" | "run", backend): ...}: a body rebuilt into another Scan (scan_save_memory
# changes only keep_history) keeps its compiled forms.
_compiled_bodies = weakref.WeakKeyDictionary()


def _inner_vars(body):
    from ..graph.traversal import ancestors

    cached = getattr(body, "_inner_vars", None)
    if cached is None:
        cached = set(ancestors(body.outputs)) - set(body.inputs)
        body._inner_vars = cached
    return cached


def float_like(v):
    return v.dtype not in DISCRETE_DTYPES


class ScanError(SymgraphError, ValueError):
    pass
