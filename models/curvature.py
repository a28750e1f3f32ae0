"""Curvature tools over a model's parameters taken as one flat vector.

    curv = Curvature(loss, params, inputs=[x, y])
    H = curv.hessian(xv, yv)                        # dense (d, d) at the current values
    lam, _ = lanczos_top_eigenvalue(lambda v: curv.hvp(v, xv, yv), curv.size)
    report = certify_critical_point(curv, xv, yv)

Everything is compiled once per ``Curvature`` and evaluated at ``theta``
(default: the parameters' current values), so the tools work at points other
than where the shared variables sit (perturbations, line searches, sharpness).
"""

from dataclasses import dataclass

import numpy as np

import symgraph as sg
import symgraph.tensor as T


class Curvature:
    """Loss, gradient, Hessian and Hessian-vector products of ``loss`` w.r.t. ``params`` flattened.

    ``inputs`` are the loss's symbolic data inputs; every compiled function
    takes ``(*data, theta=None)``.
    """

    def __init__(self, loss, params, inputs=(), hvp_method="rop"):
        self.params = list(params)
        self.inputs = list(inputs)
        self.shapes = [p.get_value().shape for p in self.params]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.size = sum(self.sizes)
        self.theta = T.vector("theta", dtype=self.params[0].get_value().dtype)
        self.loss_expr = self.substitute([loss])[0]
        self.grad_expr = sg.grad(self.loss_expr, self.theta)
        self._v = T.vector("v", dtype=self.theta.dtype)
        self._hvp_method = hvp_method
        self._fns = {}

    # ---- flat views ---------------------------------------------------------------------------

    def substitute(self, outputs):
        """``outputs`` with each parameter replaced by its slice of ``theta``, reshaped."""
        replace, start = {}, 0
        for p, shape, n in zip(self.params, self.shapes, self.sizes):
            piece = self.theta[start:start + n]
            replace[p] = T.reshape(piece, shape) if shape != (n,) else piece
            start += n
        new, _ = sg.graph.rebuild(list(outputs), replace)
        return new

    def get_flat(self):
        return np.concatenate([p.get_value().ravel() for p in self.params])

    def set_flat(self, theta):
        start = 0
        for p, shape, n in zip(self.params, self.shapes, self.sizes):
            p.set_value(np.asarray(theta[start:start + n]).reshape(shape).copy())
            start += n

    def unflatten(self, vec):
        out, start = [], 0
        for shape, n in zip(self.shapes, self.sizes):
            out.append(np.asarray(vec[start:start + n]).reshape(shape))
            start += n
        return out

    # ---- compiled quantities ------------------------------------------------------------------

    def loss(self, *data, theta=None):
        return float(self._fn("loss", lambda: [self.loss_expr])(*self._args(theta, data))[0])

    def grad(self, *data, theta=None):
        return self._fn("grad", lambda: [self.grad_expr])(*self._args(theta, data))[0]

    def loss_and_grad(self, *data, theta=None):
        loss, g = self._fn("loss_grad", lambda: [self.loss_expr, self.grad_expr])(*self._args(theta, data))
        return float(loss), g

    def hessian(self, *data, theta=None):
        """The dense (d, d) Hessian (``sg.gradient.hessian``: one scan over gradient rows)."""
        return self._fn("hessian", lambda: [sg.gradient.hessian(self.loss_expr, self.theta)])(
            *self._args(theta, data))[0]

    def hvp(self, v, *data, theta=None):
        """H @ v (``sg.gradient.hessian_vector_product``), without forming H."""
        def build():
            return [sg.gradient.hessian_vector_product(self.loss_expr, self.theta, self._v,
                                                       method=self._hvp_method)]
        fn = self._fn("hvp", build, extra=[self._v])
        return fn(*self._args(theta, data), np.asarray(v, dtype=self.theta.dtype))[0]

    def _fn(self, key, build, extra=()):
        if key not in self._fns:
            self._fns[key] = sg.function([self.theta, *self.inputs, *extra], build(), on_unused_input="ignore")
        return self._fns[key]

    def _args(self, theta, data):
        theta = self.get_flat() if theta is None else np.asarray(theta, dtype=self.theta.dtype)
        return (theta, *data)


# ---- eigenvalues from Hessian-vector products ---------------------------------------------------

