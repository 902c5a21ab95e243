"""DDPM as demolition and rebuilding, in the notation of 苏剑林's article and of Ho et al. (chapter 9).

**The article's notation** (kexue.fm/archives/9119). One demolition step is

.. math::

    x_t = \\alpha_t x_{t-1} + \\beta_t\\varepsilon_t,\\qquad \\alpha_t^2+\\beta_t^2=1,\\qquad
    \\varepsilon_t\\sim\\mathcal N(0, I),

and :math:`T` of them compose to :math:`x_t=\\bar\\alpha_t x_0+\\bar\\beta_t\\bar\\varepsilon_t` with
:math:`\\bar\\alpha_t=\\alpha_1\\cdots\\alpha_t` and :math:`\\bar\\beta_t=\\sqrt{1-\\bar\\alpha_t^2}`.  A
:class:`Schedule` holds these four arrays, entry ``t - 1`` for time ``t = 1..T``.

**Ho et al. (2020)** write :math:`\\beta^{\\rm H}_t`, :math:`\\alpha^{\\rm H}_t=1-\\beta^{\\rm H}_t`,
:math:`\\bar\\alpha^{\\rm H}_t=\\prod_{s\\le t}\\alpha^{\\rm H}_s` (:class:`HoSchedule`).  The map is

.. math::

    \\beta^{\\rm H}_t=\\beta_t^2,\\quad \\alpha^{\\rm H}_t=\\alpha_t^2,\\quad \\bar\\alpha^{\\rm H}_t=\\bar\\alpha_t^2,
    \\quad 1-\\bar\\alpha^{\\rm H}_t=\\bar\\beta_t^2,\\qquad
    \\epsilon^{\\rm H}_\\theta=\\frac{\\bar\\beta_t}{\\beta_t}\\,\\epsilon_\\theta

(:func:`to_ho`, :func:`from_ho`, :func:`eps_to_ho`, :func:`eps_from_ho`).  The network of this module always
predicts Ho's :math:`\\epsilon^{\\rm H}_\\theta(x_t, t)`, the noise :math:`\\bar\\varepsilon_t` inside :math:`x_t`
(what the article's final loss trains: its :math:`\\frac{\\bar\\beta_t}{\\beta_t}\\epsilon_\\theta`).

* :func:`ddpm_schedule` -- Ho's linear schedule, or the article's :math:`\\alpha_t=\\sqrt{1-0.02t/T}`;
  :func:`schedule_from_alpha`; :func:`respace` (fewer sampling steps with the same :math:`\\bar\\alpha`'s);
* :func:`noisy` -- :math:`x_t=\\bar\\alpha_t x_0+\\bar\\beta_t\\varepsilon`;
* :func:`ddpm_loss` -- the variance-reduced loss :math:`\\|\\varepsilon-\\epsilon^{\\rm H}_\\theta(\\bar\\alpha_t x_0+
  \\bar\\beta_t\\varepsilon, t)\\|^2`, and :func:`two_noise_loss`, the article's loss before the two noises are
  merged; :func:`ddpm_loss_sample` draws :math:`t`, :math:`\\varepsilon` and averages;
* :func:`sample` -- the rebuilding chain, written in either notation (the schedule's type decides);
* :func:`sinusoidal_time_embedding` -- the Transformer's sinusoidal features of :math:`t`.

Bad arguments raise ``TypeError`` (wrong type) or ``ValueError`` (wrong value), naming the argument
(through :mod:`kexue.checks`).  Functions that take traced values (:func:`noisy`, the losses, the time
embedding) check shapes and dtypes only under ``jit``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kexue import checks

__all__ = [
    "HoSchedule",
    "SIGMAS",
    "Schedule",
    "ddpm_loss",
    "ddpm_loss_sample",
    "ddpm_schedule",
    "eps_from_ho",
    "eps_to_ho",
    "from_ho",
    "noisy",
    "respace",
    "sample",
    "schedule_from_alpha",
    "sinusoidal_time_embedding",
    "to_ho",
    "two_noise_loss",
]

#: The reverse-step noise levels :func:`sample` knows: the article's :math:`\sigma_t=\beta_t`, the posterior
#: :math:`\sigma_t=\beta_t\bar\beta_{t-1}/\bar\beta_t` (Ho's :math:`\tilde\beta_t`), or none (greedy).
SIGMAS = ("beta", "posterior", "zero")

EpsFn = Callable[[jax.Array, jax.Array], jax.Array]


class Schedule(NamedTuple):
    """A noise schedule in the article's notation; entry ``t - 1`` belongs to time ``t = 1..T`` (float64).

    ``alpha``, ``beta`` with :math:`\\alpha_t^2+\\beta_t^2=1`; ``alpha_bar`` :math:`=\\prod_{s\\le t}\\alpha_s`;
    ``beta_bar`` :math:`=\\sqrt{1-\\bar\\alpha_t^2}`.
    """

    alpha: np.ndarray
    beta: np.ndarray
    alpha_bar: np.ndarray
    beta_bar: np.ndarray

    @property
    def T(self) -> int:
        """The number of steps."""
        return int(self.alpha.shape[0])


class HoSchedule(NamedTuple):
    """The same schedule in Ho et al.'s notation: ``beta`` :math:`=\\beta^{\\rm H}_t`, ``alpha``
    :math:`=1-\\beta^{\\rm H}_t`, ``alpha_bar`` :math:`=\\prod_{s\\le t}\\alpha^{\\rm H}_s` (entry ``t - 1``)."""

    beta: np.ndarray
    alpha: np.ndarray
    alpha_bar: np.ndarray

    @property
    def T(self) -> int:
        """The number of steps."""
        return int(self.beta.shape[0])


# ------------------------------------------------------------------------------------------- schedules
def schedule_from_alpha(alpha: Any) -> Schedule:
    """The article's schedule from its :math:`\\alpha_1..\\alpha_T\\in(0,1)`:

    .. math::

        \\beta_t=\\sqrt{(1-\\alpha_t)(1+\\alpha_t)},\\qquad \\bar\\alpha_t=\\exp\\sum_{s\\le t}\\log\\alpha_s,\\qquad
        \\bar\\beta_t=\\sqrt{-\\operatorname{expm1}(2\\log\\bar\\alpha_t)}

    (written so that no :math:`1-x` loses digits when :math:`x` is near 1).

    Raises:
        TypeError: ``alpha`` is not a real array.
        ValueError: ``alpha`` is not 1-D and non-empty, or has an entry outside ``(0, 1)``.
    """
    a = checks.array(alpha, "alpha", ndim=1, kinds="iuf").astype(np.float64)
    if not np.all((a > 0) & (a < 1)):
        raise ValueError(f"alpha: every entry must lie in (0, 1), got min {a.min():.6g}, max {a.max():.6g}")
    return _build(a, np.sqrt((1 - a) * (1 + a)), np.log(a))


def _build(alpha: np.ndarray, beta: np.ndarray, log_alpha: np.ndarray) -> Schedule:
    """The schedule from :math:`\\alpha_t`, :math:`\\beta_t` and :math:`\\log\\alpha_t`, each computed where it is exact."""
    log_abar = np.cumsum(log_alpha)
    return Schedule(alpha, beta, np.exp(log_abar), np.sqrt(-np.expm1(2 * log_abar)))


def _from_beta_ho(b: np.ndarray) -> Schedule:
    """From Ho's :math:`\\beta^{\\rm H}_t`: :math:`\\beta_t=\\sqrt{\\beta^{\\rm H}_t}`,
    :math:`\\log\\alpha_t=\\tfrac12\\operatorname{log1p}(-\\beta^{\\rm H}_t)` (no digits lost for small :math:`\\beta^{\\rm H}_t`)."""
    return _build(np.sqrt(1 - b), np.sqrt(b), 0.5 * np.log1p(-b))


def ddpm_schedule(T: int, kind: Literal["linear", "article"] = "linear", *, beta_min: float = 1e-4,
                  beta_max: float = 0.02) -> Schedule:
    """A schedule of ``T`` steps in the article's notation.

    * ``"linear"``: Ho et al.'s :math:`\\beta^{\\rm H}_t` linear from ``beta_min`` (:math:`t=1`) to ``beta_max``
      (:math:`t=T`), so :math:`\\alpha_t=\\sqrt{1-\\beta^{\\rm H}_t}` (Ho et al.: :math:`T=1000`, :math:`10^{-4}`
      to :math:`0.02`);
    * ``"article"``: the article's rounding of it, :math:`\\alpha_t=\\sqrt{1-\\beta_{\\max}t/T}` (``beta_min`` is
      not used), for which :math:`\\log\\bar\\alpha_T<-\\tfrac{\\beta_{\\max}}{4}(T+1)` (:math:`-0.005(T+1)`).

    Raises:
        TypeError: ``T`` not an int, ``beta_min``/``beta_max`` not real numbers.
        ValueError: ``T < 1``; ``kind`` unknown; ``beta_max`` outside ``(0, 1)``; for ``"linear"``,
            ``beta_min`` outside ``(0, beta_max]``.
    """
    T = checks.count(T, "T")
    kind = checks.one_of(kind, "kind", ("linear", "article"))
    beta_max = checks.real(beta_max, "beta_max", positive=True)
    if not beta_max < 1:
        raise ValueError(f"beta_max: must be < 1, got {beta_max}")
    t = np.arange(1, T + 1, dtype=np.float64)
    if kind == "article":
        beta_ho = beta_max * t / T
    else:
        beta_min = checks.real(beta_min, "beta_min", positive=True)
        if beta_min > beta_max:
            raise ValueError(f"beta_min: must be <= beta_max = {beta_max}, got {beta_min}")
        beta_ho = np.full(T, beta_max) if T == 1 else beta_min + (beta_max - beta_min) * (t - 1) / (T - 1)
    return _from_beta_ho(beta_ho)


def _schedule(s: Any, name: str = "schedule") -> Schedule:
    if not isinstance(s, Schedule):
        raise TypeError(f"{name}: expected a kexue.diffusion.Schedule, got {type(s).__name__}")
    return s


def to_ho(schedule: Schedule) -> HoSchedule:
    """Ho et al.'s symbols for the article's schedule: :math:`\\beta^{\\rm H}_t=\\beta_t^2`,
    :math:`\\alpha^{\\rm H}_t=\\alpha_t^2`, :math:`\\bar\\alpha^{\\rm H}_t=\\bar\\alpha_t^2`."""
    s = _schedule(schedule)
    return HoSchedule(s.beta**2, s.alpha**2, s.alpha_bar**2)


def from_ho(beta: Any) -> Schedule:
    """The article's schedule from Ho et al.'s :math:`\\beta^{\\rm H}_1..\\beta^{\\rm H}_T\\in(0,1)` (an array or
    a :class:`HoSchedule`): :math:`\\alpha_t=\\sqrt{1-\\beta^{\\rm H}_t}`.

    Raises ``TypeError``/``ValueError`` naming ``beta`` for a non-real, empty, non-1-D array or an entry outside
    ``(0, 1)``."""
    b = beta.beta if isinstance(beta, HoSchedule) else beta
    b = checks.array(b, "beta", ndim=1, kinds="iuf").astype(np.float64)
    if not np.all((b > 0) & (b < 1)):
        raise ValueError(f"beta: every entry must lie in (0, 1), got min {b.min():.6g}, max {b.max():.6g}")
    return _from_beta_ho(b)


def _times(t: Any, T: int, name: str = "t") -> Any:
    """Integer times in 1..T (checked when concrete)."""
    arr = checks.array(t, name, kinds="iu", min_size=0)
    if not checks.is_traced(t) and arr.size and (arr.min() < 1 or arr.max() > T):
        raise ValueError(f"{name}: times must lie in 1..{T}, got min {arr.min()}, max {arr.max()}")
    return jnp.asarray(t)


def eps_to_ho(eps: jax.Array, schedule: Schedule, t: Any) -> jax.Array:
    """Ho's :math:`\\epsilon^{\\rm H}_\\theta=\\frac{\\bar\\beta_t}{\\beta_t}\\epsilon_\\theta` from the article's
    :math:`\\epsilon_\\theta` at integer times ``t`` (broadcast against ``eps``'s leading axes)."""
    s = _schedule(schedule)
    t = _times(t, s.T)
    r = jnp.asarray(s.beta_bar / s.beta, jnp.result_type(eps))[t - 1]
    return eps * r.reshape(r.shape + (1,) * (jnp.ndim(eps) - r.ndim))


def eps_from_ho(eps: jax.Array, schedule: Schedule, t: Any) -> jax.Array:
    """The article's :math:`\\epsilon_\\theta=\\frac{\\beta_t}{\\bar\\beta_t}\\epsilon^{\\rm H}_\\theta` from Ho's, at
    integer times ``t``."""
    s = _schedule(schedule)
    t = _times(t, s.T)
    r = jnp.asarray(s.beta / s.beta_bar, jnp.result_type(eps))[t - 1]
    return eps * r.reshape(r.shape + (1,) * (jnp.ndim(eps) - r.ndim))


def respace(schedule: Schedule, n: int) -> tuple[np.ndarray, Schedule]:
    """``n`` rebuilding steps instead of ``T``: the times :math:`\\tau_k=\\lceil kT/n\\rceil`, ``k = 1..n``
    (so :math:`\\tau_n=T`), and the schedule that demolishes in ``n`` steps through the same
    :math:`\\bar\\alpha_{\\tau_k}`:

    .. math::

        \\alpha'_k=\\bar\\alpha_{\\tau_k}/\\bar\\alpha_{\\tau_{k-1}}\\quad(\\bar\\alpha_{\\tau_0}=1),\\qquad
        \\bar\\alpha'_k=\\bar\\alpha_{\\tau_k},\\qquad\\bar\\beta'_k=\\bar\\beta_{\\tau_k}.

    A network trained on the ``T``-step schedule predicts the noise of :math:`x_{\\tau_k}` as well, so
    :func:`sample` with ``times=τ`` reuses it.  ``n = T`` returns the schedule itself.

    Raises ``TypeError`` for a non-:class:`Schedule` or non-int ``n``; ``ValueError`` unless ``1 <= n <= T``.
    """
    s = _schedule(schedule)
    n = checks.count(n, "n", maximum=s.T)
    times = -((-np.arange(1, n + 1) * s.T) // n)  # ceil(kT/n)
    log_abar = np.log(s.alpha_bar[times - 1])
    alpha = np.exp(np.diff(np.r_[0.0, log_abar]))
    return times.astype(np.int32), Schedule(alpha, np.sqrt((1 - alpha) * (1 + alpha)), s.alpha_bar[times - 1],
                                            s.beta_bar[times - 1])


# ------------------------------------------------------------------------------------------- the losses
def _coef(values: np.ndarray, t: jax.Array, like: jax.Array) -> jax.Array:
    """``values[t - 1]`` in ``like``'s dtype, shaped to broadcast against ``like`` (batch axis first)."""
    c = jnp.asarray(values, like.dtype)[t - 1]
    return c.reshape(c.shape + (1,) * (like.ndim - c.ndim))


def _float_array(x: Any, name: str) -> jax.Array:
    checks.array(x, name, kinds="f", ndim=(1, 2, 3, 4, 5))
    return jnp.asarray(x)


def noisy(x0: jax.Array, eps: jax.Array, schedule: Schedule, t: Any) -> jax.Array:
    """The demolished sample :math:`x_t=\\bar\\alpha_t x_0+\\bar\\beta_t\\varepsilon` (the skip formula).

    ``x0`` and ``eps`` are float arrays ``(batch, ...)``, ``t`` integer times ``(batch,)`` in ``1..T``; the
    result has ``x0``'s dtype.
    """
    s = _schedule(schedule)
    x0, eps = _float_array(x0, "x0"), _float_array(eps, "eps")
    if x0.shape != eps.shape:
        raise ValueError(f"eps: must have x0's shape {x0.shape}, got {eps.shape}")
    t = _times(t, s.T)
    return _coef(s.alpha_bar, t, x0) * x0 + _coef(s.beta_bar, t, x0) * eps.astype(x0.dtype)


def _sq(x: jax.Array) -> jax.Array:
    return jnp.sum(x.reshape(x.shape[0], -1) ** 2, axis=1)


def ddpm_loss(eps_fn: EpsFn, x0: jax.Array, t: Any, eps: jax.Array, schedule: Schedule) -> jax.Array:
    """The variance-reduced loss per sample, :math:`\\|\\varepsilon-\\epsilon^{\\rm H}_\\theta(\\bar\\alpha_t x_0+
    \\bar\\beta_t\\varepsilon,\\ t)\\|^2` (shape ``(batch,)``).

    In the article's symbols :math:`\\epsilon^{\\rm H}_\\theta=\\frac{\\bar\\beta_t}{\\beta_t}\\epsilon_\\theta`; the
    article's derivation gives, for each :math:`x_0, t, \\varepsilon`,

    .. math::

        \\mathbb E_\\omega\\|\\varepsilon_t-\\epsilon_\\theta\\|^2=\\frac{\\beta_t^2}{\\bar\\beta_t^2}
        \\|\\varepsilon-\\tfrac{\\bar\\beta_t}{\\beta_t}\\epsilon_\\theta\\|^2+d\\,\\frac{\\alpha_t^2\\bar\\beta_{t-1}^2}
        {\\bar\\beta_t^2}

    (:func:`two_noise_loss` is the left side before the average over :math:`\\omega`; :math:`d` the dimension).
    ``eps_fn(x_t, t)`` predicts the noise :math:`\\bar\\varepsilon_t`.
    """
    checks.callable_(eps_fn, "eps_fn")
    x_t = noisy(x0, eps, schedule, t)
    return _sq(eps.astype(x_t.dtype) - eps_fn(x_t, jnp.asarray(t)))


def two_noise_loss(eps_fn: EpsFn, x0: jax.Array, t: Any, eps_bar_prev: jax.Array, eps_t: jax.Array,
                   schedule: Schedule) -> jax.Array:
    """The article's loss before the merge, per sample: with
    :math:`x_t=\\bar\\alpha_t x_0+\\alpha_t\\bar\\beta_{t-1}\\bar\\varepsilon_{t-1}+\\beta_t\\varepsilon_t`,

    .. math::

        \\|\\varepsilon_t-\\epsilon_\\theta(x_t,t)\\|^2,\\qquad
        \\epsilon_\\theta=\\frac{\\beta_t}{\\bar\\beta_t}\\,\\epsilon^{\\rm H}_\\theta,

    where ``eps_fn`` computes :math:`\\epsilon^{\\rm H}_\\theta` (as in :func:`ddpm_loss`).  Its average over the
    two noises equals :func:`ddpm_loss`'s times :math:`\\beta_t^2/\\bar\\beta_t^2` plus
    :math:`d\\,\\alpha_t^2\\bar\\beta_{t-1}^2/\\bar\\beta_t^2`, with a larger variance (law of total variance).
    """
    s = _schedule(schedule)
    checks.callable_(eps_fn, "eps_fn")
    x0, e1, e2 = _float_array(x0, "x0"), _float_array(eps_bar_prev, "eps_bar_prev"), _float_array(eps_t, "eps_t")
    if not x0.shape == e1.shape == e2.shape:
        raise ValueError(f"eps_bar_prev, eps_t: must have x0's shape {x0.shape}, got {e1.shape} and {e2.shape}")
    t = _times(t, s.T)
    bbar_prev = np.r_[0.0, s.beta_bar[:-1]]
    x_t = (_coef(s.alpha_bar, t, x0) * x0 + _coef(s.alpha * bbar_prev, t, x0) * e1.astype(x0.dtype)
           + _coef(s.beta, t, x0) * e2.astype(x0.dtype))
    eps_article = _coef(s.beta / s.beta_bar, t, x0) * eps_fn(x_t, t)
    return _sq(e2.astype(x0.dtype) - eps_article)


def ddpm_loss_sample(eps_fn: EpsFn, x0: jax.Array, key: jax.Array, schedule: Schedule) -> jax.Array:
    """A Monte Carlo estimate of the training loss: :math:`t\\sim\\mathcal U\\{1..T\\}` and
    :math:`\\varepsilon\\sim\\mathcal N(0,I)` per sample (in ``x0``'s dtype), the mean of :func:`ddpm_loss`."""
    s = _schedule(schedule)
    key = checks.prng_key(key)
    x0 = _float_array(x0, "x0")
    k_t, k_e = jax.random.split(key)
    t = jax.random.randint(k_t, (x0.shape[0],), 1, s.T + 1)
    eps = jax.random.normal(k_e, x0.shape, x0.dtype)
    return jnp.mean(ddpm_loss(eps_fn, x0, t, eps, s))


# ------------------------------------------------------------------------------------------- the sampler
def _sigmas(s: Schedule, sigma: str) -> np.ndarray:
    bbar_prev = np.r_[0.0, s.beta_bar[:-1]]
    return {"beta": s.beta, "posterior": s.beta * bbar_prev / s.beta_bar, "zero": np.zeros(s.T)}[sigma]


def _sigmas_ho(h: HoSchedule, sigma: str) -> np.ndarray:
    abar_prev = np.r_[1.0, h.alpha_bar[:-1]]
    return {"beta": np.sqrt(h.beta), "posterior": np.sqrt(h.beta * (1 - abar_prev) / (1 - h.alpha_bar)),
            "zero": np.zeros(h.T)}[sigma]


def sample(eps_fn: EpsFn, schedule: Schedule | HoSchedule, x_T: jax.Array, key: jax.Array, *,
           times: Any = None, sigma: str = "beta", return_path: bool = False) -> jax.Array:
    """Rebuild: run the reverse chain from ``x_T`` down to :math:`x_0` and return it.

    With a :class:`Schedule` the step is written as in the article,

    .. math::

        x_{t-1}=\\frac1{\\alpha_t}\\Big(x_t-\\beta_t\\,\\epsilon_\\theta(x_t,t)\\Big)+\\sigma_tz,\\qquad
        \\epsilon_\\theta=\\frac{\\beta_t}{\\bar\\beta_t}\\,\\epsilon^{\\rm H}_\\theta,

    with a :class:`HoSchedule` as in Ho et al.'s Algorithm 2,
    :math:`x_{t-1}=\\frac1{\\sqrt{\\alpha^{\\rm H}_t}}\\big(x_t-\\frac{\\beta^{\\rm H}_t}{\\sqrt{1-\\bar\\alpha^{\\rm H}_t}}
    \\epsilon^{\\rm H}_\\theta\\big)+\\sigma_tz`.  Under :func:`to_ho` the two are the same chain.
    ``eps_fn(x, t)`` returns Ho's :math:`\\epsilon^{\\rm H}_\\theta` for a batch ``x`` at the integer time ``t``
    (a scalar).  ``sigma``: ``"beta"`` (the article's :math:`\\sigma_t=\\beta_t`, Ho's
    :math:`\\sigma_t^2=\\beta^{\\rm H}_t`), ``"posterior"`` (:math:`\\beta_t\\bar\\beta_{t-1}/\\bar\\beta_t`, Ho's
    :math:`\\tilde\\beta_t`) or ``"zero"``.  As in Ho et al., no noise is added at the last step.
    :math:`z` at step ``k`` (counted ``1..n`` from the end) is ``normal(fold_in(key, k))`` in ``x_T``'s dtype, so
    both notations draw the same noise.

    ``times`` (default ``1..T``) are the network's time labels of the schedule's steps, e.g. from
    :func:`respace`.  ``return_path=True`` returns all states ``(n + 1, *x_T.shape)``, :math:`x_n` first.

    Raises:
        TypeError: ``eps_fn`` not callable; ``schedule`` of another type; ``x_T`` not a float array; ``key``
            not a PRNG key; ``return_path`` not a bool.
        ValueError: ``sigma`` unknown; ``times`` not ``T`` increasing positive integers.
    """
    checks.callable_(eps_fn, "eps_fn")
    if not isinstance(schedule, (Schedule, HoSchedule)):
        raise TypeError(f"schedule: expected a Schedule or a HoSchedule, got {type(schedule).__name__}")
    x_T = _float_array(x_T, "x_T")
    key = checks.prng_key(key)
    sigma = checks.one_of(sigma, "sigma", SIGMAS)
    return_path = checks.flag(return_path, "return_path")
    n = schedule.T
    if times is None:
        times = np.arange(1, n + 1)
    times = checks.array(times, "times", ndim=1, kinds="iu")
    if times.shape != (n,) or times.min() < 1 or np.any(np.diff(times) <= 0):
        raise ValueError(f"times: must be {n} strictly increasing integers >= 1, got shape {times.shape}")
    dt = x_T.dtype
    if isinstance(schedule, Schedule):
        sig = _sigmas(schedule, sigma)
        c_in = 1 / schedule.alpha                                     # x_{t-1} = c_in (x_t - c_eps ε^H) + σ z
        c_eps = schedule.beta * (schedule.beta / schedule.beta_bar)   # β_t · ε_θ with ε_θ = (β_t/β̄_t) ε^H
    else:
        sig = _sigmas_ho(schedule, sigma)
        c_in = 1 / np.sqrt(schedule.alpha)
        c_eps = schedule.beta / np.sqrt(1 - schedule.alpha_bar)
    sig = np.where(np.arange(1, n + 1) == 1, 0.0, sig)                # no noise at the last step
    table = (jnp.asarray(np.arange(1, n + 1)), jnp.asarray(times), jnp.asarray(c_in, dt), jnp.asarray(c_eps, dt),
             jnp.asarray(sig, dt))

    def body(x: jax.Array, row: tuple) -> tuple[jax.Array, jax.Array]:
        k, t, a, b, s = row
        z = jax.random.normal(jax.random.fold_in(key, k), x.shape, dt)
        x = a * (x - b * eps_fn(x, t).astype(dt)) + s * z
        return x, x

    rows = jax.tree.map(lambda v: v[::-1], table)                     # t = n, n-1, ..., 1
    x0, path = jax.lax.scan(body, x_T, rows)
    return jnp.concatenate([x_T[None], path]) if return_path else x0


# ------------------------------------------------------------------------------------------- time features
def sinusoidal_time_embedding(t: Any, dim: int, *, max_period: float = 10_000.0, dtype: Any = jnp.float32) -> jax.Array:
    """The Transformer's sinusoidal features of the time ``t`` (any shape), shape ``(*t.shape, dim)``:

    .. math::

        e(t)=\\big(\\sin(t\\omega_0),\\dots,\\sin(t\\omega_{h-1}),\\ \\cos(t\\omega_0),\\dots,\\cos(t\\omega_{h-1})\\big),
        \\qquad \\omega_k=P^{-k/h},\\quad h=\\mathrm{dim}/2,

    with :math:`P` = ``max_period``.  Ho et al. feed these (of :math:`t`) to every residual block.

    Raises ``TypeError`` for a non-int ``dim`` or a non-real ``t``/``max_period``; ``ValueError`` for an odd
    ``dim < 2`` or a ``max_period`` that is not > 1.
    """
    dim = checks.count(dim, "dim", minimum=2)
    if dim % 2:
        raise ValueError(f"dim: must be even, got {dim}")
    max_period = checks.real(max_period, "max_period")
    if not max_period > 1:
        raise ValueError(f"max_period: must be > 1, got {max_period}")
    checks.array(t, "t", kinds="iuf", min_size=0)
    h = dim // 2
    freqs = jnp.asarray(np.exp(-math.log(max_period) * np.arange(h) / h), dtype)
    arg = jnp.asarray(t).astype(dtype)[..., None] * freqs
    return jnp.concatenate([jnp.sin(arg), jnp.cos(arg)], axis=-1)
