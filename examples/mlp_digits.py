"""Train a small MLP on scikit-learn's bundled digits (8x8 images, no download).

Two tanh hidden layers and a softmax cross-entropy loss, trained with
``ad.value_and_grad`` and plain gradient descent with momentum.  Needs
scikit-learn (``pip install scikit-learn``) for the data only.

    python examples/mlp_digits.py
"""

import numpy as np


def predict(params, x):
    """Class scores (logits) of the images ``x``."""
    w1, b1, w2, b2, w3, b3 = params
    h = np.tanh(x @ w1 + b1)
    h = np.tanh(h @ w2 + b2)
    return h @ w3 + b3


def loss(w1, b1, w2, b2, w3, b3, x, labels):
    """Mean softmax cross-entropy of the batch."""
    h = np.tanh(x @ w1 + b1)
    h = np.tanh(h @ w2 + b2)
    logits = h @ w3 + b3
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(x.shape[0]), labels])


def init_params(rng, sizes=(64, 32, 32, 10)):
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params += [rng.standard_normal((n_in, n_out)) / np.sqrt(n_in), np.zeros(n_out)]
    return params


def accuracy(params, x, labels):
    return float(np.mean(np.argmax(predict(params, x), axis=1) == labels))


def train(params, x, labels, epochs=30, batch=64, rate=0.1, momentum=0.9, seed=0, log=print):
    """Minibatch gradient descent with momentum; returns the trained parameters."""
    import s2s_ad as ad

    value_and_grad = ad.value_and_grad(loss, wrt=tuple(range(6)))
    rng = np.random.default_rng(seed)
    velocity = [np.zeros_like(p) for p in params]
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch):
            picked = order[start : start + batch]
            value, grads = value_and_grad(*params, x[picked], labels[picked])
            total += value * len(picked)
            velocity = [momentum * v - rate * g for v, g in zip(velocity, grads)]
            params = [p + v for p, v in zip(params, velocity)]
        if log and epoch % 5 == 0:
            log(f"epoch {epoch:2d}  training loss {total / len(x):.4f}")
    return params


if __name__ == "__main__":
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.data / 16.0
    rng = np.random.default_rng(0)
    order = rng.permutation(len(images))
    train_idx, test_idx = order[:1400], order[1400:]
    params = train(init_params(rng), images[train_idx], digits.target[train_idx])
    print(f"test accuracy {accuracy(params, images[test_idx], digits.target[test_idx]):.3f}")
