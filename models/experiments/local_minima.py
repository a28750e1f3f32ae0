"""Paper 14: finite datasets and initialisations on which gradient descent sticks in bad local minima."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from ..harness import Result, check, experiment

WIDTHS = (2, 3)


@experiment("local-minima", paper="14. Local minima in training of neural networks (Swirszcz et al. 2016)",
            claim="full-batch GD on a tiny ReLU regression gets stuck in certified bad minima from many "
                  "initialisations; a dead-ReLU initialisation blinds a digits MLP",
            runtime="10 s")
def run(config):
    n_inits = config.size(200, 24) // len(WIDTHS)     # 200 initialisations in all, split over the widths
    steps = config.size(6000, 600)
    seed0 = config.seeds[0]
    X, y = _dataset(seed0)
    rows, part_a = [], {}
    for h in WIDTHS:
        theta, losses = _train_many(X, y, h, n_inits, steps, lr=0.05, seed=seed0 + h)
        reports = _certify(X, y, h, theta)
        stuck = [r.kind == "minimum" and r.loss >= 0.1 for r in reports]
        part_a[h] = {"losses": losses, "kinds": [r.kind for r in reports],
                     "grad_norms": [r.grad_norm for r in reports], "stuck": stuck}
        kinds = {k: sum(r.kind == k for r in reports) for k in ("minimum", "saddle", "degenerate", "not critical")}
        rows.append({"part": "(a)", "setting": f"2-{h}-1 ReLU, {n_inits} inits",
                     "min loss": float(np.min(losses)), "median loss": float(np.median(losses)),
                     "stuck (certified min, loss >= 0.1)": float(np.mean(stuck)),
                     "reached ~0 (loss <= 1e-4)": float(np.mean(np.asarray(losses) <= 1e-4)),
                     "certified minima": kinds["minimum"], "saddle/degenerate/not critical":
                         f"{kinds['saddle']}/{kinds['degenerate']}/{kinds['not critical']}", "test acc": ""})

    epochs = config.size(20, 2)
    part_b = {"standard": [], "dead": [], "dead_hidden_grad_norm": []}
    for seed in config.seeds:
        for init in ("standard", "dead"):
            acc, gnorm = _digits(seed, init, epochs)
            part_b[init].append(acc)
            if init == "dead":
                part_b["dead_hidden_grad_norm"].append(gnorm)
    for init in ("standard", "dead"):
        rows.append({"part": "(b)", "setting": f"digits 64-32-10, {init} init",
                     "test acc": float(np.mean(part_b[init]))})

    stuck_frac = float(np.mean([s for h in WIDTHS for s in part_a[h]["stuck"]]))
    best = min(float(np.min(part_a[h]["losses"])) for h in WIDTHS)
    criteria = [
        check("(a) stuck in bad minima", stuck_frac, ">=", 0.10,
              "fraction of all inits (both widths) at a certified minimum with loss >= global + 0.1"),
        check("(a) global reached", best, "<=", 1e-4, "lowest final loss (global minimum is 0)"),
        check("(b) dead init blind", float(np.mean(part_b["dead"])), "<=", 0.20, "bias -3 mean test accuracy"),
        check("(b) standard init learns", float(np.mean(part_b["standard"])), ">=", 0.90,
              "standard init mean test accuracy"),
    ]
    dead_grad = np.max(part_b["dead_hidden_grad_norm"]) if part_b["dead_hidden_grad_norm"] else 0.0
    notes = [(f"(a) 10 points in 2-D, targets from a 2-2-1 ReLU teacher (so the global minimum is 0); "
              f"full-batch GD, lr 0.05, {steps} steps, inits N(0, 1) weights and zero biases; a run is certified "
              "when |grad| <= 1e-4 and the Hessian has no negative eigenvalue, with 50 random perturbations of "
              "radius 1e-3 deciding flat directions (dead units)"),
             f"(b) dead-init hidden-layer gradient norm at the end: {dead_grad:.3g}"]
    metrics = {"part_a": {str(h): v for h, v in part_a.items()}, "part_b": part_b,
               "stuck_fraction": stuck_frac, "best_loss": best, "dataset_x": X, "dataset_y": y}
    return Result(metrics=metrics, table=rows, criteria=criteria, notes=notes,
                  figures={"final_losses": _plot(part_a)},
                  budget={"inits_per_width": n_inits, "gd_steps": steps, "digits_epochs": epochs})


def _dataset(seed, n=10):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    W = np.array([[1.0, -1.0], [0.5, 1.0]])
    y = np.maximum(X @ W + np.array([0.2, -0.1]), 0.0) @ np.array([1.5, -1.2]) + 0.1
    return X.astype(sg.config.floatX), y.astype(sg.config.floatX)


def _train_many(X, y, h, n, steps, lr, seed):
    """Full-batch GD on ``n`` independent 2-h-1 ReLU nets at once: one batched graph, one call per step."""
    rng = np.random.default_rng(seed)
    W1 = sg.shared(rng.normal(size=(n, 2, h)), name="W1")
    b1 = sg.shared(np.zeros((n, h)), name="b1")
    w2 = sg.shared(rng.normal(size=(n, h)), name="w2")
    b2 = sg.shared(np.zeros(n), name="b2")
    Xc, yc = T.constant(X), T.constant(y)
    pre = T.tensordot(Xc, W1, axes=[[1], [1]]).dimshuffle(1, 0, 2) + b1.dimshuffle(0, "x", 1)
    out = T.sum(T.nnet.relu(pre) * w2.dimshuffle(0, "x", 1), axis=2) + b2.dimshuffle(0, "x")
    per_run = 0.5 * T.mean(T.sqr(out - yc.dimshuffle("x", 0)), axis=1)
    params = [W1, b1, w2, b2]
    grads = sg.grad(T.sum(per_run), params)
    step = sg.function([], [], updates=[(p, p - lr * g) for p, g in zip(params, grads)])
    losses = sg.function([], per_run)
    for _ in range(steps):
        step()
    theta = np.concatenate([W1.get_value().reshape(n, -1), b1.get_value(), w2.get_value(),
                            b2.get_value()[:, None]], axis=1)
    return theta, [float(v) for v in losses()]


def _certify(X, y, h, thetas):
    from symgraph.models.curvature import Curvature, certify_critical_point

    W1 = sg.shared(np.zeros((2, h)), name="W1")
    b1 = sg.shared(np.zeros(h), name="b1")
    w2 = sg.shared(np.zeros(h), name="w2")
    b2 = sg.shared(np.asarray(0.0), name="b2")
    x, t = T.matrix("x"), T.vector("y")
    out = T.dot(T.nnet.relu(T.dot(x, W1) + b1), w2) + b2
    curv = Curvature(0.5 * T.mean(T.sqr(out - t)), [W1, b1, w2, b2], inputs=[x, t])
    return [certify_critical_point(curv, X, y, theta=th, grad_tol=1e-4, n_perturb=50, radius=1e-3,
                                   rng=np.random.default_rng(i)) for i, th in enumerate(thetas)]


def _digits(seed, init, epochs):
    from symgraph.models import data, nn, optim
    from symgraph.models.training import Classifier

    d = data.load_digits(seed=seed)
    rng = np.random.default_rng(seed)
    model = nn.MLP([64, 32, 10], activation=T.nnet.relu, rng=rng, name=f"lm_{init}{seed}")
    hidden = model.layers[0]
    if init == "dead":
        # every hidden unit starts below zero on every input: no gradient reaches the first layer
        hidden.b.set_value(np.full(hidden.n_out, -3.0))
    clf = Classifier(model, optim.SGD(lr=0.1))
    clf.fit(d.train, epochs=epochs, batch_size=32, rng=rng)
    g = sg.function([clf.x, clf.y], sg.grad(clf.loss, [hidden.W, hidden.b]))(d.train.x, d.train.y)
    return clf.evaluate(d.test)[1], float(np.sqrt(sum(np.sum(gi ** 2) for gi in g)))


def _plot(part_a):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for h, res in part_a.items():
        losses = np.maximum(np.asarray(res["losses"]), 1e-12)
        ax.hist(np.log10(losses), bins=40, alpha=0.6, label=f"2-{h}-1")
    ax.axvline(-1, color="k", ls="--", lw=1, label="loss 0.1")
    ax.set_xlabel("log10 final training loss")
    ax.set_ylabel("initialisations")
    ax.set_title("(a) where full-batch GD stops")
    ax.legend(fontsize=8)
    return fig
