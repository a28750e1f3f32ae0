"""Back-propagation through time and forward mode for Scan, each as another Scan.

Reverse mode runs a loop backwards over the steps.  Its carried state is the
adjoint of each carried value plus a running sum of the parameters'
gradients; its step is the gradient graph of the forward body, so the result
is an ordinary Scan that can itself be differentiated.
"""

from ..gradient import disconnected_type, grad, Rop
from ..tensor import math as tm
from ..tensor.basic import alloc
from ..tensor.join import concatenate
from ..tensor.shape import shape_i, shape_tuple
from ..tensor.subtensor import set_subtensor
from ..tensor.type import DISCRETE_DTYPES
from .body import ScanBody


def _is_float(v):
    return v.dtype not in DISCRETE_DTYPES


def _fresh(var, name=None):
    return var.type.clone()(name)


def scan_grad(op, inputs, outputs, output_grads):
    from .op import Scan

    n_steps, seqs, inits, params = op.split_inputs(inputs)
    body = op.body
    C, Y = op.n_carry, op.n_ys
    g_carry, g_ys = output_grads[:C], output_grads[C:]

    # Histories of every carried value are needed to replay the steps backwards.
    if all(op.keep_history):
        hists = outputs[:C]
    else:
        full = Scan(body, (True,) * C, op.truncate_gradient, op.name)(*inputs)
        full = full if isinstance(full, list) else [full]
        hists = full[:C]
    g_hists = []
    for i in range(C):
        g = g_carry[i]
        if not op.keep_history[i]:
            g = set_subtensor(tm.zeros_like(hists[i])[-1], g)
        g_hists.append(g)

    if C:
        steps = shape_i(hists[0], 0)
    elif Y:
        steps = shape_i(outputs[C], 0)
    else:
        steps = n_steps

    carry_in = [concatenate([init.dimshuffle("x", *range(init.ndim)), h[:-1]]) if True else None
                for init, h in zip(inits, hists)]
    # Truncated BPTT replays only the last k steps.
    k = op.truncate_gradient
    n_rev = steps if k < 0 else tm.minimum(steps, k)

    def rev(v):
        return v[:steps][::-1][:n_rev]

    float_carry = [i for i in range(C) if _is_float(body.carry_slots[i])]
    float_params = [k_ for k_ in range(op.n_params) if _is_float(body.param_slots[k_])]
    float_seqs = [s for s in range(op.n_seqs) if _is_float(body.seq_slots[s])]

    # ---- the reverse step ----
    x_t = [_fresh(v, f"x{s}_t") for s, v in enumerate(body.seq_slots)]
    c_t = [_fresh(v, f"c{i}_t") for i, v in enumerate(body.carry_slots)]
    gh_t = [_fresh(body.carry_slots[i], f"gh{i}_t") for i in float_carry]
    gy_t = [_fresh(y, f"gy{j}_t") for j, y in enumerate(body.y_outs)]
    lam = [_fresh(body.carry_slots[i], f"lambda{i}") for i in float_carry]
    acc = [_fresh(body.param_slots[k_], f"acc{k_}") for k_ in float_params]
    p = [_fresh(v, f"p{k_}") for k_, v in enumerate(body.param_slots)]

    replaced = body.substitute(dict(zip(body.inputs, x_t + c_t + p)))
    new_carry, ys = replaced[:C], replaced[C:C + Y]
    known = {}

    def add_known(var, g):
        known[var] = known[var] + g if var in known else g

    for pos, i in enumerate(float_carry):
        add_known(new_carry[i], lam[pos] + gh_t[pos])
    for j, y in enumerate(ys):
        if _is_float(y):
            add_known(y, gy_t[j])
    wrt = [x_t[s] for s in float_seqs] + [c_t[i] for i in float_carry] + [p[k_] for k_ in float_params]
    if known and wrt:
        grads = grad(None, wrt, known_grads=known, disconnected_inputs="ignore")
    else:
        grads = [tm.zeros_like(w) for w in wrt]
    ns, nc = len(float_seqs), len(float_carry)
    dx, dc, dp = grads[:ns], grads[ns:ns + nc], grads[ns + nc:]
    rev_body = ScanBody(
        seq_slots=x_t + c_t + gh_t + gy_t,
        carry_slots=lam + acc,
        param_slots=p,
        carry_outs=[tm.cast(g, l.dtype) for g, l in zip(dc, lam)]
        + [tm.cast(a + g, a.dtype) for a, g in zip(acc, dp)],
        y_outs=[tm.cast(g, x.dtype) for g, x in zip(dx, [x_t[s] for s in float_seqs])],
    )
    rev_op = Scan(rev_body, keep_history=(False,) * (len(lam) + len(acc)), name=f"grad_of_{op.name or 'scan'}")
    rev_outs = rev_op(
        n_rev,
        *[rev(s) for s in seqs],
        *[rev(c) for c in carry_in],
        *[rev(g_hists[i]) for i in float_carry],
        *[rev(g) for g in g_ys],
        *[tm.zeros_like(inits[i]) for i in float_carry],
        *[tm.zeros_like(params[k_]) for k_ in float_params],
        *params,
    )
    rev_outs = rev_outs if isinstance(rev_outs, list) else [rev_outs]
    lam_final = rev_outs[:nc]
    acc_final = rev_outs[nc:nc + len(float_params)]
    dx_rev = rev_outs[nc + len(float_params):]

    result = [disconnected_type()]
    for s, seq in enumerate(seqs):
        if s not in float_seqs:
            result.append(tm.zeros_like(seq, dtype=_floatx()))
            continue
        d = dx_rev[float_seqs.index(s)][::-1]
        full = set_subtensor(tm.zeros_like(seq)[steps - n_rev:steps], d)
        result.append(full)
    for i, init in enumerate(inits):
        if i not in float_carry:
            result.append(tm.zeros_like(init, dtype=_floatx()))
            continue
        g = lam_final[float_carry.index(i)]
        if k >= 0:
            g = tm.switch(tm.ge(n_rev, steps), g, tm.zeros_like(g))
        result.append(g)
    for k_, param in enumerate(params):
        if k_ not in float_params:
            result.append(tm.zeros_like(param, dtype=_floatx()))
            continue
        result.append(acc_final[float_params.index(k_)])
    return result


