"""Paper 5: quantized distillation and differentiable quantization of a 2-bit digits student."""

import itertools

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from ..harness import Result, check, experiment

TEACHER = [64, 256, 256, 10]
STUDENT = [64, 32, 10]
N_LABELLED = 300
LEVELS = 4                 # 2 bits
BUCKET = 256               # weights per min-max bucket (row-major)
BATCH = 32
LR = 3e-3                  # Adam, student weights
LR_POINTS = 1e-3           # Adam, codebook points of differentiable quantization
# teacher recipe (models.distill.Teacher), chosen by mean validation accuracy of the teacher over seeds 0-4
# from TEACHER_GRID; the students' comparison never enters this choice
TEACHER_EPOCHS = 60
TEACHER_LR = 1e-3
TEACHER_WD = 0.0
TEACHER_GRID = ("30 epochs at constant lr 1e-3 (the earlier recipe; valid 96.88%), and cosine decay with "
                "(epochs, lr, L2) = (60, 1e-3, 0) valid 97.32%, (60, 1e-3, 1e-4) 97.10%, (60, 3e-3, 1e-4) 97.17%, "
                "(120, 1e-3, 1e-4) 97.17%")
# Adam steps per student method, and (temperature T, alpha) per distilled method, chosen with the current teacher
# and minibatch streams by mean validation accuracy over seeds 0-2, ties to fewer steps (grids in SELECTION)
STUDENT_STEPS = {"fp hard": 2000, "fp distilled": 8000, "qat": 1000, "qd": 4000, "dq": 500}
DISTILL = {"fp distilled": (4.0, 0.7), "qd": (2.0, 0.9), "dq": (4.0, 0.7)}
STOCHASTIC_ROUNDING = False   # rounding inside quantization-aware training; stored models round to nearest
SELECTION = ("quantized distillation: T in {2, 4, 8}, alpha in {0.5, 0.7, 0.9}, rounding in {nearest, stochastic}, "
             "steps in {1000, 2000, 4000, 8000} (best: nearest, T = 2, alpha = 0.9, 4000 steps, valid 97.03%; "
             "the earlier T = 4, alpha = 0.7, 1000 steps 95.54%; stochastic rounding at most 92.07%); "
             "full-precision distilled student: the same T and alpha, steps in {500, 1000, 2000, 4000, 8000} "
             "(best: T = 4, 8000 steps, valid 97.40% for every alpha, the earlier 0.7 kept; 4000 steps "
             "97.15-97.27%, the earlier 1000 steps 96.90%); differentiable quantization from that student at its "
             "T and alpha: steps in {125, 250, 500, 1000, 2000, 4000} (best 500, valid 96.28%; the earlier 2000 steps "
             "96.03%); hard-label QAT: rounding in {nearest, stochastic}, "
             "steps in {500, 1000, 2000, 4000, 8000} (best: nearest, 1000 steps, valid 94.30%; the earlier 2000 "
             "steps 93.80%; stochastic at most 87.86%); hard-label full-precision student: steps in {250, 500, "
             "1000, 2000, 4000} (best 2000, valid 94.30%; the earlier 1000 steps 94.05%)")

METHODS = ["teacher (full precision)", "FP student, hard labels", "FP student, distilled",
           "post-training quantization", "hard-label QAT (STE)", "quantized distillation",
           "differentiable quantization"]


@experiment("quantized-distillation",
            paper="5. Model compression via distillation and quantization (Polino, Pascanu, Alistarh 2018)",
            claim="2-bit shallow students trained with a distillation loss on an unlabelled transfer set approach "
                  "the full-precision distilled student and beat post-training quantization and hard-label "
                  "quantization-aware training; learnt codebook points beat uniform points",
            runtime="25 s", seeds=(0, 1, 2, 3, 4))
