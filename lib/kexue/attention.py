"""Efficient attention: Transformer-VQ's exact linear forms, and sparse (atrous/local) masks (chapter 8).

All functions work on one head of one sequence: ``Q, K`` are ``(n, d_k)``, ``V`` is ``(n, d_v)``; use
``jax.vmap`` for batches and heads.  As in the articles the scale :math:`1/\\sqrt{d_k}` is left out (fold it
into ``Q``).

The reference, quadratic in :math:`n`:

* :func:`dense_attention` -- :math:`\\operatorname{softmax}(QK^\\top + B + M)V` with an optional boolean
  ``mask`` (``M = 0`` where true, :math:`-\\infty` elsewhere) and additive ``bias`` ``B``, max-subtracted.

Transformer-VQ (kexue.fm/archives/9844).  Keys are quantized to a codebook :math:`C\\in\\mathbb R^{c\\times d_k}`,
:math:`\\hat K=\\Delta C` with :math:`\\Delta\\in\\{0,1\\}^{n\\times c}` one-hot, and then
:math:`\\exp(Q\\hat K^\\top)V=\\exp(QC^\\top)(\\Delta^\\top V)` (the one-hot factor is "picked" out of the
exponential), which costs :math:`O(nc(d_k+d_v))`:

* :func:`vq_quantize` -- nearest code, with the straight-through estimator (forward :math:`\\hat K`, backward
  the identity to :math:`K`);
* :func:`vq_attention_linear` -- bidirectional;
* :func:`vq_attention_causal` -- causal, :math:`O_i=\\exp(Q_iC^\\top)U_i,\\ U_i=U_{i-1}+\\Delta_i^\\top V_i`, by a
  cumulative sum (memory :math:`O(ncd_v)`) or a ``lax.scan`` recurrence (memory :math:`O(cd_v)` state);
* :func:`vq_attention_blockwise` -- causal, block by block, with a sliding-window bias of width one block:
  exact attention on the current and the previous block, picked-out history :math:`U_{i-2}` beyond;
* :func:`window_bias` -- the Toeplitz bias :math:`B_{ij}=b_{i-j}` for :math:`0\\le i-j<l`, else 0.

Every linear form subtracts :math:`m_i=\\max_{c\\ \\text{seen}} Q_iC_c^\\top` (and the largest local score)
before the exponential, the maximum over the codes that occur among the keys row :math:`i` may see: every
:math:`\\hat K_j` is a code, so :math:`m_i` is exactly dense attention's row maximum.  Nothing overflows, and the
largest term is 1, so no denominator underflows to 0 (taking the maximum over *all* codes would risk that when an
unused code scores far above the used ones).

Sparse attention (kexue.fm/archives/6853), positions :math:`0\\le i,j<n`:

* :func:`causal_mask`, :func:`atrous_mask` (:math:`k\\mid i-j`), :func:`local_mask` (:math:`|i-j|\\le k`),
  :func:`sparse_mask` (their union), :func:`mask_reachability` (which inputs a stack of masked layers can see);
* :func:`regroup`/:func:`ungroup` and :func:`atrous_attention` -- atrous attention as block-diagonal attention
  after grouping positions by residue mod :math:`k`, at :math:`1/k` of the dense cost.

Bad arguments raise ``TypeError`` (wrong type) or ``ValueError`` (wrong value), naming the argument
(through :mod:`kexue.checks`).
"""

from __future__ import annotations

from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from kexue import checks

__all__ = [
    "atrous_attention",
    "atrous_mask",
    "causal_mask",
    "dense_attention",
    "local_mask",
    "mask_reachability",
    "regroup",
    "sparse_mask",
    "ungroup",
    "vq_attention_blockwise",
    "vq_attention_causal",
    "vq_attention_linear",
    "vq_quantize",
    "window_bias",
]

Array = Any


