"""A VAE-style loss with the reparameterization trick, trained on data with two latent factors.

The encoder's mean and log standard deviation give ``z = mu + sigma * eps``
with ``eps`` drawn from N(0, 1); the draw is a constant for differentiation,
so gradients reach ``mu`` and ``log_sigma`` through ``z``.  The draws come from
the generator ``rng`` passed in, so a run prints the same numbers every time.

    python examples/vae_loss.py
"""

import numpy as np

# the standard deviation of the decoder's Gaussian: the reconstruction error is
# the negative log-likelihood sum((reconstruction - x)**2) / (2 * DECODER_NOISE**2)
DECODER_NOISE = 0.2


def vae_loss(enc_w, dec_w, x, rng):
    """Reconstruction error plus the KL divergence to N(0, I), for one batch."""
    h = x @ enc_w
    latent = h.shape[1] // 2
    mu, log_sigma = h[:, :latent], h[:, latent:]
    eps = rng.standard_normal(mu.shape)
    z = mu + np.exp(log_sigma) * eps
    reconstruction = np.tanh(z @ dec_w)
    error = np.mean(np.sum((reconstruction - x) ** 2, axis=1)) / (2 * DECODER_NOISE**2)
    kl = 0.5 * np.mean(np.sum(np.exp(2 * log_sigma) + mu**2 - 1 - 2 * log_sigma, axis=1))
    return error + kl


def make_data(rng, rows=64, features=8, latent=2, noise=0.05):
    """``rows`` points ``tanh(codes @ mixing)`` plus noise, from ``latent`` hidden factors."""
    codes = rng.standard_normal((rows, latent))
    mixing = 1.5 * rng.standard_normal((latent, features))
    return np.tanh(codes @ mixing) + noise * rng.standard_normal((rows, features))


def train(x, rng, latent=2, steps=200, rate=0.005, log=print):
    """Gradient descent from small random weights, a fresh ``eps`` each step.

    Logs the loss every 25 steps, measured with the same draws each time
    (``default_rng(0)``) so the numbers compare; returns the weights.
    """
    import s2s_ad as ad

    enc_w = 0.1 * rng.standard_normal((x.shape[1], 2 * latent))
    dec_w = 0.1 * rng.standard_normal((latent, x.shape[1]))
    grad = ad.grad(vae_loss, wrt=(0, 1))
    for step in range(steps + 1):
        if log and step % 25 == 0:
            log(f"step {step:3d}  loss {vae_loss(enc_w, dec_w, x, np.random.default_rng(0)):.4f}")
        if step < steps:
            d_enc, d_dec = grad(enc_w, dec_w, x, rng)
            enc_w = enc_w - rate * d_enc
            dec_w = dec_w - rate * d_dec
    return enc_w, dec_w


if __name__ == "__main__":
    rng = np.random.default_rng(1)
    train(make_data(rng), rng)