def run(config):
    from symgraph.models import data
    from symgraph.models.distill import Teacher

    seeds = list(config.seeds)
    teacher_epochs = config.size(TEACHER_EPOCHS, 3)
    steps = {k: config.size(v, 60) for k, v in STUDENT_STEPS.items()}
    teacher = Teacher(TEACHER, T.nnet.relu, epochs=teacher_epochs, batch_size=BATCH, lr=TEACHER_LR,
                      weight_decay=TEACHER_WD)
    student = _Student()
    acc = {m: {"test": [], "valid": []} for m in METHODS + ["PTQ of the distilled student"]}
    sizes, reload_equal = {}, []
    bar = config.progress(desc="seeds", total=len(seeds) * 7)
    for seed in seeds:
        digits = data.load_digits(seed=seed)
        labelled, transfer = data.labelled_split(digits.train, N_LABELLED, seed=seed)

        def rng(seed=seed):
            # every method of a seed draws the same minibatch stream (as it starts from the same weights), so
            # none depends on how long the methods before it trained
            return np.random.default_rng(seed + 1000)

        teacher.fit(digits.train, seed, rng=np.random.default_rng([seed, 2]))
        _record(acc, "teacher (full precision)", teacher.accuracy, digits)
        if seed == seeds[0]:
            sizes["teacher"] = _save_full_precision(config.out / "teacher_fp.npz",
                                                    [p.get_value() for p in teacher.params])
        bar.update()

        # the 300 labelled examples carry labels; the transfer set is labelled only by the teacher's logits
        distil_x = np.concatenate([labelled.x, transfer.x])
        distil_set = (distil_x, teacher.logits(distil_x),
                      np.concatenate([labelled.y, np.full(len(transfer), -1, dtype="int32")]))
        hard_set = (labelled.x, np.zeros((len(labelled), STUDENT[-1])), labelled.y)
        init = _student_init(seed)

        student.train("fp", hard_set, init, 1.0, 0.0, steps=steps["fp hard"], rng=rng())
        _record(acc, "FP student, hard labels", student.fp_accuracy, digits)
        ptq = student.uniform_tensors()
        _record(acc, "post-training quantization", student.stored_accuracy(ptq), digits)
        bar.update()

        student.train("fp", distil_set, init, *DISTILL["fp distilled"], steps=steps["fp distilled"], rng=rng())
        _record(acc, "FP student, distilled", student.fp_accuracy, digits)
        _record(acc, "PTQ of the distilled student", student.stored_accuracy(student.uniform_tensors()), digits)
        if seed == seeds[0]:
            sizes["FP student"] = _save_full_precision(config.out / "student_fp.npz", student.values())
        distilled = student.values()
        bar.update()

        student.train("ste", hard_set, init, 1.0, 0.0, steps=steps["qat"], rng=rng())
        _record(acc, "hard-label QAT (STE)", student.stored_accuracy(student.uniform_tensors()), digits)
        bar.update()

        student.train("ste", distil_set, init, *DISTILL["qd"], steps=steps["qd"], rng=rng())
        qd = student.uniform_tensors()
        qd_eval = student.stored_accuracy(qd)
        _record(acc, "quantized distillation", qd_eval, digits)
        path = config.out / f"student_2bit_seed{seed}.npz"
        sizes.setdefault("2-bit student (quantized distillation)", student.save(path, qd))
        reload_equal.append(_reload_matches(student, path, qd_eval, digits))
        bar.update()

        # differentiable quantization: the distilled student's weights fix the assignment; points and biases learn
        student.train("dq", distil_set, distilled, *DISTILL["dq"], steps=steps["dq"], rng=rng())
        dq = student.codebook_tensors()
        _record(acc, "differentiable quantization", student.stored_accuracy(dq), digits)
        sizes.setdefault("2-bit student (differentiable quantization)",
                         student.save(config.out / f"student_dq_seed{seed}.npz", dq))
        bar.update(2)
    bar.close()

    mean = {m: float(np.mean(v["test"])) for m, v in acc.items()}
    rows = [{"method": m, "bits": 64 if "FP" in m or "teacher" in m else 2,
             "test acc (mean)": mean[m], "test acc (std)": float(np.std(acc[m]["test"])),
             "valid acc (mean)": float(np.mean(acc[m]["valid"])),
             **{f"seed {s}": float(a) for s, a in zip(seeds, acc[m]["test"])}} for m in acc]
    qd, ptq, qat = mean["quantized distillation"], mean["post-training quantization"], mean["hard-label QAT (STE)"]
    criteria = [
        check("QD >= PTQ + 10", qd - ptq, ">=", 0.10, "quantized distillation - post-training quantization"),
        check("QD >= hard-label QAT + 3", qd - qat, ">=", 0.03, "quantized distillation - hard-label QAT"),
        check("QD within 3 of FP distilled", qd - mean["FP student, distilled"], ">=", -0.03,
              "quantized distillation - full-precision distilled student"),
        check("DQ >= PTQ + 5", mean["differentiable quantization"] - ptq, ">=", 0.05,
              "differentiable quantization - post-training quantization"),
    ]
    size_line = ", ".join(f"{k} {v} bytes" for k, v in sizes.items())
    notes = [
        (f"{teacher.recipe()}, on the whole training split; students {'-'.join(map(str, STUDENT))} ReLU, {N_LABELLED} labelled "
         f"examples, the rest of the training split an unlabelled transfer set labelled by the teacher's logits"),
        (f"students: Adam {LR:g}, batch {BATCH}, the same initial weights and minibatch stream for every method "
         f"of a seed; steps "
         f"{steps}; distillation loss alpha T^2 KL + (1 - alpha) CE with (T, alpha) {DISTILL} "
         f"(CE on the labelled examples only); hard-label methods see only the "
         f"{N_LABELLED} labels"),
        (f"2 bits = {LEVELS} levels: uniform min-max scaling per bucket of {BUCKET} weights (fixed in advance), "
         f"{'stochastic' if STOCHASTIC_ROUNDING else 'nearest'} rounding in straight-through training, "
         f"nearest for the stored models; both weight matrices quantized, biases kept in full precision; "
         f"post-training quantization quantizes the hard-label full-precision student"),
        (f"differentiable quantization: one learnt {LEVELS}-point codebook per layer (quantile init), weights "
         f"assigned by the full-precision distilled student's weights, points (Adam {LR_POINTS:g}) and "
         f"biases trained with the distillation loss"),
        (f"hyperparameters chosen by mean validation accuracy over seeds 0-2 (ties to fewer steps) from: "
         f"{SELECTION}; every table number is test accuracy over seeds {seeds}"),
        (f"teacher recipe chosen by the teacher's own mean validation accuracy over seeds 0-4 from: {TEACHER_GRID}; "
         "it has its own random stream, so the students' minibatches do not depend on it"),
        (f"file sizes (np.savez_compressed; codes bit-packed, float64 scales/codebooks/biases): {size_line}; "
         f"reloading each saved 2-bit student reproduces its valid and test accuracy exactly: "
         f"{all(reload_equal)}"),
        (f"distillation's own gain at full precision (FP distilled - FP hard) is "
         f"{100 * (mean['FP student, distilled'] - mean['FP student, hard labels']):.2f} points and hard-label QAT "
         f"loses {100 * (mean['FP student, hard labels'] - qat):.2f} points to its full-precision student: "
         f"QD >= QAT + 3 asks for QD >= {100 * (qat + 0.03):.2f}%, against "
         f"{100 * mean['FP student, distilled']:.2f}% for the full-precision distilled student"),
        _paired_note(acc, "quantized distillation", "hard-label QAT (STE)"),
        _paired_note(acc, "quantized distillation", "post-training quantization"),
    ]
    metrics = {"test_accuracy": {m: v["test"] for m, v in acc.items()},
               "valid_accuracy": {m: v["valid"] for m, v in acc.items()},
               "mean_test_accuracy": mean, "file_bytes": sizes, "reload_reproduces_accuracy": reload_equal,
               "seeds": seeds}
    return Result(metrics=metrics, table=rows, criteria=criteria, notes=notes,
                  figures={"accuracy_by_method": _plot(acc, seeds)},
                  budget={"teacher_epochs": teacher_epochs, "teacher_lr": TEACHER_LR, "teacher_l2": TEACHER_WD,
                          "student_steps": steps, "batch_size": BATCH,
                          "temperature_alpha": DISTILL, "bucket_size": BUCKET, "levels": LEVELS,
                          "lr": LR, "lr_points": LR_POINTS, "stochastic_rounding": STOCHASTIC_ROUNDING})