# ------------------------------------------------------------------------------------------------ checks
def _qkv(Q: Array, K: Array, V: Array) -> tuple[Array, Array, Array]:
    """Q (n, d_k), K (m, d_k), V (m, d_v), float, as JAX arrays."""
    Q = checks.array(Q, "Q", ndim=2, kinds="f")
    K = checks.array(K, "K", ndim=2, kinds="f")
    V = checks.array(V, "V", ndim=2, kinds="f")
    if K.shape[1] != Q.shape[1]:
        raise ValueError(f"K: must have d_k = {Q.shape[1]} columns like Q, got shape {tuple(K.shape)}")
    if V.shape[0] != K.shape[0]:
        raise ValueError(f"V: must have {K.shape[0]} rows like K, got shape {tuple(V.shape)}")
    return jnp.asarray(Q), jnp.asarray(K), jnp.asarray(V)


def _vq_args(Q: Array, C: Array, onehot: Array, V: Array) -> tuple[Array, Array, Array, Array]:
    """Q (n, d_k), C (c, d_k), onehot (n, c), V (n, d_v)."""
    Q = checks.array(Q, "Q", ndim=2, kinds="f")
    C = checks.array(C, "C", ndim=2, kinds="f")
    onehot = checks.array(onehot, "onehot", ndim=2, kinds="iufb")
    V = checks.array(V, "V", ndim=2, kinds="f")
    n, dk = Q.shape
    if C.shape[1] != dk:
        raise ValueError(f"C: must have d_k = {dk} columns like Q, got shape {tuple(C.shape)}")
    if onehot.shape != (n, C.shape[0]):
        raise ValueError(f"onehot: expected shape {(n, C.shape[0])} (n positions, c codes), got {tuple(onehot.shape)}")
    if V.shape[0] != n:
        raise ValueError(f"V: must have n = {n} rows like Q, got shape {tuple(V.shape)}")
    dtype = jnp.result_type(Q.dtype, C.dtype, V.dtype)
    return jnp.asarray(Q), jnp.asarray(C), jnp.asarray(onehot, dtype), jnp.asarray(V)


def _square_mask(mask: Array, n: int, m: int) -> Array:
    mask = checks.array(mask, "mask", ndim=2, kinds="b")
    if tuple(mask.shape) != (n, m):
        raise ValueError(f"mask: expected shape {(n, m)}, got {tuple(mask.shape)}")
    return jnp.asarray(mask)


# ------------------------------------------------------------------------------------------------- masks
def causal_mask(n: int) -> np.ndarray:
    """The lower-triangular mask :math:`j\\le i` as an ``(n, n)`` bool array."""
    n = checks.count(n, "n")
    return np.tril(np.ones((n, n), dtype=bool))


def _offsets(n: int) -> np.ndarray:
    i = np.arange(n)
    return i[:, None] - i[None, :]


def atrous_mask(n: int, k: int) -> np.ndarray:
    """Atrous (dilated) attention: :math:`i` sees :math:`j` iff :math:`i-j` is a multiple of :math:`k`.

    Row :math:`i` keeps the :math:`\\lceil (n-r)/k\\rceil` or so positions of its residue class; for :math:`k\\mid n`
    the mask has exactly :math:`n^2/k` true entries.
    """
    n, k = checks.count(n, "n"), checks.count(k, "k")
    return _offsets(n) % k == 0


def local_mask(n: int, k: int) -> np.ndarray:
    """Local attention: :math:`i` sees :math:`j` iff :math:`|i-j|\\le k` (:math:`n(2k+1)-k(k+1)` entries for
    :math:`k<n`)."""
    n, k = checks.count(n, "n"), checks.count(k, "k", minimum=0)
    return np.abs(_offsets(n)) <= k


def sparse_mask(n: int, k: int) -> np.ndarray:
    """Sparse attention (the Sparse Transformer's pattern as 6853 draws it): local or atrous, ``local_mask(n, k)
    | atrous_mask(n, k)``."""
    return local_mask(n, k) | atrous_mask(n, k)