def _floatx():
    from ..config import config

    return config.floatX


def scan_rop(op, inputs, eval_points):
    from .op import Scan

    n_steps, seqs, inits, params = op.split_inputs(inputs)
    _, ev_seqs, ev_inits, ev_params = op.split_inputs(list(eval_points))
    body = op.body
    C, Y = op.n_carry, op.n_ys

    def tangent(v, ev):
        return tm.zeros_like(v) if ev is None else ev

    x_t = [_fresh(v) for v in body.seq_slots]
    dx_t = [_fresh(v) for v in body.seq_slots]
    c = [_fresh(v) for v in body.carry_slots]
    dc = [_fresh(v) for v in body.carry_slots]
    p = [_fresh(v) for v in body.param_slots]
    dp = [_fresh(v) for v in body.param_slots]
    replaced = body.substitute(dict(zip(body.inputs, x_t + c + p)))
    new_carry, ys = replaced[:C], replaced[C:C + Y]
    wrt = x_t + c + p
    evs = dx_t + dc + dp
    tangents = Rop(new_carry + ys, wrt, evs, disconnected_outputs="zero") if (new_carry or ys) else []
    t_carry, t_ys = tangents[:C], tangents[C:]
    fwd_body = ScanBody(
        seq_slots=x_t + dx_t,
        carry_slots=c + dc,
        param_slots=p + dp,
        carry_outs=list(new_carry) + [tm.cast(t, v.dtype) for t, v in zip(t_carry, c)],
        y_outs=list(ys) + [tm.cast(t, y.dtype) for t, y in zip(t_ys, ys)],
        until=body.until if body.until is None else replaced[-1],
    )
    fwd = Scan(fwd_body, keep_history=op.keep_history * 2, name=f"rop_of_{op.name or 'scan'}")
    outs = fwd(
        n_steps,
        *seqs, *[tangent(s, e) for s, e in zip(seqs, ev_seqs)],
        *inits, *[tangent(i, e) for i, e in zip(inits, ev_inits)],
        *params, *[tangent(q, e) for q, e in zip(params, ev_params)],
    )
    outs = outs if isinstance(outs, list) else [outs]
    return outs[C:2 * C] + outs[2 * C + Y:]


__all__ = ["scan_grad", "scan_rop", "alloc", "shape_tuple"]