def lanczos(matvec, dim, k=20, rng=None, v0=None):
    """k steps of Lanczos with full reorthogonalisation: Ritz values (ascending) and vectors.

    ``matvec`` is any symmetric linear map (a compiled HVP); k is capped at ``dim``.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    k = min(k, dim)
    Q = np.zeros((dim, k))
    alpha, beta = np.zeros(k), np.zeros(k)
    q = rng.normal(size=dim) if v0 is None else np.array(v0, dtype=float)
    q = q / np.linalg.norm(q)
    m = k
    for j in range(k):
        Q[:, j] = q
        w = np.asarray(matvec(q), dtype=float)
        alpha[j] = q @ w
        w = w - Q[:, :j + 1] @ (Q[:, :j + 1].T @ w)       # twice: keeps Q orthogonal in floating point
        w = w - Q[:, :j + 1] @ (Q[:, :j + 1].T @ w)
        beta[j] = np.linalg.norm(w)
        if beta[j] < 1e-12 * max(1.0, abs(alpha[j])):     # invariant subspace found: the Ritz values are exact
            m = j + 1
            break
        q = w / beta[j]
    Tm = np.diag(alpha[:m]) + np.diag(beta[:m - 1], 1) + np.diag(beta[:m - 1], -1)
    vals, vecs = np.linalg.eigh(Tm)
    return vals, Q[:, :m] @ vecs


def lanczos_top_eigenvalue(matvec, dim, k=20, rng=None):
    """The largest (algebraic) eigenvalue and its Ritz vector."""
    vals, vecs = lanczos(matvec, dim, k, rng)
    return float(vals[-1]), vecs[:, -1]


def power_iteration(matvec, dim, iters=100, tol=1e-10, rng=None):
    """The eigenvalue of largest magnitude (sign kept) and its vector, by repeated products."""
    rng = rng if rng is not None else np.random.default_rng(0)
    v = rng.normal(size=dim)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(iters):
        w = np.asarray(matvec(v), dtype=float)
        lam_new = float(v @ w)
        norm = np.linalg.norm(w)
        if norm == 0:
            return 0.0, v
        v = w / norm
        if abs(lam_new - lam) <= tol * max(1.0, abs(lam_new)):
            lam = lam_new
            break
        lam = lam_new
    return lam, v


# ---- sharpness and critical points ---------------------------------------------------------------

@dataclass
class Sharpness:
    value: float          # Keskar et al.'s 100 (max f(x + y) - f(x)) / (1 + f(x))
    increase: float       # max f(x + y) - f(x)
    base_loss: float


def epsilon_sharpness(curv: Curvature, *data, eps=1e-3, steps=10, step_fraction=0.25, theta=None, rng=None,
                      method="sign"):
    """Keskar et al. (2017) sharpness in the box |y_i| <= eps (|x_i| + 1).

    The maximisation starts from a random point of the box (at a critical
    point the gradient alone would not move).  ``method="lbfgsb"`` is the
    paper's maximiser: SciPy's L-BFGS-B on the box bounds, at most ``steps``
    iterations.  ``method="sign"`` is a cheaper approximation: ``steps``
    projected signed-gradient ascent steps of ``step_fraction`` of the box.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    x = curv.get_flat() if theta is None else np.asarray(theta, dtype=float)
    box = eps * (np.abs(x) + 1.0)
    base = curv.loss(*data, theta=x)
    y = rng.uniform(-0.5, 0.5, size=x.shape) * box
    if method == "lbfgsb":
        best = _lbfgsb_box_max(curv, data, x, y, box, steps, base)
    elif method == "sign":
        best = base
        for _ in range(steps):
            f, g = curv.loss_and_grad(*data, theta=x + y)
            best = max(best, f)
            y = np.clip(y + step_fraction * box * np.sign(g), -box, box)
        best = max(best, curv.loss(*data, theta=x + y))
    else:
        raise ValueError(f"epsilon_sharpness: method must be 'sign' or 'lbfgsb', got {method!r}")
    return Sharpness(100.0 * (best - base) / (1.0 + base), best - base, base)


def _lbfgsb_box_max(curv, data, x, y0, box, maxiter, base):
    """Largest loss L-BFGS-B finds on ``x + y``, ``|y| <= box``; every evaluated point counts."""
    from scipy.optimize import Bounds, minimize

    best = [base]

    def negative(y):
        f, g = curv.loss_and_grad(*data, theta=x + y)
        best[0] = max(best[0], f)
        return -f, -np.asarray(g, dtype=float)

    minimize(negative, y0, jac=True, method="L-BFGS-B", bounds=Bounds(-box, box), options={"maxiter": maxiter})
    return best[0]


