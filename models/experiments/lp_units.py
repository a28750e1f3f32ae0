"""Paper 22: learned-norm pooling (Lp units) vs maxout and ReLU on curved boundaries and digits."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from ..harness import Result, check, experiment

DOMAIN = 2.0                     # (a) inputs uniform on [-2, 2]^2
MODELS_A = ("learned-p Lp", "maxout", "fixed p=2 Lp")
MODELS_B = ("Lp", "maxout", "ReLU")
# (b) widths giving equal parameter counts for 64-H-10 nets (7017, 7010 and 6985 parameters)
WIDTHS_B = {"Lp": 49, "maxout": 50, "ReLU": 93}
RHO_LR_B = 3e-2                  # (b) Adam lr of rho (10x the weights'); see the note in run()


@experiment("lp-units", paper="22. Learned-Norm Pooling (Gulcehre et al. 2014)",
            claim="Lp units with a learned p per unit model curved boundaries with 2 units far better than "
                  "maxout, and match maxout on digits at equal parameter count with a spread of learned p",
            runtime="25 s")
def run(config):
    seeds = list(config.seeds)
    steps_a = config.size(3000, 200)
    epochs_b = config.size(60, 3)
    rows, notes = [], []

    # ---- (a) 2-D boundaries, 2 hidden units of 2 pieces
    trainers_a = {m: _BoundaryNet(m) for m in MODELS_A}
    errors_a, p_learned_a, boundary_plot = {}, {}, {}
    for shape in ("circle", "superellipse"):
        for seed in seeds:
            Xtr, ytr = _boundary_data(shape, 1000, seed)
            Xte, yte = _boundary_data(shape, 20000, seed + 10_000)
            for m, net in trainers_a.items():
                net.fit(Xtr, ytr, steps_a, seed)
                errors_a.setdefault((shape, m), []).append(net.error(Xte, yte))
                if m == "learned-p Lp":
                    p_learned_a.setdefault(shape, []).append(net.hidden.p_values().tolist())
                if seed == seeds[0]:
                    boundary_plot[(shape, m)] = net.grid_probs()
        for m in MODELS_A:
            errs = errors_a[(shape, m)]
            rows.append({"part": "(a)", "task": shape, "model": m, "params": trainers_a[m].n_params,
                         "median test error": float(np.median(errs)), "mean test error": float(np.mean(errs)),
                         "learned p (seed 0)": _fmt_p(p_learned_a[shape][0]) if m == "learned-p Lp" else "",
                         "mean test acc": "", "p std": ""})
    grad_err_a = _dp_check(trainers_a["learned-p Lp"], _boundary_data("superellipse", 200, 99)[0],
                           _boundary_data("superellipse", 200, 99)[1])

    # ---- (b) digits MLPs of equal parameter count
    from symgraph.models import data

    trainers_b = {m: _DigitsNet(m) for m in MODELS_B}
    acc_b, p_std_b, p_vals_b = {}, [], []
    for seed in seeds:
        d = data.load_digits(seed=seed)
        for m, net in trainers_b.items():
            net.fit(d.train, epochs_b, seed)
            acc_b.setdefault(m, []).append(net.accuracy(d.test))
            if m == "Lp":
                p = net.hidden.p_values()
                p_vals_b.append(p.tolist())
                p_std_b.append(float(np.std(p)))
    d0 = data.load_digits(seed=seeds[0])
    grad_err_b = _dp_check(trainers_b["Lp"], d0.test.x[:100], d0.test.y[:100])
    for m in MODELS_B:
        rows.append({"part": "(b)", "task": "digits 64-H-10", "model": f"{m} (H={WIDTHS_B[m]})",
                     "params": trainers_b[m].n_params, "median test error": "", "mean test error": "",
                     "learned p (seed 0)": "", "mean test acc": float(np.mean(acc_b[m])),
                     "p std": float(np.median(p_std_b)) if m == "Lp" else ""})

    med = {k: float(np.median(v)) for k, v in errors_a.items()}
    ratio = {s: med[(s, "learned-p Lp")] / max(med[(s, "maxout")], 1e-12) for s in ("circle", "superellipse")}
    grad_err = max(grad_err_a, grad_err_b)
    acc_gap = 100 * (np.mean(acc_b["Lp"]) - np.mean(acc_b["maxout"]))
    criteria = [
        check("dL/dp matches finite differences", grad_err, "<=", 1e-5,
              "max |symbolic - central FD| of the training loss w.r.t. p, trained (a) and (b) nets"),
        check("(a) circle: learned-p vs maxout", ratio["circle"], "<=", 0.5,
              "median test error ratio learned-p / maxout"),
        check("(a) superellipse: learned-p vs maxout", ratio["superellipse"], "<=", 0.5,
              "median test error ratio learned-p / maxout"),
        check("(b) Lp accuracy vs maxout", float(acc_gap), ">=", -0.5,
              "mean test accuracy Lp - maxout (points)"),
        check("(b) learned p spread", float(np.median(p_std_b)), ">", 0.3,
              "median over seeds of the std of the 49 learned p"),
    ]
    notes += [
        (f"seeds {seeds}; (a) judged on medians over seeds of the test error (20000 uniform points), (b) on the "
        "mean test accuracy over seeds and the median over seeds of the per-net std of learned p"),
        (f"(a) 1000 training points uniform on [-{DOMAIN}, {DOMAIN}]^2, noiseless labels; circle x^2 + y^2 <= "
        "1.6^2; superellipse |u/1.6|^4 + |v/1.1|^4 <= 1 in coordinates rotated by 30 deg and shifted by "
        f"(0.2, -0.1); net 2 -> 2 hidden units (2 pieces each) -> sigmoid; full-batch Adam lr 0.02, "
        f"{steps_a} steps, logistic loss; p initialised at 2"),
        (f"(b) 64-H-10 nets, H = {WIDTHS_B}, 2 pieces per Lp/maxout unit; Adam lr 3e-3 (rho: {RHO_LR_B}), "
        f"batch 64, {epochs_b} epochs; p initialised at 2 for every unit (the spread is learned)"),
        "Lp units use |u| ~ sqrt(u^2 + 1e-16) and factor out the group max (see models/nn/lp.py)",
    ]
    metrics = {
        "boundary_test_error": {f"{s} / {m}": v for (s, m), v in errors_a.items()},
        "boundary_median_error": {f"{s} / {m}": v for (s, m), v in med.items()},
        "boundary_error_ratio": ratio, "boundary_learned_p": p_learned_a,
        "digits_test_accuracy": acc_b, "digits_learned_p": p_vals_b, "digits_p_std": p_std_b,
        "digits_param_counts": {m: trainers_b[m].n_params for m in MODELS_B},
        "dp_fd_error": {"boundary": grad_err_a, "digits": grad_err_b},
    }
    return Result(metrics=metrics, table=rows, criteria=criteria, notes=notes,
                  figures={"boundaries": _plot(boundary_plot), "digits_p": _plot_p(p_vals_b)},
                  budget={"boundary_steps": steps_a, "digits_epochs": epochs_b, "seeds": seeds})


# ---- data -------------------------------------------------------------------------------------------

def _inside(shape, X):
    if shape == "circle":
        return np.sum(X ** 2, axis=1) <= 1.6 ** 2
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    Z = X - np.array([0.2, -0.1])
    u, v = c * Z[:, 0] + s * Z[:, 1], -s * Z[:, 0] + c * Z[:, 1]
    return np.abs(u / 1.6) ** 4 + np.abs(v / 1.1) ** 4 <= 1.0


def _boundary_data(shape, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-DOMAIN, DOMAIN, size=(n, 2)).astype(sg.config.floatX)
    return X, _inside(shape, X).astype(sg.config.floatX)


# ---- models -----------------------------------------------------------------------------------------

def _hidden_layer(kind, n_in, n_out, rng, name):
    from symgraph.models import nn

    if kind in ("learned-p Lp", "fixed p=2 Lp", "Lp"):
        return nn.Lp(n_in, n_out, pieces=2, p_init=2.0, rng=rng, name=name)
    if kind == "maxout":
        return nn.Maxout(n_in, n_out, pieces=2, rng=rng, name=name)
    return nn.Dense(n_in, n_out, activation=T.nnet.relu, rng=rng, init=nn.he_uniform, name=name)


class _Net:
    """A hidden layer and a linear readout, compiled once; ``_reset(seed)`` re-draws the weights."""

    def __init__(self, kind, n_in, n_hidden, n_out, lr, rho_lr=None):
        from symgraph.models import nn, optim

        self.kind, self.shape_args = kind, (n_in, n_hidden, n_out)
        rng = np.random.default_rng(0)
        self.hidden = _hidden_layer(kind, n_in, n_hidden, rng, f"lp22_{kind}_h")
        self.out = nn.Dense(n_hidden, n_out, rng=rng, name=f"lp22_{kind}_o")
        self.params = nn.Params().extend(self.hidden.params).extend(self.out.params)
        if kind == "fixed p=2 Lp":
            self.params.freeze(self.hidden.rho)
        self.n_params = self.params.count(trainable_only=True)
        self.opt = optim.Adam(lr=lr)
        trainable = self.params.list()
        rho = getattr(self.hidden, "rho", None)
        if rho_lr is not None and any(q is rho for q in trainable):
            # rho is one shape parameter per unit fed by the whole unit's statistics: it moves on a slower
            # scale than the weights and gets its own learning rate
            self.groups = [{"params": [q for q in trainable if q is not rho]}, {"params": [rho], "lr": rho_lr}]
        else:
            self.groups = trainable

    def logits(self, x):
        return self.out(self.hidden(x))

    def _reset(self, seed):
        from symgraph.models import nn

        rng = np.random.default_rng(seed)
        n_in, n_hidden, n_out = self.shape_args
        fresh = nn.Params().extend(_hidden_layer(self.kind, n_in, n_hidden, rng, "fresh_h").params) \
            .extend(nn.Dense(n_hidden, n_out, rng=rng, name="fresh_o").params)
        for p, q in zip(self.params.all(), fresh.all(), strict=True):
            p.set_value(q.get_value())
        self.opt.reset()


class _BoundaryNet(_Net):
    def __init__(self, kind):
        super().__init__(kind, 2, 2, 1, lr=0.02)
        x, y = T.matrix("x"), T.vector("y")
        z = self.logits(x)[:, 0]
        self.loss = T.mean(T.nnet.softplus(z) - y * z)          # logistic loss on the logit
        self.x, self.y = x, y
        self._step = sg.function([x, y], [], updates=self.opt.updates(self.loss, self.groups))
        self._logit = sg.function([x], z)

    def fit(self, X, y, steps, seed):
        self._reset(seed)
        for _ in range(steps):
            self._step(X, y)

    def error(self, X, y):
        return float(np.mean((self._logit(X) > 0) != (y > 0.5)))

    def grid_probs(self, n=200):
        g = np.linspace(-DOMAIN, DOMAIN, n)
        X = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
        return self._logit(X).reshape(n, n)


class _DigitsNet(_Net):
    def __init__(self, kind):
        super().__init__(kind, 64, WIDTHS_B[kind], 10, lr=3e-3, rho_lr=RHO_LR_B)
        x, y = T.matrix("x"), T.ivector("y")
        logits = self.logits(x)
        self.loss = T.nnet.categorical_crossentropy(T.nnet.softmax(logits), y).mean()
        self.x, self.y = x, y
        self._step = sg.function([x, y], [], updates=self.opt.updates(self.loss, self.groups))
        self._pred = sg.function([x], T.argmax(logits, axis=1))

    def fit(self, split, epochs, seed):
        from symgraph.models.data import minibatches

        self._reset(seed)
        rng = np.random.default_rng(seed + 500)
        for _ in range(epochs):
            for xb, yb in minibatches(split, 64, rng):
                self._step(xb, yb)

    def accuracy(self, split):
        return float(np.mean(self._pred(split.x) == split.y))


def _dp_check(net, X, y, h=1e-6):
    """Max |d loss/dp (symbolic) - central finite difference| at the net's current p."""
    from symgraph.models.nn.lp import lp_pool

    layer = net.hidden
    p = T.vector("p")
    hid = lp_pool(layer.pre_pool(net.x), p, layer.eps)
    z = net.out(hid)
    if isinstance(net, _BoundaryNet):
        z = z[:, 0]
        loss = T.mean(T.nnet.softplus(z) - net.y * z)
    else:
        loss = T.nnet.categorical_crossentropy(T.nnet.softmax(z), net.y).mean()
    f = sg.function([net.x, net.y, p], loss)
    g = sg.function([net.x, net.y, p], sg.grad(loss, p))
    p0 = layer.p_values()
    analytic = g(X, y, p0)
    numeric = np.zeros_like(p0)
    for i in range(len(p0)):
        e = np.zeros_like(p0)
        e[i] = h
        numeric[i] = (f(X, y, p0 + e) - f(X, y, p0 - e)) / (2 * h)
    return float(np.max(np.abs(analytic - numeric)))


