"""A VAE-style loss with the reparameterization trick.

The encoder's mean and log standard deviation give ``z = mu + sigma * eps``
with ``eps`` drawn from N(0, 1); the draw is a constant for differentiation,
so gradients reach ``mu`` and ``log_sigma`` through ``z``.

    python examples/vae_loss.py
"""

import numpy as np


def vae_loss(enc_w, dec_w, x):
    """Reconstruction error plus the KL divergence to N(0, I), for one batch."""
    h = x @ enc_w
    latent = h.shape[1] // 2
    mu, log_sigma = h[:, :latent], h[:, latent:]
    eps = np.random.standard_normal(mu.shape)
    z = mu + np.exp(log_sigma) * eps
    reconstruction = np.tanh(z @ dec_w)
    error = np.mean(np.sum((reconstruction - x) ** 2, axis=1))
    kl = 0.5 * np.mean(np.sum(np.exp(2 * log_sigma) + mu**2 - 1 - 2 * log_sigma, axis=1))
    return error + kl


if __name__ == "__main__":
    import s2s_ad as ad

    rng = np.random.default_rng(1)
    x = np.tanh(rng.standard_normal((64, 8)))
    enc_w = 0.1 * rng.standard_normal((8, 4))
    dec_w = 0.1 * rng.standard_normal((2, 8))
    grad = ad.grad(vae_loss, wrt=(0, 1))
    for step in range(201):
        d_enc, d_dec = grad(enc_w, dec_w, x)
        enc_w -= 0.1 * d_enc
        dec_w -= 0.1 * d_dec
        if step % 50 == 0:
            print(f"step {step:3d}  loss {vae_loss(enc_w, dec_w, x):.4f}")