@dataclass
class CriticalPoint:
    loss: float
    grad_norm: float
    eigenvalues: np.ndarray
    n_positive: int
    n_negative: int
    n_zero: int
    kind: str                      # 'minimum', 'saddle', 'maximum', 'degenerate' or 'not critical'
    perturbation_min_increase: float = None   # min over random perturbations of f(x + r) - f(x)

    @property
    def index(self):
        """Fraction of negative eigenvalues (Dauphin et al.'s index)."""
        return self.n_negative / len(self.eigenvalues)


def certify_critical_point(curv: Curvature, *data, theta=None, grad_tol=1e-5, eig_tol=1e-6,
                           n_perturb=0, radius=1e-3, rng=None):
    """Classify the point by gradient norm and the signs of the dense Hessian's eigenvalues.

    Zero eigenvalues (flat directions, common in ReLU nets) make the Hessian test
    inconclusive; ``n_perturb`` random perturbations of norm ``radius`` then
    check that no nearby point is lower ('minimum' if none is).
    """
    theta = curv.get_flat() if theta is None else np.asarray(theta, dtype=float)
    loss, g = curv.loss_and_grad(*data, theta=theta)
    eig = np.linalg.eigvalsh(curv.hessian(*data, theta=theta))
    pos, neg = int((eig > eig_tol).sum()), int((eig < -eig_tol).sum())
    zero = len(eig) - pos - neg
    gnorm = float(np.linalg.norm(g))
    min_increase = None
    if n_perturb:
        rng = rng if rng is not None else np.random.default_rng(0)
        incs = []
        for _ in range(n_perturb):
            r = rng.normal(size=theta.shape)
            incs.append(curv.loss(*data, theta=theta + radius * r / np.linalg.norm(r)) - loss)
        min_increase = float(min(incs))
    if gnorm > grad_tol:
        kind = "not critical"
    elif neg and pos:
        kind = "saddle"
    elif neg:
        kind = "maximum" if not zero else "degenerate"
    elif zero:
        kind = "minimum" if (min_increase is not None and min_increase >= -eig_tol) else "degenerate"
    else:
        kind = "minimum"
    return CriticalPoint(loss, gnorm, eig, pos, neg, zero, kind, min_increase)


# ---- per-example gradients -----------------------------------------------------------------------

def per_example_gradients(loss, params, inputs):
    """Symbolic (n, d) matrix: row i is the flat gradient of ``loss`` on example i alone.

    ``loss`` is a mean or sum over a batch whose examples are axis 0 of every
    tensor in ``inputs``; a scan runs the loss on each one-example batch.
    """
    params, inputs = list(params), list(inputs)

    def one(*rows):
        batch1 = {v: T.shape_padleft(r) for v, r in zip(inputs, rows)}
        (li,), _ = sg.graph.rebuild([loss], batch1)
        return T.concatenate([T.flatten(g) for g in sg.grad(li, params)])

    out, _ = sg.scan(one, sequences=inputs, name="per_example_grad")
    return out


def dense_per_example_gradients(total_loss, layer_input, preactivation):
    """Goodfellow's trick for ``z = h W + b``: per-example dL_i/dW = h_i^T dz_i, dL_i/db = dz_i.

    ``total_loss`` must be the *sum* of per-example losses; returns symbolic
    (n, n_in, n_out) and (n, n_out) without a loop.
    """
    dz = sg.grad(total_loss, preactivation)
    return layer_input.dimshuffle(0, 1, "x") * dz.dimshuffle(0, "x", 1), dz


# ---- saddle-free Newton directions ----------------------------------------------------------------

def saddle_free_direction(H, g, damping=0.0):
    """Dauphin et al.'s step ``-(|H| + damping I)^-1 g`` with ``|H| = V |Lambda| V^T``."""
    w, V = np.linalg.eigh(H)
    return -V @ ((V.T @ g) / (np.abs(w) + damping))


def krylov_saddle_free_direction(matvec, g, k=10, damping=0.0, rng=None):
    """The saddle-free step restricted to the k-dimensional Krylov subspace of H started at ``g``.

    Lanczos from ``g`` gives an orthonormal basis Q and Ritz pairs (theta, s);
    the step is ``-Q S (|theta| + damping)^-1 S^T Q^T g`` (the scalable variant).
    """
    vals, vecs = lanczos(matvec, len(g), k=k, rng=rng, v0=g)
    return -vecs @ ((vecs.T @ g) / (np.abs(vals) + damping))