def mask_reachability(*masks: Array) -> np.ndarray:
    """Which inputs each output of a stack of masked attention layers can depend on.

    ``masks`` are given in layer order (the first acts on the inputs).  The result is the boolean product
    :math:`R = M_L \\cdots M_2 M_1`: :math:`R_{ij}` is true iff a chain
    :math:`i = h_L \\to h_{L-1} \\to \\dots \\to h_0 = j` with :math:`(M_l)_{h_l h_{l-1}}` true exists.
    """
    if not masks:
        raise ValueError("masks: give at least one mask")
    arrs = [checks.array(m, f"masks[{t}]", ndim=2, kinds="b") for t, m in enumerate(masks)]
    n = arrs[0].shape[0]
    for t, m in enumerate(arrs):
        if m.shape != (n, n):
            raise ValueError(f"masks[{t}]: expected shape {(n, n)}, got {tuple(m.shape)}")
    reach = arrs[0].astype(np.float64)  # 0/1 products in float64 (BLAS) count paths exactly up to 2**53
    for m in arrs[1:]:
        reach = (m.astype(np.float64) @ reach > 0).astype(np.float64)
    return reach > 0


def window_bias(n: int, b: Array) -> Array:
    """The sliding-window (Toeplitz) bias of Transformer-VQ: :math:`B_{ij} = b_{i-j}` for :math:`0\\le i-j<l`,
    0 elsewhere, with :math:`l` = ``len(b)``.

    This is the reading of 9844 under which "B touches at most the two nearest blocks" of size :math:`l` is
    true; the article's sentence says "0 when :math:`i<j` or :math:`i-j\\le l`", which would put the bias
    *outside* the window.
    """
    n = checks.count(n, "n")
    b = checks.array(b, "b", ndim=1, kinds="f")
    b = jnp.asarray(b)
    r = jnp.asarray(_offsets(n))
    inside = (r >= 0) & (r < b.shape[0])
    return jnp.where(inside, b[jnp.clip(r, 0, b.shape[0] - 1)], jnp.zeros((), b.dtype))


# ------------------------------------------------------------------------------------------------ dense
def dense_attention(Q: Array, K: Array, V: Array, *, mask: Array | None = None, bias: Array | None = None) -> Array:
    """Softmax attention, :math:`O_i=\\sum_j \\frac{e^{S_{ij}}}{\\sum_{j'} e^{S_{ij'}}} V_j` with
    :math:`S = QK^\\top + B`, the sums over :math:`j` where ``mask[i, j]`` is true.

    Computed as :math:`\\exp(S-m)V / \\exp(S-m)\\mathbf 1` with the row maximum :math:`m_i` (identity (C1) of
    9844, stabilised).  Every row of ``mask`` must keep at least one key.  Returns ``(n, d_v)``.
    """
    Q, K, V = _qkv(Q, K, V)
    S = Q @ K.T
    if bias is not None:
        bias = checks.array(bias, "bias", ndim=2, kinds="f")
        if tuple(bias.shape) != tuple(S.shape):
            raise ValueError(f"bias: expected shape {tuple(S.shape)}, got {tuple(bias.shape)}")
        S = S + jnp.asarray(bias)
    if mask is not None:
        S = jnp.where(_square_mask(mask, *S.shape), S, -jnp.inf)
    m = jax.lax.stop_gradient(jnp.max(S, axis=1, keepdims=True))
    E = jnp.exp(S - m)
    return (E @ V) / jnp.sum(E, axis=1, keepdims=True)


