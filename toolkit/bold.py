"""Balloon–Windkessel hemodynamics: from neural activity to a BOLD signal, per region.

The haemodynamic state of each region follows Friston et al. (2000), with the parameter
values of that paper, and the signal equation of Stephan et al. (2007, "revised" form)::

    ds/dt = eps z - kappa s - gamma (f - 1)          vasodilatory signal
    df/dt = s                                         blood inflow
    tau dv/dt = f - v^(1/alpha)                       venous volume
    tau dq/dt = f (1 - (1 - E0)^(1/f)) / E0 - v^(1/alpha) q / v   deoxyhaemoglobin
    y = V0 (k1 (1 - q) + k2 (1 - q/v) + k3 (1 - v))

Time is in seconds here (the haemodynamic constants are stated per second). ``z`` is
dimensionless neural activity; :mod:`encephagen.fc` feeds the population rate's relative
deviation from its mean. Integration is explicit Euler on a fixed step in log-flow, log-volume and log-deoxyhaemoglobin
(Stephan et al. 2008), compiled with numba: no random numbers, so the same input always gives the same signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .errors import EncephagenError

FRISTON_2000 = "Friston KJ, Mechelli A, Turner R, Price CJ (2000) Nonlinear responses in fMRI: the Balloon model, Volterra kernels, and other hemodynamics. NeuroImage 12:466-477"
STEPHAN_2008 = "Stephan KE, Kasper L, Harrison LM, Daunizeau J, den Ouden HEM, Breakspear M, Friston KJ (2008) Nonlinear dynamic causal models for fMRI. NeuroImage 42:649-662"
STEPHAN_2007 = "Stephan KE, Weiskopf N, Drysdale PM, Robinson PA, Friston KJ (2007) Comparing hemodynamic models with DCM. NeuroImage 38:387-401"


@dataclass(frozen=True)
class HemodynamicParameters:
    """Balloon–Windkessel constants (units: s, 1/s, dimensionless)."""

    efficacy: float = 1.0
    """eps: gain from neural activity z to the vasodilatory signal (1/s per unit z)."""
    kappa: float = 0.65
    """Rate of signal decay (1/s), Friston 2000."""
    gamma: float = 0.41
    """Rate of flow-dependent elimination (1/s), Friston 2000."""
    tau: float = 0.98
    """Haemodynamic transit time (s), Friston 2000."""
    alpha: float = 0.32
    """Grubb's vessel stiffness exponent, Friston 2000."""
    e0: float = 0.34
    """Resting oxygen extraction fraction (rho in Friston 2000)."""
    v0: float = 0.02
    """Resting venous blood volume fraction."""
    theta0: float = 40.3
    """Frequency offset at the outer surface of magnetised vessels (1/s; 1.5 T), Stephan 2007."""
    r0: float = 25.0
    """Slope of intravascular relaxation rate versus extraction (1/s), Stephan 2007."""
    echo_time: float = 0.04
    """Echo time TE (s), Stephan 2007."""
    epsilon: float = 1.0
    """Ratio of intra- to extravascular signal, Stephan 2007."""

    @property
    def coefficients(self) -> tuple[float, float, float]:
        """k1, k2, k3 of the signal equation (Stephan 2007, eq. 12)."""
        k1 = 4.3 * self.theta0 * self.e0 * self.echo_time
        k2 = self.epsilon * self.r0 * self.e0 * self.echo_time
        return k1, k2, 1.0 - self.epsilon


MAX_STEP_S = 0.05
"""Largest Euler step (s) we accept: the fastest haemodynamic mode has a period of ~10 s."""


def balloon_windkessel(z: np.ndarray, dt_s: float, parameters: HemodynamicParameters | None = None) -> np.ndarray:
    """BOLD signal of each column of ``z``, starting from the resting state.

    Flow, volume and deoxyhaemoglobin are integrated as logarithms (Stephan et al. 2008), so
    they stay positive even under strong negative input.

    Parameters
    ----------
    z
        Neural activity, shape (T, R): T samples ``dt_s`` apart for R regions (dimensionless,
        0 at rest).
    dt_s
        Sample spacing and Euler step (s); at most :data:`MAX_STEP_S`.
    parameters
        Haemodynamic constants (Friston 2000 / Stephan 2007 by default).

    Returns
    -------
    numpy.ndarray
        (T, R) BOLD signal (fractional signal change; 0 at rest), sampled like ``z``.

    Examples
    --------
    >>> z = np.zeros((2000, 1)); z[:10] = 1.0         # a 0.1 s burst of activity
    >>> y = balloon_windkessel(z, 0.01)
    >>> bool(3.0 < y.argmax() * 0.01 < 6.0)            # the response peaks 3-6 s later
    True
    """
    p = parameters or HemodynamicParameters()
    z = np.ascontiguousarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise EncephagenError(f"neural activity must be (time, regions); got shape {z.shape}")
    if not 0 < dt_s <= MAX_STEP_S:
        raise EncephagenError(
            f"BOLD step dt_s must lie in (0, {MAX_STEP_S}] s; got {dt_s}. Resample the activity to finer bins"
        )
    if not np.all(np.isfinite(z)):
        raise EncephagenError("neural activity contains NaN or infinity")
    k1, k2, k3 = p.coefficients
    constants = np.array([p.efficacy, p.kappa, p.gamma, p.tau, p.alpha, p.e0, p.v0, k1, k2, k3])
    out = _integrate(z, float(dt_s), constants)
    if not np.all(np.isfinite(out)):
        raise EncephagenError(
            "BOLD integration left the physical range (blood flow driven to zero or infinity); the activity input is too large — scale it down"
        )
    return out


@njit(cache=True, error_model="numpy")
def _integrate(z, dt, constants):
    """Explicit Euler in (s, log f, log v, log q), region by region (numba-compiled)."""
    efficacy, kappa, gamma, tau, alpha, e0, v0, k1, k2, k3 = constants
    n_steps, n_regions = z.shape
    out = np.empty_like(z)
    log_extraction = np.log(1.0 - e0)
    for r in range(n_regions):
        s, log_f, log_v, log_q = 0.0, 0.0, 0.0, 0.0
        for t in range(n_steps):
            f, v, q = np.exp(log_f), np.exp(log_v), np.exp(log_q)
            outflow = np.exp(log_v / alpha)
            extraction = (1.0 - np.exp(log_extraction / f)) / e0
            ds = efficacy * z[t, r] - kappa * s - gamma * (f - 1.0)
            log_f += dt * s / f
            log_v += dt * (f - outflow) / (tau * v)
            log_q += dt * (f * extraction - outflow * q / v) / (tau * q)
            s += dt * ds
            if not log_f > -30.0:  # flow below 1e-13 of rest: no physical state left
                out[t:, r] = np.nan
                break
            v, q = np.exp(log_v), np.exp(log_q)
            out[t, r] = v0 * (k1 * (1.0 - q) + k2 * (1.0 - q / v) + k3 * (1.0 - v))
    return out