def _fmt_p(ps):
    return ", ".join(f"{v:.2f}" for v in ps)


# ---- plots ------------------------------------------------------------------------------------------

def _plot(boundary_plot):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.3))
    g = np.linspace(-DOMAIN, DOMAIN, 200)
    G = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    colors = dict(zip(MODELS_A, ("C0", "C3", "C2")))
    for ax, shape in zip(axes, ("circle", "superellipse")):
        ax.contour(g, g, _inside(shape, G).reshape(200, 200).astype(float), levels=[0.5], colors="k",
                   linewidths=2)
        for m in MODELS_A:
            if (shape, m) in boundary_plot:
                ax.contour(g, g, boundary_plot[(shape, m)], levels=[0.0], colors=colors[m], linewidths=1)
                ax.plot([], [], color=colors[m], label=m)
        ax.plot([], [], color="k", lw=2, label="true")
        ax.set_title(f"(a) {shape}, 2 hidden units (first seed)")
        ax.set_aspect("equal")
        ax.legend(fontsize=7, loc="lower left")
    return fig


def _plot_p(p_vals):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for i, ps in enumerate(p_vals):
        ax.hist(ps, bins=20, alpha=0.5, label=f"seed #{i}")
    ax.axvline(2.0, color="k", ls="--", lw=1, label="initial p")
    ax.set_xlabel("learned p")
    ax.set_ylabel("units")
    ax.set_title("(b) digits: learned p of the 49 Lp units")
    ax.legend(fontsize=8)
    return fig