# -------------------------------------------------------------------------------------------------- VQ
def vq_quantize(K: Array, C: Array) -> tuple[Array, Array]:
    """Quantize each key to its nearest code: :math:`\\hat K = \\Delta C`, :math:`\\Delta_{ic}=1` for
    :math:`c=\\arg\\min_c\\|K_i-C_c\\|^2` (the first on ties).

    Returns ``(K_hat, onehot)``.  ``K_hat`` carries the straight-through estimator,
    :math:`\\hat K = K + \\operatorname{sg}(\\Delta C - K)`: its value is :math:`\\Delta C`, its Jacobian with
    respect to :math:`K` the identity, and no gradient reaches :math:`C` through it (the codebook is trained by
    its own loss or an EMA).  ``onehot`` has the dtype of ``K`` and no gradient.
    """
    K = checks.array(K, "K", ndim=2, kinds="f")
    C = checks.array(C, "C", ndim=2, kinds="f")
    if C.shape[1] != K.shape[1]:
        raise ValueError(f"C: must have d_k = {K.shape[1]} columns like K, got shape {tuple(C.shape)}")
    K, C = jnp.asarray(K), jnp.asarray(C)
    d2 = jnp.sum(K**2, 1)[:, None] - 2 * K @ C.T + jnp.sum(C**2, 1)[None, :]
    onehot = jax.nn.one_hot(jnp.argmin(jax.lax.stop_gradient(d2), axis=1), C.shape[0], dtype=K.dtype)
    hard = onehot @ jax.lax.stop_gradient(C)
    return K + jax.lax.stop_gradient(hard - K), onehot


def _stable_exp(S: Array, used: Array) -> Array:
    """:math:`\\exp(S - m)` over the codes in use (0 elsewhere), :math:`m` the largest used score of each row.

    Every :math:`\\hat K_j` is a code, so :math:`m_i` is exactly the row maximum of dense attention over the keys seen:
    nothing overflows, and the largest term is 1, so the denominator cannot underflow to 0.
    """
    S = jnp.where(used, S, -jnp.inf)
    return jnp.exp(S - jax.lax.stop_gradient(jnp.max(S, axis=-1, keepdims=True)))


def vq_attention_linear(Q: Array, C: Array, onehot: Array, V: Array, *, stabilize: bool = True) -> Array:
    """Bidirectional VQ attention in :math:`O(nc(d_k+d_v))`:

    .. math::

        O = \\frac{\\exp(QC^\\top - m)\\,(\\Delta^\\top V)}{\\exp(QC^\\top - m)\\,(\\Delta^\\top \\mathbf 1)},
        \\qquad m_i = \\max_{c\\,\\text{used}} Q_iC_c^\\top,

    equal to ``dense_attention(Q, onehot @ C, V)``.  ``stabilize=False`` leaves out :math:`m` (the article's
    formula as written), which overflows once a score exceeds about 88 (float32) or 709 (float64).
    """
    Q, C, D, V = _vq_args(Q, C, onehot, V)
    S, counts = Q @ C.T, jnp.sum(D, axis=0)
    E = _stable_exp(S, counts > 0) if checks.flag(stabilize, "stabilize") else jnp.exp(S)
    return (E @ (D.T @ V)) / (E @ counts[:, None])


def vq_attention_causal(Q: Array, C: Array, onehot: Array, V: Array, *,
                        method: Literal["cumsum", "scan"] = "cumsum") -> Array:
    """Causal VQ attention, :math:`O_i = \\exp(Q_iC^\\top - m_i)U_i / \\exp(Q_iC^\\top - m_i)z_i` with

    .. math::

        U_i = U_{i-1} + \\Delta_i^\\top V_i, \\qquad z_i = z_{i-1} + \\Delta_i^\\top, \\qquad U_{-1}=0,\\ z_{-1}=0,

    i.e. :math:`U_i=\\sum_{j\\le i}\\Delta_j^\\top V_j`.  ``method="cumsum"`` stores every :math:`U_i`
    (:math:`n\\times c\\times d_v` numbers); ``"scan"`` runs the recurrence as an RNN with a :math:`c\\times d_v`
    state.  Both subtract the row maximum over the codes seen so far.  Equal to
    ``dense_attention(Q, onehot @ C, V, mask=causal_mask(n))``.
    """
    Q, C, D, V = _vq_args(Q, C, onehot, V)
    method = checks.one_of(method, "method", ("cumsum", "scan"))
    if method == "cumsum":
        U = jnp.cumsum(D[:, :, None] * V[:, None, :], axis=0)
        z = jnp.cumsum(D, axis=0)
        E = _stable_exp(Q @ C.T, z > 0)
        return jnp.einsum("nc,ncv->nv", E, U) / jnp.sum(E * z, axis=1, keepdims=True)

    def step(carry: tuple[Array, Array], x: tuple[Array, Array, Array]) -> tuple[tuple[Array, Array], Array]:
        U, z = carry
        q, d, v = x
        U, z = U + d[:, None] * v[None, :], z + d
        e = _stable_exp(q @ C.T, z > 0)
        return (U, z), (e @ U) / (e @ z)

    init = (jnp.zeros((C.shape[0], V.shape[1]), V.dtype), jnp.zeros(C.shape[0], V.dtype))
    return jax.lax.scan(step, init, (Q, D, V))[1]


