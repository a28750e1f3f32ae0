"""Paper 16: elastic weight consolidation vs plain SGD and an L2 anchor on permuted digits."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from ..harness import Result, check, experiment

N_TASKS = 3
SIZES = [64, 100, 100, 10]
LR = 0.03
BATCH = 32
# penalty strengths: EWC's are large because most Fisher entries are tiny; L2 (F = 1) weighs every weight fully
LAMBDAS = {"SGD": (0.0,), "L2": (1e-2, 1e-1, 1.0), "EWC": (10.0, 100.0, 1000.0)}


@experiment("ewc", paper="16. Overcoming catastrophic forgetting: EWC (Kirkpatrick et al. 2017)",
            claim="a Fisher-weighted quadratic anchor to earlier tasks' solutions keeps old permuted-digit tasks "
                  "while learning new ones; plain SGD forgets and an unweighted L2 anchor cannot learn the new task",
            runtime="2 min")
def run(config):
    from threadpoolctl import threadpool_limits

    # 100-unit layers and 32-example batches: multithreaded BLAS only contends on a shared 2-core machine
    with threadpool_limits(1):
        return _run(config)


def _run(config):
    from symgraph.models import data

    epochs = config.size(20, 1)
    n_fisher = config.size(None, 100)           # None: the whole training set of the task
    net = _Net(SIZES)
    runs = {}                                    # (method, lam) -> list over seeds of per-stage accuracies
    for seed in config.seeds:
        tasks = data.permuted_tasks(data.load_digits(seed=seed), N_TASKS, seed=seed)
        for method, grid in LAMBDAS.items():
            for lam in grid:
                bar = config.progress(desc=f"seed {seed} {method} lam={lam:g}", total=N_TASKS * epochs)
                rec = _sequential(net, tasks, method, lam, seed, epochs, n_fisher, bar)
                bar.close()
                runs.setdefault((method, lam), []).append(rec)

    def final(method, lam, split):
        """(seeds, tasks) accuracy after the last task."""
        return np.array([r[split][-1] for r in runs[(method, lam)]])

    best = {m: max(grid, key=lambda lam, m=m: final(m, lam, "valid").mean()) for m, grid in LAMBDAS.items()}
    rows = []
    for method, grid in LAMBDAS.items():
        for lam in grid:
            test, valid = final(method, lam, "test").mean(axis=0), final(method, lam, "valid").mean(axis=0)
            rows.append({"method": method, "lambda": lam, "chosen": "*" if best[method] == lam else "",
                         "valid mean": float(valid.mean()),
                         **{f"test task {t + 1}": float(test[t]) for t in range(N_TASKS)},
                         "test mean": float(test.mean())})
    acc = {m: final(m, best[m], "test").mean(axis=0) for m in LAMBDAS}
    # the paper's L2 baseline is one strong enough to keep the old task: the L2 strength (if any) whose
    # validation task-1 accuracy matches EWC's, reported beside the criterion (not a criterion itself)
    ewc_keep = final("EWC", best["EWC"], "valid")[:, 0].mean()
    keeping = [lam for lam in LAMBDAS["L2"] if final("L2", lam, "valid")[:, 0].mean() >= ewc_keep]
    matched = min(keeping) if keeping else None
    matched_gap = (float(acc["EWC"][2] - final("L2", matched, "test")[:, 2].mean()) if matched is not None
                   else None)
    own = {m: np.mean([[r["test"][t][t] for t in range(N_TASKS)] for r in runs[(m, best[m])]], axis=0)
           for m in LAMBDAS}
    criteria = [
        check("EWC keeps task 1", float(acc["EWC"][0]), ">=", 0.80, "EWC task-1 test accuracy after task 3"),
        check("EWC mean", float(acc["EWC"].mean()), ">=", 0.85, "EWC mean test accuracy over the 3 tasks"),
        check("SGD forgets task 1", float(acc["SGD"][0]), "<=", 0.60, "SGD task-1 test accuracy after task 3"),
        check("EWC learns task 3 better than L2", float(acc["EWC"][2] - acc["L2"][2]), ">=", 0.05,
              "EWC task-3 accuracy - L2 task-3 accuracy"),
    ]
    notes = [(f"MLP {'-'.join(map(str, SIZES))} ReLU, SGD lr {LR}, batch {BATCH}, {epochs} epochs per task; "
             f"task 1 unpermuted, tasks 2-3 fixed pixel permutations; every number is the mean over seeds "
             f"{list(config.seeds)}"),
             ("lambda is chosen per method by the mean validation accuracy over the 3 tasks after task 3 "
             "(the same rule for L2 and EWC); the penalty after task t sums one anchor per earlier task, "
             "lambda/2 sum_i F_i (theta_i - theta*_i)^2, with F = 1 for L2"),
             ("EWC's Fisher: the diagonal of E_x E_{y~p(y|x)} (d log p / d theta)^2 over the task's training set, "
             "one label sampled from the model per example, at the end of the task"),
             "accuracy on each task right after training it (the ceiling): "
             + "; ".join(f"{m} {', '.join(f'{a:.3f}' for a in own[m])}" for m in LAMBDAS),
             (f"L2 at the weakest strength that keeps task 1 (validation) as well as EWC (lambda {matched:g}): "
              f"EWC task-3 accuracy - its task-3 accuracy = {matched_gap:+.3f}" if matched is not None else
              "no L2 strength in the grid keeps task 1 (validation) as well as EWC")]
    metrics = {
        "chosen_lambda": best,
        "test_accuracy_after_each_task": {f"{m} lam={lam:g}": [np.array(r["test"]).tolist() for r in rs]
                                          for (m, lam), rs in runs.items()},
        "valid_accuracy_after_each_task": {f"{m} lam={lam:g}": [np.array(r["valid"]).tolist() for r in rs]
                                           for (m, lam), rs in runs.items()},
        "final_test_accuracy": {m: acc[m].tolist() for m in LAMBDAS},
        "accuracy_right_after_own_task": {m: own[m].tolist() for m in LAMBDAS},
        "l2_retention_matched": {"lambda": matched, "ewc_minus_l2_task3": matched_gap},
        "fisher_summary": {f"seed {s}": r["fisher"] for s, r in zip(config.seeds, runs[("EWC", best["EWC"])])},
    }
    return Result(metrics=metrics, table=rows, criteria=criteria, notes=notes,
                  figures={"task_accuracy": _plot(runs, best)},
                  budget={"epochs_per_task": epochs, "tasks": N_TASKS, "batch_size": BATCH, "lr": LR,
                          "lambda_grids": {m: list(g) for m, g in LAMBDAS.items()},
                          "fisher_examples": n_fisher or "whole training set"})


class _Net:
    """One compiled MLP whose parameters, anchors, Fisher weights and lambda are shared variables.

    Every (seed, method, lambda) run reuses the same compiled functions: a run
    only sets values (fresh initial weights, zero anchors), so nothing is recompiled.
    """

    def __init__(self, sizes):
        from symgraph.models import nn
        from symgraph.models.fisher import DiagonalFisher

        self.sizes = sizes
        self.model = nn.MLP(sizes, activation=T.nnet.relu, rng=np.random.default_rng(0), name="ewc")
        self.params = self.model.params.list()
        x, y = T.matrix("x"), T.ivector("y")
        logits = self.model(x)
        data_loss = T.nnet.categorical_crossentropy(T.nnet.softmax(logits), y).mean()
        self.lam = sg.shared(np.asarray(0.0), name="ewc.lambda")
        # one (anchor, weight) slot per earlier task; unused slots have zero weight
        self.anchors = [[sg.shared(np.zeros_like(p.get_value()), name=f"{p.name}.anchor{t}") for p in self.params]
                        for t in range(N_TASKS - 1)]
        self.weights = [[sg.shared(np.zeros_like(p.get_value()), name=f"{p.name}.F{t}") for p in self.params]
                        for t in range(N_TASKS - 1)]
        penalty = sum(T.sum(f * T.sqr(p - a))
                      for anchors, weights in zip(self.anchors, self.weights)
                      for p, a, f in zip(self.params, anchors, weights))
        self.penalty = 0.5 * self.lam * penalty
        # SGD on the data loss with the quadratic anchor taken implicitly (a proximal step):
        # theta <- argmin_u |u - (theta - lr g)|^2 / (2 lr) + lambda/2 sum_t F_t (u - a_t)^2.
        # Explicit SGD on the penalty diverges once lr * lambda * max F > 2 (lambda = 1000 here, and any
        # L2 strength above 20); the proximal step is stable for every lambda and equals the explicit
        # step to first order in lr * lambda * F.
        grads = sg.grad(data_loss, self.params)
        updates = []
        for i, (p, g) in enumerate(zip(self.params, grads)):
            pull = sum(w[i] for w in self.weights)
            target = sum(w[i] * a[i] for w, a in zip(self.weights, self.anchors))
            updates.append((p, (p - LR * g + LR * self.lam * target) / (1 + LR * self.lam * pull)))
        self.train = sg.function([x, y], [], updates=updates)
        self.accuracy = sg.function([x, y], T.mean(T.eq(T.argmax(logits, axis=1), y)))
        self.fisher = DiagonalFisher(logits, self.params, x)

    def reset(self, seed):
        from symgraph.models import nn

        fresh = nn.MLP(self.sizes, activation=T.nnet.relu, rng=np.random.default_rng(seed), name="fresh")
        for p, v in zip(self.params, fresh.params.list()):
            p.set_value(v.get_value())
        for slot in self.anchors + self.weights:
            for s in slot:
                s.set_value(np.zeros_like(s.get_value()))


def _sequential(net, tasks, method, lam, seed, epochs, n_fisher, bar):
    """Train on the tasks in order; accuracy on every task after each one."""
    from symgraph.models.data import minibatches

    net.reset(seed)
    net.lam.set_value(np.asarray(lam))
    rng = np.random.default_rng(seed + 1)
    rec = {"test": [], "valid": [], "fisher": []}
    for t, task in enumerate(tasks):
        for _ in range(epochs):
            for xb, yb in minibatches(task.train, BATCH, rng):
                net.train(xb, yb)
            bar.update()
        rec["test"].append([float(net.accuracy(k.test.x, k.test.y)) for k in tasks])
        rec["valid"].append([float(net.accuracy(k.valid.x, k.valid.y)) for k in tasks])
        if t < len(tasks) - 1 and method != "SGD":
            for p, a in zip(net.params, net.anchors[t]):
                a.set_value(p.get_value())
            if method == "EWC":
                xs = task.train.x if n_fisher is None else task.train.x[:n_fisher]
                F = net.fisher(xs, rng=np.random.default_rng(seed + 100 + t))
                flat = np.concatenate([f.ravel() for f in F])
                rec["fisher"].append({"mean": float(flat.mean()), "max": float(flat.max()),
                                      "median": float(np.median(flat))})
            else:
                F = [np.ones_like(p.get_value()) for p in net.params]
            for w, f in zip(net.weights[t], F):
                w.set_value(f)
    return rec


def _plot(runs, best):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, N_TASKS, figsize=(10, 3.2), sharey=True)
    for t, ax in enumerate(axes):
        for m, lam in best.items():
            acc = np.mean([np.array(r["test"])[:, t] for r in runs[(m, lam)]], axis=0)
            stages = np.arange(1, len(acc) + 1)
            ax.plot(stages[t:], acc[t:], marker="o", label=f"{m} (lambda {lam:g})")
        ax.set_title(f"task {t + 1}")
        ax.set_xlabel("after training task")
        ax.set_xticks(range(1, N_TASKS + 1))
    axes[0].set_ylabel("test accuracy (mean over seeds)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
