"""Paper 4: memory-based parameter adaptation vs the parametric net and kNN on permuted digits."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from ..harness import Result, check, experiment

N_TASKS = 3
EMBED = [64, 64, 32]
N_CLASSES = 10
LR = 0.03
BATCH = 32
MEMORIES_PER_TASK = 150
K = 20
STEPS = 5
BETA = 0.01
# MbPA's inner learning rate, chosen by validation mean accuracy; the curvature of the local loss in the
# logits' weights scales with |h|^2 (about 150 for these 32-d ReLU embeddings), so alpha ~ 1/|h|^2 to 10/|h|^2
ALPHAS = (0.01, 0.03, 0.1)


@experiment("mbpa", paper="4. Memory-based Parameter Adaptation (Sprechmann et al. 2018)",
            claim="adapting the output layer at test time on K neighbours from an episodic memory recovers "
                  "earlier permuted-digit tasks that the sequentially trained parametric net forgot",
            runtime="10 s")
def run(config):
    from symgraph.models import data
    from symgraph.models.memory import KNN, MbPA

    epochs = config.size(20, 1)
    net = _Net()
    knn = KNN(K, n_classes=N_CLASSES)
    mbpa = MbPA(EMBED[-1], N_CLASSES, k=K, steps=STEPS, alpha=ALPHAS[0], beta=BETA)
    per_seed = []
    for seed in config.seeds:
        tasks = data.permuted_tasks(data.load_digits(seed=seed), N_TASKS, seed=seed)
        per_seed.append(_sequential(net, knn, mbpa, tasks, seed, epochs, config))

    def mean_acc(key, split):
        """(tasks,) accuracy after the last task, mean over seeds."""
        return np.mean([r[split][key] for r in per_seed], axis=0)

    alpha = max(ALPHAS, key=lambda a: mean_acc(("mbpa", a), "valid").mean())
    methods = {"parametric": "parametric", "kNN": "knn", f"MbPA (alpha {alpha:g})": ("mbpa", alpha)}
    rows = []
    for label, key in methods.items():
        test = mean_acc(key, "test")
        rows.append({"method": label, "valid mean": float(mean_acc(key, "valid").mean()),
                     **{f"test task {t + 1}": float(test[t]) for t in range(N_TASKS)}, "test mean": float(test.mean())})
    for a in ALPHAS:
        if a != alpha:
            test = mean_acc(("mbpa", a), "test")
            rows.append({"method": f"MbPA (alpha {a:g}, not chosen)",
                         "valid mean": float(mean_acc(("mbpa", a), "valid").mean()),
                         **{f"test task {t + 1}": float(test[t]) for t in range(N_TASKS)},
                         "test mean": float(test.mean())})
    par, near, ada = (float(mean_acc(k, "test").mean()) for k in ("parametric", "knn", ("mbpa", alpha)))
    stale = {k: float(np.mean([r["write_time"]["test"][key] for r in per_seed]))
             for k, key in (("parametric", "parametric"), ("knn", "knn"), ("mbpa", ("mbpa", alpha)))}
    criteria = [
        check("MbPA beats parametric", ada - par, ">=", 0.15, "MbPA mean test accuracy - parametric"),
        check("MbPA vs kNN", ada - near, ">=", -0.02, "MbPA mean test accuracy - kNN (the kNN margin)"),
    ]
    notes = [(f"embedding MLP {'-'.join(map(str, EMBED))} (ReLU) + linear {EMBED[-1]}-{N_CLASSES} output, "
              f"trained by SGD (lr {LR}, batch {BATCH}) for {epochs} epochs per task on tasks 1, 2, 3 in turn "
              f"(no replay); task 1 unpermuted; every number is the mean over seeds {list(config.seeds)}"),
             (f"memory: {MEMORIES_PER_TASK} random training examples per task; keys are h = f(x) under the "
              f"evaluated (final) network, i.e. the stored inputs are re-embedded after task 3; kNN and MbPA "
              f"use the same {K} neighbours, w_k ∝ 1/(1e-3 + |h - h_k|^2) normalised; MbPA: {STEPS} gradient "
              f"steps on the output layer from the trained one, beta {BETA}, alpha chosen by the mean validation "
              f"accuracy over the 3 tasks from {list(ALPHAS)}"),
             (f"with keys kept as written (the embedding of the time they were stored): parametric "
              f"{stale['parametric']:.3f}, kNN {stale['knn']:.3f}, MbPA {stale['mbpa']:.3f} mean test accuracy "
              f"(reported, not a criterion): the embedding drifts over later tasks, so stale keys no longer "
              f"match the queries")]
    metrics = {
        "chosen_alpha": alpha,
        "test_accuracy": {str(k): [np.asarray(r["test"][k]).tolist() for r in per_seed]
                          for k in per_seed[0]["test"]},
        "valid_accuracy": {str(k): [np.asarray(r["valid"][k]).tolist() for r in per_seed]
                           for k in per_seed[0]["valid"]},
        "accuracy_after_each_task_parametric": [r["stages"] for r in per_seed],
        "write_time_keys_mean_test_accuracy": stale,
        "knn_margin": ada - near,
    }
    return Result(metrics=metrics, table=rows, criteria=criteria, notes=notes,
                  figures={"task_accuracy": _plot(rows[:3])},
                  budget={"epochs_per_task": epochs, "tasks": N_TASKS, "memories_per_task": MEMORIES_PER_TASK,
                          "k": K, "steps": STEPS, "beta": BETA, "alphas": list(ALPHAS), "lr": LR})


class _Net:
    """The embedding and output layer, compiled once; each seed only resets the shared values."""

    def __init__(self):
        from symgraph.models import nn

        self.embed_net = nn.MLP(EMBED, activation=T.nnet.relu, out_activation=T.nnet.relu,
                                rng=np.random.default_rng(0), name="mbpa_embed")
        self.out = nn.Dense(EMBED[-1], N_CLASSES, rng=np.random.default_rng(0), name="mbpa_out")
        self.params = self.embed_net.params.list() + self.out.params.list()
        x, y = T.matrix("x"), T.ivector("y")
        h = self.embed_net(x)
        logits = self.out(h)
        loss = T.nnet.categorical_crossentropy(T.nnet.softmax(logits), y).mean()
        grads = sg.grad(loss, self.params)
        self.train = sg.function([x, y], [], updates=[(p, p - LR * g) for p, g in zip(self.params, grads)])
        self.embed = sg.function([x], h)
        self.logits = sg.function([x], logits)

    def reset(self, seed):
        from symgraph.models import nn

        rng = np.random.default_rng(seed)
        fresh = nn.MLP(EMBED, activation=T.nnet.relu, rng=rng, name="fresh").params.list() + \
            nn.Dense(EMBED[-1], N_CLASSES, rng=rng, name="fresh_out").params.list()
        for p, v in zip(self.params, fresh):
            p.set_value(v.get_value())


def _sequential(net, knn, mbpa, tasks, seed, epochs, config):
    from symgraph.models.data import minibatches
    from symgraph.models.memory import EpisodicMemory

    net.reset(seed)
    rng = np.random.default_rng(seed + 1)
    memory = EpisodicMemory(EMBED[-1], N_TASKS * MEMORIES_PER_TASK)
    stored_x = []
    stages = []
    bar = config.progress(desc=f"seed {seed}", total=N_TASKS * epochs)
    for task in tasks:
        for _ in range(epochs):
            for xb, yb in minibatches(task.train, BATCH, rng):
                net.train(xb, yb)
            bar.update()
        pick = rng.choice(len(task.train), MEMORIES_PER_TASK, replace=False)
        memory.append(net.embed(task.train.x[pick]), task.train.y[pick])
        stored_x.append(task.train.x[pick])
        stages.append([_acc(net.logits(k.test.x), k.test.y) for k in tasks])
    bar.close()
    W, b = net.out.W.get_value(), net.out.b.get_value()
    rec = {"stages": stages, "write_time": _evaluate(net, knn, mbpa, tasks, memory, W, b)}
    # keys = f(x) under the network being evaluated: the stored inputs re-embedded after the last task
    memory.set_keys(net.embed(np.concatenate(stored_x)))
    rec.update(_evaluate(net, knn, mbpa, tasks, memory, W, b))
    return rec


def _evaluate(net, knn, mbpa, tasks, memory, W, b):
    """{split: {method: per-task accuracy}} for the parametric net, kNN and MbPA at every alpha."""
    rec = {}
    for split in ("test", "valid"):
        res = {}
        for task in tasks:
            s = getattr(task, split)
            h = net.embed(s.x)
            res.setdefault("parametric", []).append(_acc(net.logits(s.x), s.y))
            res.setdefault("knn", []).append(_acc(knn.vote(h, memory.keys, memory.values), s.y))
            for a in ALPHAS:
                res.setdefault(("mbpa", a), []).append(_acc(mbpa(h, memory.keys, memory.values, W, b, alpha=a), s.y))
        rec[split] = res
    return rec


def _acc(scores, y):
    return float(np.mean(np.argmax(scores, axis=1) == y))


def _plot(rows):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    width = 0.8 / len(rows)
    for i, r in enumerate(rows):
        vals = [r[f"test task {t + 1}"] for t in range(N_TASKS)]
        ax.bar(np.arange(N_TASKS) + i * width, vals, width, label=r["method"])
    ax.set_xticks(np.arange(N_TASKS) + width * (len(rows) - 1) / 2)
    ax.set_xticklabels([f"task {t + 1}" for t in range(N_TASKS)])
    ax.set_ylabel("test accuracy after task 3")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    return fig