def _block_biases(b: Array, l: int) -> tuple[Array, Array]:
    """The window bias restricted to the diagonal block (with the causal mask) and to the block before it."""
    a = np.arange(l)
    r = a[:, None] - a[None, :]  # i - j inside one block
    diag = jnp.where(jnp.asarray(r >= 0), b[np.clip(r, 0, l - 1)], -jnp.inf)
    dist = l + r  # i - j from block i to block i - 1, in [1, 2l - 1]
    prev = jnp.where(jnp.asarray(dist < l), b[np.clip(dist, 0, l - 1)], jnp.zeros((), b.dtype))
    return diag, prev


def vq_attention_blockwise(Q: Array, K_hat: Array, C: Array, onehot: Array, V: Array, *, block: int,
                           bias: Array | None = None, stop_history: bool = False) -> Array:
    """Causal VQ attention block by block, with Transformer-VQ's window bias (eq. ``tvq`` of 9844).

    With blocks :math:`[i]` of ``block`` :math:`=l` positions, :math:`B` = :func:`window_bias` ``(n, bias)``
    and :math:`U_i=\\sum_{j\\le i}\\Delta_{[j]}^\\top V_{[j]}` (so :math:`U_{-1}=U_{-2}=0`),

    .. math::

        O_{[i]} \\propto \\exp(Q_{[i]}\\hat K_{[i]}^\\top + B_{[i,i]})V_{[i]}
        + \\exp(Q_{[i]}\\hat K_{[i-1]}^\\top + B_{[i,i-1]})V_{[i-1]} + \\exp(Q_{[i]}C^\\top)\\,U_{i-2},

    :math:`B_{[i,i]}` including the causal mask; the denominator is the same with :math:`V\\to\\mathbf 1`.  The
    blocks run in a ``lax.scan`` that carries :math:`U_{i-2}` and the counts.  ``bias`` is the vector
    :math:`(b_0,\\dots,b_{l-1})` (``None``: no bias, plain causal VQ attention); ``stop_history=True`` stops the
    gradient through the history term, as Transformer-VQ trains (the two exact blocks keep theirs).  ``n``
    must be a multiple of ``block``.  Equal to ``dense_attention(Q, K_hat, V, mask=causal_mask(n),
    bias=window_bias(n, bias))`` whenever ``K_hat = onehot @ C``.
    """
    Q, C, D, V = _vq_args(Q, C, onehot, V)
    K_hat = checks.array(K_hat, "K_hat", shape=(Q.shape[0], Q.shape[1]), kinds="f")
    K_hat = jnp.asarray(K_hat)
    n, l = Q.shape[0], checks.count(block, "block")
    if n % l:
        raise ValueError(f"block: must divide n = {n}, got {l}")
    stop_history = checks.flag(stop_history, "stop_history")
    b = jnp.zeros(l, Q.dtype) if bias is None else jnp.asarray(checks.array(bias, "bias", shape=(l,), kinds="f"))
    diag, prev = _block_biases(b, l)
    nb, c, dv = n // l, C.shape[0], V.shape[1]
    Qb, Kb, Vb, Db = (x.reshape(nb, l, -1) for x in (Q, K_hat, V, D))
    shift = lambda x: jnp.concatenate([jnp.zeros_like(x[:1]), x[:-1]])  # noqa: E731  block i-1 (zeros for i=0)
    first = (jnp.arange(nb) == 0)[:, None, None]

    def step(carry: tuple[Array, Array, Array, Array], x: tuple[Array, ...]) -> tuple[tuple[Array, ...], Array]:
        U, z, P, p = carry  # U_{i-2}, its counts, and block i-1's Δᵀ V and counts
        q, k, v, d, k1, v1, first_i = x
        if stop_history:
            U = jax.lax.stop_gradient(U)
        s_d = q @ k.T + diag
        s_p = jnp.where(first_i, -jnp.inf, q @ k1.T + prev)
        s_h = jnp.where(z > 0, q @ C.T, -jnp.inf)  # only the codes present in the history
        m = jax.lax.stop_gradient(jnp.maximum(jnp.maximum(s_d.max(1), s_p.max(1)), s_h.max(1)))[:, None]
        e_d, e_p, e_h = jnp.exp(s_d - m), jnp.exp(s_p - m), jnp.exp(s_h - m)
        num = e_d @ v + e_p @ v1 + e_h @ U
        den = e_d.sum(1) + e_p.sum(1) + e_h @ z
        return (U + P, z + p, d.T @ v, d.sum(0)), num / den[:, None]

    init = (jnp.zeros((c, dv), V.dtype), jnp.zeros(c, V.dtype), jnp.zeros((c, dv), V.dtype), jnp.zeros(c, V.dtype))
    out = jax.lax.scan(step, init, (Qb, Kb, Vb, Db, shift(Kb), shift(Vb), first))[1]
    return out.reshape(n, dv)


