"""Knowledge-distillation losses (Hinton et al. 2015; Polino et al. 2018) as symbolic graphs.

    loss = distillation_loss(student_logits, teacher_logits, y, temperature=4.0, alpha=0.7,
                             labelled=T.ge(y, 0))

Everything is computed from log-softmaxes of the logits, so very confident
teachers or students (logits of hundreds) give finite losses and gradients.
``temperature`` and ``alpha`` may be Python numbers or symbolic scalars (shared
variables), so one compiled training function serves hard-label training
(``alpha = 0``) and distillation alike.
"""

import symgraph.tensor as T

__all__ = ["distillation_loss", "hard_label_cross_entropy", "soft_target_kl"]


def soft_target_kl(student_logits, teacher_logits, temperature=1.0):
    """Per-example KL(softmax(z_t / T) || softmax(z_s / T)), a vector over the batch."""
    log_p_t = T.nnet.log_softmax(teacher_logits / temperature)
    log_p_s = T.nnet.log_softmax(student_logits / temperature)
    return T.sum(T.exp(log_p_t) * (log_p_t - log_p_s), axis=1)


def hard_label_cross_entropy(logits, y):
    """Per-example -log softmax(z)[y], a vector over the batch (``y`` int labels, all valid)."""
    log_p = T.nnet.log_softmax(logits)
    return -log_p[T.arange(y.shape[0]), y]


def distillation_loss(student_logits, teacher_logits, y=None, temperature=1.0, alpha=0.5, labelled=None):
    """Batch mean of alpha T^2 KL(softmax(z_t/T) || softmax(z_s/T)) + (1 - alpha) CE(z_s, y).

    The T^2 keeps the soft term's gradient scale independent of T (its
    gradient shrinks like 1/T^2 otherwise).  ``labelled`` (a 0/1 vector) marks
    the examples whose ``y`` is real, so a batch may mix labelled examples with
    unlabelled transfer-set ones (give those any label >= 0 or -1): the KL term
    averages over the whole batch, the cross-entropy over the labelled part
    (0 when a batch has none).  ``y=None`` leaves only alpha T^2 KL.
    """
    kl = T.mean(soft_target_kl(student_logits, teacher_logits, temperature))
    soft = alpha * temperature * temperature * kl
    if y is None:
        return soft
    if labelled is None:
        ce = T.mean(hard_label_cross_entropy(student_logits, y))
    else:
        mask = T.cast(labelled, student_logits.dtype)
        per_example = hard_label_cross_entropy(student_logits, T.maximum(y, 0))
        ce = T.sum(mask * per_example) / T.maximum(T.sum(mask), 1.0)
    return soft + (1.0 - alpha) * ce