def _paired_note(acc, a, b):
    """Per-seed test differences a - b with their mean and standard error: how far seed noise reaches."""
    diff = 100 * (np.array(acc[a]["test"]) - np.array(acc[b]["test"]))
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    return (f"{a} - {b} per seed (points): {', '.join(f'{d:+.2f}' for d in diff)}; mean {diff.mean():+.2f}, "
            f"standard error {se:.2f}")


def _record(acc, method, accuracy, digits):
    acc[method]["test"].append(float(accuracy(digits.test)))
    acc[method]["valid"].append(float(accuracy(digits.valid)))


def _student_init(seed):
    from symgraph.models.nn import init

    rng = np.random.default_rng(seed)
    out = []
    for a, b in itertools.pairwise(STUDENT):
        out += [init.glorot_uniform(rng, (a, b)), np.zeros(b)]
    return out


def _save_full_precision(path, arrays):
    import os

    np.savez_compressed(path, *arrays)
    return os.path.getsize(path)


def _reload_matches(student, path, evaluated, digits):
    from symgraph.models.quantize import load_quantized

    reloaded = student.loaded_accuracy(*load_quantized(path))
    return all(reloaded(s) == evaluated(s) for s in (digits.valid, digits.test))


class _Student:
    """The 64-32-10 student: full-precision, straight-through-quantized and codebook-quantized graphs.

    Every training function is compiled once; a run only sets shared values
    (weights, optimizer state, alpha), so seeds and methods reuse the compiled code.
    """

    def __init__(self):
        from symgraph.models import optim
        from symgraph.models.distill import distillation_loss
        from symgraph.models.quantize import (
            codebook_quantize,
            straight_through,
            uniform_codes,
        )

        shapes = [s for a, b in itertools.pairwise(STUDENT) for s in ((a, b), (b,))]
        self.params = [sg.shared(np.zeros(s), name=f"student.{'Wb'[i % 2]}{i // 2}") for i, s in enumerate(shapes)]
        self.W, self.b = self.params[0::2], self.params[1::2]
        self.points = [sg.shared(np.zeros(LEVELS), name=f"student.p{i}") for i in range(len(self.W))]
        self.alpha = sg.shared(np.asarray(0.0), name="alpha")
        self.temperature = sg.shared(np.asarray(1.0), name="temperature")
        x, zt, y = T.matrix("x"), T.matrix("teacher_logits"), T.ivector("y")

        def loss(weights):
            return distillation_loss(_forward(x, weights, self.b), zt, y, temperature=self.temperature,
                                     alpha=self.alpha, labelled=T.ge(y, 0))

        srng = T.random.RandomStreams(0) if STOCHASTIC_ROUNDING else None
        self.srng = srng
        ste = [straight_through(w, uniform_codes(w, LEVELS, BUCKET, srng)[0]) for w in self.W]
        codebook = [codebook_quantize(w, p) for w, p in zip(self.W, self.points)]
        self.opt = {"fp": optim.Adam(lr=LR), "ste": optim.Adam(lr=LR), "dq": optim.Adam(lr=LR)}
        groups = {"fp": self.params, "ste": self.params,
                  "dq": [{"params": self.points, "lr": LR_POINTS}, {"params": list(self.b)}]}
        losses = {"fp": loss(self.W), "ste": loss(ste), "dq": loss([q for q, _ in codebook])}
        self._train = {k: sg.function([x, zt, y], losses[k], updates=self.opt[k].updates(losses[k], groups[k]))
                       for k in losses}
        parts = [uniform_codes(w, LEVELS, BUCKET)[1:] for w in self.W]
        self._uniform = sg.function([], [v for p in parts for v in p])
        self._assign = sg.function([], [a for _, a in codebook])
        # evaluation reads its own weights, so any stored (dequantized) model can be scored
        self.eval_params = [sg.shared(np.zeros(s), name=f"eval.{i}") for i, s in enumerate(shapes)]
        logits = _forward(x, self.eval_params[0::2], self.eval_params[1::2])
        self._accuracy = sg.function([x, y], T.mean(T.eq(T.argmax(logits, axis=1), y)))

    def values(self):
        return [p.get_value() for p in self.params]

    def train(self, kind, dataset, init, temperature, alpha, steps, rng):
        for p, v in zip(self.params, init):
            p.set_value(v)
        if kind == "dq":
            from symgraph.models.quantize import quantile_codebook

            for p, w in zip(self.points, self.W):
                p.set_value(quantile_codebook(w.get_value(), LEVELS))
        if self.srng is not None:
            self.srng.seed(int(rng.integers(1 << 31)))
        self.opt[kind].reset()
        self.alpha.set_value(np.asarray(alpha))
        self.temperature.set_value(np.asarray(temperature))
        x, zt, y = dataset
        done = 0
        while done < steps:
            for idx in np.array_split(rng.permutation(len(y)), max(1, len(y) // BATCH)):
                self._train[kind](x[idx], zt[idx], y[idx])
                done += 1
                if done == steps:
                    break

    def fp_accuracy(self, split):
        return self._score(self.values(), split)

    def uniform_tensors(self):
        """The current shadow weights quantized to nearest, as stored tensors."""
        from symgraph.models.quantize import QuantizedTensor

        out = self._uniform()
        return [QuantizedTensor.uniform(out[3 * i], w.get_value().shape, LEVELS, BUCKET, out[3 * i + 1],
                                        out[3 * i + 2]) for i, w in enumerate(self.W)]

    def codebook_tensors(self):
        from symgraph.models.quantize import QuantizedTensor

        return [QuantizedTensor.from_codebook(a, p.get_value()) for a, p in zip(self._assign(), self.points)]

    def stored_accuracy(self, tensors):
        """Accuracy of the model stored as ``tensors`` plus the current full-precision biases."""
        biases = [b.get_value() for b in self.b]
        weights = [t.dequantize() for t in tensors]
        return lambda split: self._score([v for wb in zip(weights, biases) for v in wb], split)

    def save(self, path, tensors):
        from symgraph.models.quantize import save_quantized

        return save_quantized(path, {f"W{i}": t for i, t in enumerate(tensors)},
                              {f"b{i}": b.get_value() for i, b in enumerate(self.b)})

    def loaded_accuracy(self, tensors, full):
        """Accuracy of a model read back by ``load_quantized``."""
        n = len(self.W)
        values = [v for i in range(n) for v in (tensors[f"W{i}"].dequantize(), full[f"b{i}"])]
        return lambda split: self._score(values, split)

    def _score(self, values, split):
        for p, v in zip(self.eval_params, values):
            p.set_value(v)
        return float(self._accuracy(split.x, split.y))


def _forward(x, weights, biases):
    h = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = T.dot(h, w) + b
        if i < len(weights) - 1:
            h = T.nnet.relu(h)
    return h


def _plot(acc, seeds):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = list(acc)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for i, m in enumerate(names):
        vals = acc[m]["test"]
        ax.scatter(np.full(len(vals), i), vals, s=12, alpha=0.6)
        ax.bar(i, np.mean(vals), alpha=0.35)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(f"test accuracy (seeds {seeds})")
    ax.set_ylim(max(0.0, min(min(v["test"]) for v in acc.values()) - 0.05), 1.0)
    fig.tight_layout()
    return fig