# ------------------------------------------------------------------------------------------------ sparse
def regroup(X: Array, k: int) -> Array:
    """Group the rows of ``X`` (``(n, d)``, :math:`k\\mid n`) by residue mod :math:`k`: row :math:`i=ak+r` goes
    to ``out[r, a]``, so ``out`` is ``(k, n/k, d)`` (a reshape to :math:`(n/k, k, d)` and a transpose)."""
    X = checks.array(X, "X", ndim=2, kinds="f")
    k = checks.count(k, "k")
    if X.shape[0] % k:
        raise ValueError(f"k: must divide n = {X.shape[0]}, got {k}")
    return jnp.swapaxes(jnp.asarray(X).reshape(X.shape[0] // k, k, -1), 0, 1)


def ungroup(G: Array) -> Array:
    """The inverse of :func:`regroup`: ``(k, n/k, d)`` back to ``(n, d)``."""
    G = checks.array(G, "G", ndim=3, kinds="f")
    return jnp.swapaxes(jnp.asarray(G), 0, 1).reshape(-1, G.shape[2])


def atrous_attention(Q: Array, K: Array, V: Array, k: int) -> Array:
    """Atrous attention by regrouping: dense attention inside each residue class mod :math:`k`, then back.

    Equal to ``dense_attention(Q, K, V, mask=atrous_mask(n, k))`` (claim C1 of 6853), at :math:`k` blocks of
    :math:`(n/k)^2` scores, i.e. :math:`1/k` of the dense cost.  :math:`k` must divide :math:`n`.
    """
    Q, K, V = _qkv(Q, K, V)
    if K.shape[0] != Q.shape[0]:
        raise ValueError(f"K: self-attention needs n = {Q.shape[0]} rows like Q, got shape {tuple(K.shape)}")
    Gq, Gk, Gv = regroup(Q, k), regroup(K, k), regroup(V, k)
    return ungroup(jax.vmap(lambda q, kk, v: dense_attention(q, kk, v))(Gq, Gk, Gv))
