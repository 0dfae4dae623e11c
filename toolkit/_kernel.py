"""The one hot loop: a generic numba kernel that advances B lanes of a compiled network.

Nothing here is specific to a circuit: every circuit, size and parameter set goes through
the same compiled machine code (``cache=True``, so the first call on a machine compiles it
once, a few seconds, and later processes load it from the cache).

Model (units ms, mV; currents in mV)::

    tau_m dv/dt = -(v - v_rest) + I_exc + I_inh + drive + current - w
    dI_exc/dt = -I_exc / tau_syn_exc,  dI_inh/dt = -I_inh / tau_syn_inh,  dw/dt = -w / tau_adaptation

Between events the system is linear, so it is integrated exactly over each step (NEST's
``iaf_psc_exp`` / ``aeif_psc_exp`` with a = Delta_T = 0): ``P_v = exp(-dt/tau_m)`` relaxes v
towards ``v_inf = v_rest + drive + current`` and every exponentially decaying input x (I_exc,
I_inh, -w) with time constant tau_x adds ``x * tau_x/(tau_x - tau_m) * (exp(-dt/tau_x) -
exp(-dt/tau_m))`` (limit ``x * dt/tau_m * exp(-dt/tau_m)`` when tau_x == tau_m); the
coefficients are prepared once per lane by :mod:`encephagen.simulation`.

Exact order of one step t, for every neuron i of every lane:

1. ``I_exc += arriving_exc[i]``, ``I_inh += arriving_inh[i]`` (the synaptic input arriving this
   step, summed in the order of a dense delay ring: oldest spike first, then source neuron,
   then synapse; the buffer is cleared), then Poisson input: ``k ~ Poisson(rate * dt)`` input
   spikes add ``k * poisson_weight`` to I_exc (weight >= 0) or I_inh (weight < 0).
2. If the neuron is refractory (counter > 0), the counter drops by one and v is held;
   otherwise v is propagated exactly with the current I_exc, I_inh, w, drive, and
   Gaussian noise ``noise_sigma * sqrt(1 - exp(-2 dt/tau_m)) * N(0, 1)`` is added, so that
   noise_sigma is the stationary sd of the free membrane potential whatever dt is.
   A non-finite v stops the lane and reports (step, neuron).
3. I_exc, I_inh and w decay by their exact factors (also during refractoriness).
4. If v was propagated this step and ``v >= v_threshold``: the spike (t, i) is recorded,
   ``v = v_reset``, the refractory counter is set to ``round(t_ref/dt)`` (so v is held for
   that many steps after the spike step), ``w += adaptation``, and the neuron is queued
   (neurons in increasing order). Delays are >= 1 step, so a spike of step t acts on its
   targets from step t + delay on.

Delivery at arrival: at the start of step t the neurons that fired at t - 1 are queued as one
block holding a copy of each of their synapses (one 16-byte record: the weight, then delay rank
and target in one integer, so that finding an arrival and delivering it read one cache line),
ordered by delay,
then neuron, then target (each neuron's synapses are grouped by delay once per network:
:func:`delivery_view`); then, for every delay d from the longest down, the entries of block
t - d with delay d add their weights into the one neuron-sized arrival buffer (exc. or inh. by
the sign of the weight). No ``[delays x neurons]`` ring: a lane holds two neuron-sized buffers
and a queue of the synapses still in flight. Copying at queueing reads each spiking neuron's
synapses as one run, so delivery reads the queue in order instead of chasing every delay group
of every spike through the network's arrays (the cache misses that dominated delivery).

Small networks are the exception: where ``[delays x 2 x neurons]`` arrival buffers fit in
``simulation.RING_BYTES`` (512 kB; humanoid_cpg's 2,226 neurons at dt 0.25 ms: 178 kB), the serial
lane keeps that delay ring instead (the simulator gives it ``depth`` buffers per lane in ``acc``) and
:func:`_queue_spikes` adds each spike's synapses straight into the slot of their arrival step, in the
same order (oldest spike first, then neuron, then synapse), so every sum is the same bit for bit; the
queue's copy and its second pass go (closed loop of humanoid_cpg: 1.13-1.15x body steps per CPU second).

Steps 2 and 4 fix the two conventions a peer simulator must be given to fire the same
spikes (stated, with the tests that check them, in :mod:`encephagen.simulation`): the
refractory count starts after the spike step, and a delay of d steps is Brian2's or NEST's
``(d - 1) * dt``.

How a step is laid out for speed (the order above is what it computes, bit for bit): queueing
prefetches the spiking neurons' delay groups and synapses level by level (their cache misses
then overlap); the neurons of a network of :data:`TILED_NEURONS` (131,072) or more are then taken in
tiles of :data:`TILE` (2,048; a smaller network is one tile): a tile's normals are drawn first, then for each run of consecutive neurons in the tile that share a coefficient row,
its Poisson counts and then its update, so that the draws are still in L1 cache when the update
reads them (tile-sized buffers: a network-sized one would go out to memory and back). The draws
are loops the compiler vectorises; the rare draws they cannot make are made one by one: the
ziggurat's undecided ones (~2.8 %) from a list of their indices that the vectorised loop writes
without a branch, the Poisson counts beyond the table entries compared (means >= 10, a closed loop's
extra rate) from flags. The update (steps 1-3) is one branch-free loop per run (the row's coefficients
are then constants, and the loop vectorises: AVX2/AVX-512 where present); it neither reads nor
writes w, in a tiled network, where w is +0.0 and stays so (no adaptation) nor I_inh where nothing
inhibitory can reach the lane (:func:`_lean_runs`: the same arithmetic with constants). Refractory counters are 32-bit
integers where they fit. Then the neurons flagged as fired are
handled in index order (step 4). A population is one such run, so a cortex of 160-neuron
populations vectorises well; circuits of 3-neuron populations gain little. In a tiled network, a step's arriving records are first sorted by their target's tile (stably:
:func:`_bucket_count`, :func:`_bucket_starts`, :func:`_bucket_fill`), and each tile adds its own into a tile-sized arrival buffer just before
its update, so that the network-sized arrival buffers are neither scattered into nor streamed.

The wide lane (one large network on several threads) gives each thread a target range: its
threads queue a step's spikes together (:func:`_queue_count`, :func:`_queue_place`,
:func:`_queue_copy`: each thread copies the synapses of a share of the spiking neurons to the
places the serial queue would give them), sort a step's arriving records by tile together (each
thread a share of them, into the places the serial sort would give them), and each thread adds its
own tiles' arrivals and updates them, tile by tile; finding the arrivals and handling the spikes
stay on one thread.

Random numbers are counter-based: every draw is a hash of (lane key, step, neuron) where
the lane key comes from the seed and the stream (initial v, noise, Poisson). A lane's
numbers therefore depend only on its seed, never on the other lanes or on how a run is
chunked, which is what makes batched and chunked runs bit-identical to single runs and
lets lanes run on parallel threads. The hash is splitmix64 at a counter-given position;
normals come from a ziggurat (one hash per draw almost always), Poisson counts from the
inverted CDF with one 32-bit uniform (:func:`poisson_uniform`: the two neurons of a pair share
one hash, one half each; an 8-entry table per coefficient row, compared as 32-bit integers,
only its first four entries where the count rarely reaches 4, and continued exactly where the
comparison stops; PTRS rejection, with 53-bit uniforms, for means >= 10).
"""

from __future__ import annotations

import math
import types

import numba
import numpy as np
from llvmlite import ir
from numba import int32, int64, njit, prange, uint32, uint64
from numba.core import cgutils, compiler
from numba.extending import intrinsic

# columns of the coefficient table coef[kind, :]; neuron i of lane b has the row kind[b, i], so
# the 16,000 neurons of a cortex with four cell types share four rows that stay in L1 cache
(
    P_V,
    V_BASE,
    C_EXC,
    C_INH,
    C_W,
    P_EXC,
    P_INH,
    P_W,
    NOISE_AMP,
    V_THRESHOLD,
    V_RESET,
    ADAPTATION,
    POISSON_MEAN,
    POISSON_WEIGHT,
    N_REFRACTORY,
    POISSON_LAST_P,
    POISSON_CDF,
) = range(17)
POISSON_TABLE = 8
"""Poisson CDF values P(k <= 0..7) kept per row, so most counts need no division or loop."""
N_COEF = POISSON_CDF + POISSON_TABLE

# random streams of a lane
STREAM_INITIAL_V, STREAM_NOISE_A, STREAM_NOISE_B, STREAM_POISSON, STREAM_POISSON_EXTRA = range(5)
N_STREAMS = 5

# trace variables
TRACE_VARIABLES = ("v", "I_exc", "I_inh", "w")

# lane status codes (status[lane, 0]); status[lane, 1:3] = (step, neuron) of a fault
DONE, BUFFER_FULL, NOT_FINITE, QUEUE_FULL = 0, 1, 2, 3

_GOLDEN = uint64(0x9E3779B97F4A7C15)
_INV_2_53 = 1.0 / 9007199254740992.0
_INV_2_32 = 1.0 / 4294967296.0


@njit(cache=True, inline="always")
def mix64(z):
    """splitmix64 finaliser: a bijective 64-bit hash with full avalanche."""
    z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
    return z ^ (z >> uint64(31))


@njit(cache=True, inline="always")
def random_u64(key, step, index):
    """64 random bits for (key, step, index), index < 2**32: splitmix64 of the stream ``key`` at
    position ``step * 2**32 + index`` (two keys' streams overlap only at a random offset, far
    beyond any run's counters)."""
    return mix64(key + ((uint64(step) << uint64(32)) | uint64(index)) * _GOLDEN)


@njit(cache=True, inline="always")
def subkey(key, draw):
    """The key of the draw-th extra stream (rejection samplers): hashed, so that its positions do
    not line up with the neighbouring neurons' positions of ``key``."""
    return mix64(key ^ (uint64(draw + 1) * uint64(0xD1B54A32D192ED03)))


@njit(cache=True, inline="always")
def _unit(bits):
    """The high 53 bits as a double in [0, 1) (through int64, which converts faster than uint64)."""
    return float(int64(bits >> uint64(11))) * _INV_2_53


@intrinsic
def _bits_as_double(typingctx, bits):
    """The 64 bits of ``bits`` (uint64) read as a double (a bitcast, no conversion)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return numba.float64(uint64), codegen


@intrinsic
def _double_bits(typingctx, x):
    """The 64 bits of the double ``x`` as a uint64 (a bitcast, no conversion)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return uint64(numba.float64), codegen


_ONE_BITS = uint64(0x3FF0000000000000)  # 1.0
_TWO_BITS = uint64(0x4000000000000000)  # 2.0
_MANTISSA = uint64((1 << 52) - 1)
_EXPONENT = uint64(0x7FF0000000000000)
_EXPONENT_ONE = uint64(1 << 52)


@njit(cache=True, inline="always")
def _signed_unit(bits):
    """``2 * _unit(bits) - 1`` in [-1, 1), bit for bit, without converting an integer to a double.

    With the high 53 bits ``s * 2**52 + m`` (s the top bit), ``d = 1 + m / 2**52`` is built from
    its bits and the value is ``d - 1`` (s = 1) or ``d - 2`` (s = 0): both exact, as is the
    original (every step of ``2 * (top / 2**53) - 1`` is exact for a 53-bit ``top``), so the two
    agree everywhere. An int64 -> double conversion has no vector instruction before AVX-512,
    which kept the ziggurat's draw loop from vectorising.
    """
    d: float = _bits_as_double(_ONE_BITS | ((bits >> uint64(11)) & _MANTISSA))  # type: ignore[call-arg]  # typed by numba
    return d - _bits_as_double(_TWO_BITS - ((bits >> uint64(63)) << uint64(52)))


@njit(cache=True, inline="always")
def stream_position(key, step):
    """Where neuron 0's draw of ``step`` sits in the stream ``key``: ``random_u64(key, step, i)``
    is ``mix64(stream_position(key, step) + i * _GOLDEN)`` (modulo 2**64, the same integer), so a
    loop over neurons adds instead of recomputing the step's part."""
    return key + (uint64(step) << uint64(32)) * _GOLDEN


@njit(cache=True, inline="always")
def uniform(key, step, index):
    """Uniform double in [0, 1) with 53 random bits."""
    return _unit(random_u64(key, step, index))


@njit(cache=True, inline="always")
def poisson_bits(key, step, index):
    """The 32 random bits of neuron ``index``'s Poisson draw at ``step``: the low (even index) or
    high (odd index) half of the hash of its pair ``index // 2``, so that one hash serves two
    neurons (the draw of a 16,000-neuron cortex costs about a third less than with a hash each)."""
    i = uint64(index)
    bits = random_u64(key, step, i >> uint64(1))
    return uint32((bits >> ((i & uint64(1)) << uint64(5))) & uint64(0xFFFFFFFF))


@njit(cache=True, inline="always")
def poisson_uniform(key, step, index):
    """Neuron ``index``'s uniform for its Poisson draw at ``step``: :func:`poisson_bits` / 2**32, in [0, 1)."""
    return float(poisson_bits(key, step, index)) * _INV_2_32


@njit(cache=True)
def stream_keys(seeds):
    """keys[lane, stream] for the seeds of the lanes (any non-negative 64-bit integers)."""
    keys = np.empty((seeds.shape[0], N_STREAMS), dtype=np.uint64)
    for b in range(seeds.shape[0]):
        base = mix64(uint64(seeds[b]) + _GOLDEN)
        for s in range(N_STREAMS):
            keys[b, s] = mix64(base ^ (uint64(s + 1) * _GOLDEN))
    return keys


@njit(cache=True)
def initial_v(keys, low, high):
    """Initial membrane potential: low + (high - low) * U[0, 1) from the initial-v stream."""
    n_lanes, n = low.shape
    v = np.empty((n_lanes, n))
    for b in range(n_lanes):
        for i in range(n):
            span = high[b, i] - low[b, i]
            v[b, i] = low[b, i] + span * uniform(keys[b, STREAM_INITIAL_V], 0, i) if span != 0.0 else low[b, i]
    return v


def _ziggurat_tables(layers: int = 128, r: float = 3.442619855899, v: float = 9.91256303526217e-3):
    """Layer edges x and inner ratios x[i+1]/x[i] of Marsaglia and Tsang's ziggurat (Doornik's ZIGNOR)."""
    x = np.zeros(layers + 1)
    f = math.exp(-0.5 * r * r)
    x[0], x[1] = v / f, r
    for i in range(2, layers):
        x[i] = math.sqrt(-2.0 * math.log(v / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    return x, x[1:] / x[:-1], r


_ZIG_X, _ZIG_RATIO, _ZIG_R = _ziggurat_tables()


@njit(cache=True, inline="always")
def normal(key, key_extra, step, index):
    """Standard normal for (key, step, index) by the ziggurat: one hash in ~99 % of draws.

    The low 7 bits pick the layer and the high 53 bits the abscissa; the rare rejections and
    tail draws take further uniforms from ``key_extra`` (see :func:`_normal_rejected`).
    """
    bits = random_u64(key, step, index)
    layer = bits & uint64(127)
    u = 2.0 * _unit(bits) - 1.0
    if abs(u) < _ZIG_RATIO[layer]:
        return u * _ZIG_X[layer]
    return _normal_rejected(key_extra, step, index, int(layer), u)


@njit(cache=True)
def _normal_rejected(key_extra, step, index, layer, u):
    draw = 0
    while True:
        if layer == 0:  # the base strip: sample the tail beyond R
            while True:
                x = math.log(1.0 - uniform(subkey(key_extra, draw), step, index)) / _ZIG_R
                y = math.log(1.0 - uniform(subkey(key_extra, draw + 1), step, index))
                draw += 2
                if -2.0 * y >= x * x:
                    return x - _ZIG_R if u < 0 else _ZIG_R - x
        x = u * _ZIG_X[layer]
        f0 = math.exp(-0.5 * (_ZIG_X[layer] * _ZIG_X[layer] - x * x))
        f1 = math.exp(-0.5 * (_ZIG_X[layer + 1] * _ZIG_X[layer + 1] - x * x))
        if f1 + uniform(subkey(key_extra, draw), step, index) * (f0 - f1) < 1.0:
            return x
        bits = random_u64(subkey(key_extra, draw + 1), step, index)
        draw += 2
        layer = int(bits & uint64(127))
        u = 2.0 * _unit(bits) - 1.0
        if abs(u) < _ZIG_RATIO[layer]:
            return u * _ZIG_X[layer]


@njit(cache=True, inline="always")
def _poisson_inverse(u, mean, k, p, cdf):
    """Smallest count >= k whose CDF reaches u, continuing from P(k) = p and CDF(k) = cdf."""
    while u > cdf and p > 0.0:
        k += 1
        p *= mean / k
        cdf += p
    return k


@njit(cache=True)
def poisson_count(key_first, key_extra, step, index, mean, exp_minus_mean):
    """Poisson(mean) from counter-based uniforms.

    Inversion of the CDF with one uniform (:func:`poisson_uniform`) for means below 10 (the usual
    case: a few kicks per step at most); Hörmann's transformed rejection (PTRS, as numpy uses)
    above, whose extra uniforms come from a second stream indexed by the attempt number.
    """
    if mean < 10.0:
        u = poisson_uniform(key_first, step, index)
        return _poisson_inverse(u, mean, 0, exp_minus_mean, exp_minus_mean)
    slam = math.sqrt(mean)
    loglam = math.log(mean)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    attempt = 0
    while True:
        key_u = subkey(key_extra, 2 * attempt)
        key_v = subkey(key_extra, 2 * attempt + 1)
        attempt += 1
        u = uniform(key_u, step, index) - 0.5
        v = uniform(key_v, step, index)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + mean + 0.43)
        if us >= 0.07 and v <= vr:
            return int(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= -mean + k * loglam - math.lgamma(k + 1.0):
            return int(k)


@njit(cache=True)
def _runs_of_kind(kind):
    """(start, stop, kind) of each run of consecutive neurons that share a coefficient row."""
    n = kind.shape[0]
    n_runs = 1 if n else 0
    for i in range(1, n):
        n_runs += kind[i] != kind[i - 1]
    runs = np.empty((n_runs, 3), dtype=np.int64)
    r = -1
    for i in range(n):
        if i == 0 or kind[i] != kind[i - 1]:
            r += 1
            runs[r, 0] = i
            runs[r, 2] = kind[i]
        runs[r, 1] = i + 1
    return runs


SHORT_TABLE_TAIL = 0.02
"""A row whose P(k >= 4) is below this compares its uniforms with the first four table entries only
(half the work of the vectorised draw) and finishes the few counts beyond them one by one."""
_TWO_32 = 4294967296.0


@njit(cache=True, inline="always")
def _threshold(cdf):
    """A table entry on the 32 random bits of a uniform u = bits / 2**32: ``u > cdf`` exactly when
    ``bits > floor(cdf * 2**32)``, so the draw compares 32-bit integers without converting them."""
    x = cdf * _TWO_32
    return uint32(math.floor(x)) if x < _TWO_32 else uint32(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _table(coef, c):
    """Row c's Poisson CDF table, P(k <= 0..7), as a tuple (passed by value: no array references)."""
    return (
        coef[c, POISSON_CDF],
        coef[c, POISSON_CDF + 1],
        coef[c, POISSON_CDF + 2],
        coef[c, POISSON_CDF + 3],
        coef[c, POISSON_CDF + 4],
        coef[c, POISSON_CDF + 5],
        coef[c, POISSON_CDF + 6],
        coef[c, POISSON_CDF + 7],
    )


@njit(cache=True)
def _kicks_exact(u, mean, table, last_p, extra_rate, rate_to_mean, key_p, key_x, t, i):
    """The Poisson count where the vectorised draw stopped: beyond the table entries it compared,
    means >= 10, or a closed loop's extra rate (a mean with no table). For a tabulated mean (``table``
    from :func:`_table`, ``last_p`` = P(k = 7)) it is the count the whole table and its exact
    continuation give for u, whichever entries were compared."""
    tabulated = True
    if extra_rate > 0.0:
        mean += extra_rate * rate_to_mean
        tabulated = False
    if mean <= 0.0:
        return 0.0
    if mean >= 10.0:
        return float(poisson_count(key_p, key_x, t, i, mean, 0.0))
    if tabulated:
        k = 0
        while k < POISSON_TABLE and u > table[k]:
            k += 1
        if k < POISSON_TABLE:
            return float(k)
        return float(_poisson_inverse(u, mean, POISSON_TABLE - 1, last_p, table[POISSON_TABLE - 1]))
    p0 = math.exp(-mean)
    return float(_poisson_inverse(u, mean, 0, p0, p0))


def _prefetch_intrinsic(write):
    """An intrinsic that asks the CPU to bring the cache line of ``array[index]`` (an integer, or a
    tuple of them) into every cache level, for reading or (``write``) for writing, without waiting for
    it (LLVM's ``llvm.prefetch``; a hint: nothing happens on a bad address)."""

    @intrinsic
    def prefetch(typingctx, array, index):
        def codegen(context, builder, signature, args):
            array_type, index_type = signature.args
            if isinstance(index_type, numba.types.BaseTuple):
                indices = zip(cgutils.unpack_tuple(builder, args[1]), index_type.types)  # type: ignore[attr-defined]  # Tuple and UniTuple both have .types
            else:
                indices = [(args[1], index_type)]
            indices = [context.cast(builder, value, kind, numba.types.intp) for value, kind in indices]
            view = context.make_array(array_type)(context, builder, args[0])
            pointer = cgutils.get_item_pointer(context, builder, array_type, view, indices, wraparound=False)
            i32 = ir.IntType(32)
            byte_pointer = builder.bitcast(pointer, ir.IntType(8).as_pointer())
            hint = ir.FunctionType(ir.VoidType(), [byte_pointer.type, i32, i32, i32])
            call = cgutils.get_or_insert_function(builder.module, hint, "llvm.prefetch.p0")
            builder.call(call, [byte_pointer, i32(int(write)), i32(3), i32(1)])  # keep in all levels, data
            return context.get_dummy_value()

        return numba.types.void(array, index), codegen

    return prefetch


_prefetch = _prefetch_intrinsic(write=False)
_prefetch_for_write = _prefetch_intrinsic(write=True)


@njit(cache=True, inline="always")
def _prefetch_range(array, start, stop, per_line):
    """Prefetch the cache lines of array[start:stop] (``per_line`` elements to a 64-byte line)."""
    if stop > start:
        for k in range(start, stop, per_line):
            _prefetch(array, k)
        _prefetch(array, stop - 1)


@njit(cache=True, inline="always")
def _prefetch_synapses(b, post, weight, first, last):
    """Prefetch the targets and lane b's weights of view synapses [first, last)."""
    _prefetch_range(post, first, last, 16)
    if last > first:
        for k in range(first, last, 8):
            _prefetch(weight, (b, k))
        _prefetch(weight, (b, last - 1))


TILE_SHIFT = 11
TILE = 1 << TILE_SHIFT
TILED_NEURONS = 1 << 17
"""Neurons from which the serial lane steps in tiles (below, one tile of the whole network: its state
stays in cache, and the per-tile work only costs; hcp_cortex, 16,000 neurons, was 1.22x slower tiled)."""
"""Neurons per tile of the serial lane's step: a tile's normals and Poisson counts are drawn into
buffers of this size (~40 kB, they stay in L1 cache) just before its update reads them, instead of
into network-sized arrays that a large network's update reads back from memory."""


@njit(cache=True)
def inhibitory_lanes(weight):
    """1 for each lane (row of ``weight``) with a synapse that delivers into the inhibitory buffer
    (``not w >= 0``, as :func:`_deliver` decides), else 0."""
    out = np.zeros(weight.shape[0], dtype=np.uint8)
    for b in range(weight.shape[0]):
        for k in range(weight.shape[1]):
            if not weight[b, k] >= 0.0:
                out[b] = 1
                break
    return out


@njit(cache=True)
def _positive_zeros(x, b, first, last):
    """Whether x[b, first:last] are all +0.0."""
    for i in range(first, last):  # noqa: SIM110 (a loop numba compiles; all() over a generator it does not)
        if x[b, i] != 0.0 or math.copysign(1.0, x[b, i]) < 0.0:
            return False
    return True


@njit(cache=True)
def _lean_runs(b, runs, coef, w_state, i_inh, acc, inhibitory):
    """For each run of lane b, whether its update must read and write w (else w is +0.0 and stays so:
    no adaptation increment, a non-negative decay factor) and I_inh (else I_inh and the inhibitory
    arrivals are +0.0 and stay so: no inhibitory synapse in the lane, a non-negative Poisson weight
    and decay factor). Checked at every call, so that state set between calls is honoured."""
    n_runs = runs.shape[0]
    run_w = np.ones(n_runs, dtype=np.bool_)
    run_inh = np.ones(n_runs, dtype=np.bool_)
    for r in range(n_runs):
        first, last, c = runs[r, 0], runs[r, 1], runs[r, 2]
        if coef[c, ADAPTATION] == 0.0 and coef[c, P_W] >= 0.0:
            run_w[r] = not _positive_zeros(w_state, b, first, last)
        if inhibitory[b] == 0 and coef[c, POISSON_WEIGHT] >= 0.0 and coef[c, P_INH] >= 0.0:
            run_inh[r] = not (_positive_zeros(i_inh, b, first, last) and _positive_zeros(acc[:, 1], b, first, last))
    return run_w, run_inh


PREFETCH_AHEAD = 16
"""Spiking neurons whose synapses are prefetched ahead of the one being queued."""


@njit(cache=True)
def _queue_spikes(
    b,
    t,
    pending,
    pending_count,
    group_ptr,
    group_syn,
    group_rank,
    rank_count,
    post,
    weight,
    pool,
    pool_weight,
    blocks,
    pool_pos,
    status,
    delay_values,
    acc,
    ring_base,
):
    """Queue the spikes of step t - 1 as block t - 1 of the pool: a copy of each of their synapses
    (``pool_weight[b, x, 0]``, a float view of ``pool``, the weight; ``pool[b, x, 1]`` delay rank << 32
    | target), ordered by delay, then by neuron (the order in which they fired),
    then by target. Copying here reads each neuron's synapses in one run; delivery then reads the pool
    in order instead of chasing each delay group's synapses. False when the pool is too small (status
    QUEUE_FULL, status[b, 1] the size it needs); nothing has changed then.

    The spiking neurons' entries in the network's arrays are rarely in cache, and each is found
    through the one before (group_ptr, then group_syn and group_rank, then post and weight), so
    each level is prefetched for all of them (the synapses for ``PREFETCH_AHEAD`` neurons ahead)
    before it is read: the misses then overlap instead of following one another."""
    depth = blocks.shape[1]
    m = pending_count[b]
    if ring_base >= 0:
        # a small network's serial lane: no copy, each synapse's weight straight into the delay ring,
        # acc[ring_base + (t - 1 + delay) % depth, 0 (exc) or 1 (inh), target], neuron by neuron in firing
        # order, each neuron's synapses in view order. A slot is summed from +0.0, oldest spike first,
        # then source neuron, then synapse: the order in which _deliver adds the same weights from the
        # queue, so the sums are the same bit for bit, in one pass over the synapses instead of two
        slot_of_rank = rank_count  # the queue's scratch, which the ring does not use otherwise
        for r in range(delay_values.shape[0]):  # each delay rank's slot
            slot_of_rank[r] = ring_base + (t - 1 + delay_values[r]) % depth
        for q in range(m):
            j = pending[b, q]
            for g in range(group_ptr[j], group_ptr[j + 1]):
                row = slot_of_rank[group_rank[g]]
                for k in range(group_syn[g], group_syn[g + 1]):
                    wk = weight[b, uint64(k)]
                    acc[row, 1 - (wk >= 0.0), post[uint64(k)]] += wk
        pending_count[b] = 0
        return True
    cap = pool.shape[1]
    mask = cap - 1  # the capacity is a power of two
    pos = pool_pos[b]
    slot = (t - 1) % depth
    if m == 0:
        blocks[b, slot, 0] = pos
        blocks[b, slot, 1] = pos
        blocks[b, slot, 2] = pos
        return True
    for q in range(m):
        _prefetch(group_ptr, pending[b, q])
    for q in range(m):
        j = pending[b, q]
        _prefetch_range(group_syn, group_ptr[j], group_ptr[j + 1] + 1, 8)
        _prefetch_range(group_rank, group_ptr[j], group_ptr[j + 1], 16)
    total = 0
    for q in range(m):
        j = pending[b, q]
        first, last = group_syn[group_ptr[j]], group_syn[group_ptr[j + 1]]
        total += last - first
        if q < PREFETCH_AHEAD:
            _prefetch_synapses(b, post, weight, first, last)
    oldest = t - (depth - 1)  # the oldest block still queued: its longest delay arrives at step t
    if oldest > t - 2:
        live_start = pos
    elif oldest >= 0:
        live_start = blocks[b, oldest % depth, 0]
    else:
        live_start = 0
    if pos + total - live_start > cap:
        status[b, 0] = QUEUE_FULL
        status[b, 1] = pos + total - live_start
        return False
    for x in range(pos, pos + total, 4):  # the block's records, four to a cache line, are written out of order
        _prefetch_for_write(pool, (b, x & mask, 0))
    rank_count[:] = 0
    for q in range(m):
        j = pending[b, q]
        for g in range(group_ptr[j], group_ptr[j + 1]):
            rank_count[group_rank[g] + 1] += group_syn[g + 1] - group_syn[g]
    for r in range(rank_count.shape[0] - 1):
        rank_count[r + 1] += rank_count[r]
    for q in range(m):
        if q + PREFETCH_AHEAD < m:
            ahead = pending[b, q + PREFETCH_AHEAD]
            _prefetch_synapses(b, post, weight, group_syn[group_ptr[ahead]], group_syn[group_ptr[ahead + 1]])
        j = pending[b, q]
        for g in range(group_ptr[j], group_ptr[j + 1]):
            r = group_rank[g]
            p = pos + rank_count[r] - group_syn[g]
            rank_count[r] += group_syn[g + 1] - group_syn[g]
            rank_bits = int64(r) << 32
            for k in range(group_syn[g], group_syn[g + 1]):
                x = uint64((p + k) & mask)  # unsigned indices: no negative-index wraparound code
                pool_weight[b, x, 0] = weight[b, uint64(k)]
                pool[b, x, 1] = rank_bits | int64(post[uint64(k)])
    blocks[b, slot, 0] = pos
    blocks[b, slot, 1] = pos + total
    blocks[b, slot, 2] = pos
    pool_pos[b] = pos + total
    pending_count[b] = 0
    return True


@njit(cache=True)
def _queue_count(b, q_lo, q_hi, pending, group_ptr, group_syn, group_rank, part_count):
    """Synapses of spiking neurons pending[b, q_lo:q_hi] per delay rank, into part_count (one part of
    :func:`_queue_spikes`'s count, for a queue split over threads); the levels prefetched as there."""
    part_count[:] = 0
    for q in range(q_lo, q_hi):
        _prefetch(group_ptr, pending[b, q])
    for q in range(q_lo, q_hi):
        j = pending[b, q]
        _prefetch_range(group_syn, group_ptr[j], group_ptr[j + 1] + 1, 8)
        _prefetch_range(group_rank, group_ptr[j], group_ptr[j + 1], 16)
    for q in range(q_lo, q_hi):
        j = pending[b, q]
        for g in range(group_ptr[j], group_ptr[j + 1]):
            part_count[group_rank[g]] += group_syn[g + 1] - group_syn[g]


@njit(cache=True)
def _queue_place(b, t, part_count, part_offset, pool, blocks, pool_pos, pending_count, status):
    """Where each part's synapses go in block t - 1: rank by rank, part by part, which is the order in
    which :func:`_queue_spikes` writes them (delay, then neuron, then target). Records the block and
    returns True, or False (status QUEUE_FULL, nothing changed) when the pool is too small."""
    depth = blocks.shape[1]
    cap = pool.shape[1]
    pos = pool_pos[b]
    total = 0
    for part in range(part_count.shape[0]):
        for r in range(part_count.shape[1]):
            total += part_count[part, r]
    oldest = t - (depth - 1)
    if oldest > t - 2:
        live_start = pos
    elif oldest >= 0:
        live_start = blocks[b, oldest % depth, 0]
    else:
        live_start = 0
    if pos + total - live_start > cap:
        status[b, 0] = QUEUE_FULL
        status[b, 1] = pos + total - live_start
        return False
    running = 0
    for r in range(part_count.shape[1]):
        for part in range(part_count.shape[0]):
            part_offset[part, r] = running
            running += part_count[part, r]
    slot = (t - 1) % depth
    blocks[b, slot, 0] = pos
    blocks[b, slot, 1] = pos + total
    blocks[b, slot, 2] = pos
    pool_pos[b] = pos + total
    pending_count[b] = 0
    return True


@njit(cache=True)
def _queue_copy(b, pos, q_lo, q_hi, pending, group_ptr, group_syn, group_rank, post, weight, pool, pool_weight, offset):
    """Copy the synapses of spiking neurons pending[b, q_lo:q_hi] into the pool at ``pos`` plus their
    part's running offset per rank (``offset``, from :func:`_queue_place`), as :func:`_queue_spikes` does."""
    mask = pool.shape[1] - 1
    for q in range(q_lo, min(q_lo + PREFETCH_AHEAD, q_hi)):
        j = pending[b, q]
        _prefetch_synapses(b, post, weight, group_syn[group_ptr[j]], group_syn[group_ptr[j + 1]])
    for q in range(q_lo, q_hi):
        if q + PREFETCH_AHEAD < q_hi:
            ahead = pending[b, q + PREFETCH_AHEAD]
            _prefetch_synapses(b, post, weight, group_syn[group_ptr[ahead]], group_syn[group_ptr[ahead + 1]])
        j = pending[b, q]
        for g in range(group_ptr[j], group_ptr[j + 1]):
            r = group_rank[g]
            p = pos + offset[r] - group_syn[g]
            offset[r] += group_syn[g + 1] - group_syn[g]
            rank_bits = int64(r) << 32
            for k in range(group_syn[g], group_syn[g + 1]):
                x = uint64((p + k) & mask)
                pool_weight[b, x, 0] = weight[b, uint64(k)]
                pool[b, x, 1] = rank_bits | int64(post[uint64(k)])


PARALLEL_QUEUE_SPIKES = 64
"""Spikes in a step from which the wide lane queues them on its threads (fewer: on one)."""


@njit(cache=True)
def _arrivals(b, t, delay_values, pool, blocks, arrivals):
    """Pool ranges [start, end) arriving at step t, oldest spikes (longest delay) first; advances the
    blocks' cursors past them. Returns how many ranges."""
    depth = blocks.shape[1]
    mask = pool.shape[1] - 1
    now = t % depth
    n_ranges = 0
    for r in range(delay_values.shape[0] - 1, -1, -1):
        if t < delay_values[r]:
            continue
        slot = now - delay_values[r]  # (t - delay) % depth without a division: delays are < depth
        slot = slot + depth if slot < 0 else slot
        first = blocks[b, slot, 2]
        end = blocks[b, slot, 1]
        # a block's records are in rank order and those of lower ranks have arrived: rank r's run starts
        # at the cursor; its end is found by doubling steps, then halving (not by reading every record)
        last = first
        if first < end and pool[b, first & mask, 1] >> 32 == r:
            low = first  # a record of rank r
            step = 1
            high = first + 1
            while high < end and pool[b, high & mask, 1] >> 32 == r:
                low = high
                step *= 2
                high = first + step
            high = min(high, end)  # the end of the block or a record of a higher rank
            while high - low > 1:
                middle = (low + high) >> 1
                if pool[b, middle & mask, 1] >> 32 == r:
                    low = middle
                else:
                    high = middle
            last = high
        if last > first:
            arrivals[n_ranges, 0] = first
            arrivals[n_ranges, 1] = last
            n_ranges += 1
            blocks[b, slot, 2] = last
    return n_ranges


@njit(cache=True)
def _bucket_count(b, arrivals, n_ranges, part_first, part_last, pool, tile_count):
    """How many of the arriving records ``part_first:part_last`` (counted in arrival order over the
    ranges) go to each tile: ``tile_count[k]``. One part of :func:`_bucket_fill`'s count, so that a
    wide lane's threads each count a share of the records."""
    mask = pool.shape[1] - 1
    tile_count[:] = 0
    offset = 0  # the arrival-order index of range a's first record
    for a in range(n_ranges):
        first, last = arrivals[a, 0], arrivals[a, 1]
        for p in range(max(first, first + part_first - offset), min(last, first + part_last - offset)):
            tile_count[(pool[b, p & mask, 1] & 0xFFFFFFFF) >> TILE_SHIFT] += 1
        offset += last - first


@njit(cache=True)
def _bucket_starts(part_tile, bucket_ptr):
    """Counts per (part, tile) -> where each part's records of each tile start: tile by tile, part by
    part, so that tile k's records are ``bucket_ptr[k]:bucket_ptr[k + 1]`` in arrival order."""
    running = 0
    for k in range(part_tile.shape[1]):
        bucket_ptr[k] = running
        for part in range(part_tile.shape[0]):
            count = part_tile[part, k]
            part_tile[part, k] = running
            running += count
    bucket_ptr[part_tile.shape[1]] = running


@njit(cache=True)
def _bucket_fill(b, arrivals, n_ranges, part_first, part_last, pool, pool_weight, tile_fill, weight, target):
    """The arriving records ``part_first:part_last`` (weight, target) sorted by the target's tile, stably,
    from each tile's start in ``tile_fill`` (:func:`_bucket_starts`): each target still sums its
    inputs in arrival order when its tile adds them up."""
    mask = pool.shape[1] - 1
    offset = 0
    for a in range(n_ranges):
        first, last = arrivals[a, 0], arrivals[a, 1]
        for p in range(max(first, first + part_first - offset), min(last, first + part_last - offset)):
            x = p & mask
            j = pool[b, x, 1] & 0xFFFFFFFF
            k = tile_fill[j >> TILE_SHIFT]
            tile_fill[j >> TILE_SHIFT] = k + 1
            weight[k] = pool_weight[b, x, 0]
            target[k] = j
        offset += last - first


PARALLEL_BUCKET_RECORDS = 256
"""Arriving records in a step from which the wide lane sorts them by tile on its threads (fewer: on one)."""


@njit(cache=True)
def _deliver(b, arrivals, n_ranges, pool, pool_weight, acc):
    """Add the arriving weights to acc[b, 0 (exc) or 1 (inh), target], in arrival order. The buffer is
    chosen by index, not by a branch (excitatory and inhibitory sources interleave unpredictably)."""
    mask = pool.shape[1] - 1
    for a in range(n_ranges):
        for p in range(arrivals[a, 0], arrivals[a, 1]):
            x = p & mask
            wk = pool_weight[b, x, 0]
            acc[b, 1 - (wk >= 0.0), pool[b, x, 1] & 0xFFFFFFFF] += wk


@njit(cache=True, inline="always")
def _update(
    b,
    first,
    last,
    coef,
    c,
    v_state,
    i_exc,
    i_inh,
    w_state,
    refractory,
    acc,
    acc_b,
    acc_base,
    extra_current,
    has_extra_current,
    kicks,
    normals,
    base,
    fired,
    with_w,
    with_inh,
    with_noise,
):
    """Steps 1-3 for neurons [first, last) of row c, one branch-free loop (it vectorises); their
    counts and normals are kicks[i - base] and normals[i - base], their arriving input acc[acc_b, 0 (exc)
    or 1 (inh), i - acc_base] (the lane's arrival buffers, or a tile's). Returns (fired, non-finite): 1 if a
    neuron fired, 1 if a propagated v is not finite, else 0.

    ``with_w`` False: the run's w is +0.0 and stays so (no adaptation increment, p_w >= 0), so w is
    neither read nor written, and ``c_w * 0.0`` enters v as it did; ``with_inh`` False likewise for
    I_inh and the inhibitory arrival buffer (nothing inhibitory can reach the run): the arithmetic is
    the same, bit for bit, with 16 or 32 fewer bytes per neuron read and written. ``with_noise`` False:
    the row's noise amplitude is 0, so v takes no noise term (with it, the term is added where the
    amplitude is not 0, as before). Callers pass constants, so that each combination compiles to a loop
    of its own."""
    p_v, v_base, c_exc, c_inh, c_w = coef[c, P_V], coef[c, V_BASE], coef[c, C_EXC], coef[c, C_INH], coef[c, C_W]
    p_exc, p_inh, p_w, amp = coef[c, P_EXC], coef[c, P_INH], coef[c, P_W], coef[c, NOISE_AMP]
    threshold, poisson_weight = coef[c, V_THRESHOLD], coef[c, POISSON_WEIGHT]
    seen = uint64(0)  # bit 0: a neuron fired; bit 63: a propagated v is not finite
    for q in range(last - first):
        i = uint64(first + q)  # an unsigned index needs no negative-index wraparound, which blocks vectorising
        s = uint64(first + q - base)
        a = uint64(first + q - acc_base)
        ie = i_exc[b, i] + acc[acc_b, 0, a]
        acc[acc_b, 0, a] = 0.0
        if with_inh:
            ii = i_inh[b, i] + acc[acc_b, 1, a]
            acc[acc_b, 1, a] = 0.0
        else:
            ii = 0.0
        jump = kicks[s] * poisson_weight  # kicks are 0 without Poisson input
        excitatory = jump >= 0.0
        ie = ie + jump if excitatory else ie
        if with_inh:
            ii = ii if excitatory else ii + jump
        w = w_state[b, i] if with_w else 0.0
        v = v_state[b, i]
        r = refractory[b, i]
        v_inf = v_base + extra_current[b, i] if has_extra_current else v_base
        v_new = v_inf + (v - v_inf) * p_v + c_exc * ie + c_inh * ii - c_w * w
        if with_noise:
            v_new = v_new + amp * normals[s] if amp != 0.0 else v_new  # amp is 0 without noise
        propagated = r == 0
        v = v_new if propagated else v
        if with_w and with_inh:  # every variable (the small circuits' lane): one store, no branch
            refractory[b, i] = r if propagated else r - 1
        elif not propagated:  # lean: a counter at 0 stays 0 and is not stored (its line not written back)
            refractory[b, i] = r - 1
        # one OR per neuron for both flags, where two counts took ~12 % of the lean update: v_new is not finite
        # when its exponent bits are all ones, and then adding one to them carries into bit 63
        exponent = _double_bits(v_new) & _EXPONENT  # type: ignore[call-arg]  # typed by numba
        seen |= (exponent + _EXPONENT_ONE) if propagated else uint64(0)
        spike = propagated & (v >= threshold)
        fired[i] = spike
        seen |= uint64(spike)
        v_state[b, i] = v
        i_exc[b, i] = ie * p_exc
        if with_inh:
            i_inh[b, i] = ii * p_inh
        if with_w:
            w_state[b, i] = w * p_w
    return int64(seen & uint64(1)), int64(seen >> uint64(63))


class _NoAliasCompiler(compiler.Compiler):
    """numba's default pipeline with its ``noalias`` flag set: every array argument's data pointer
    is marked ``noalias`` (C's ``restrict``), which the serial lane's arguments are (the simulator's
    state arrays are distinct allocations; the arrays that may be one object, a closed loop's extra
    current and rate, are only read). Without it, LLVM guards each vectorised loop with run-time
    overlap checks of every pair of arrays it touches: ~130 comparisons at each entry of the update
    loop, which runs once per coefficient row and step (35 times per step in humanoid_stander,
    ~65 ns each). Only the machine code changes: the arithmetic is the same, bit for bit."""

    def define_pipelines(self):
        self.state.flags.noalias = True
        return super().define_pipelines()


@njit(cache=True, inline="always")
def _update_rows(
    b,
    first,
    last,
    coef,
    c,
    v_state,
    i_exc,
    i_inh,
    w_state,
    refractory,
    acc,
    acc_b,
    acc_base,
    extra_current,
    has_extra_current,
    kicks,
    normals,
    base,
    fired,
    with_w,
    with_inh,
    with_noise,
):
    """:func:`_update` (same arguments) in the loop compiled for ``with_w``, ``with_inh`` and ``with_noise``."""
    if with_w and with_inh:
        return _update(
            b,
            first,
            last,
            coef,
            c,
            v_state,
            i_exc,
            i_inh,
            w_state,
            refractory,
            acc,
            acc_b,
            acc_base,
            extra_current,
            has_extra_current,
            kicks,
            normals,
            base,
            fired,
            True,
            True,
            with_noise,
        )
    if with_inh:
        return _update(
            b,
            first,
            last,
            coef,
            c,
            v_state,
            i_exc,
            i_inh,
            w_state,
            refractory,
            acc,
            acc_b,
            acc_base,
            extra_current,
            has_extra_current,
            kicks,
            normals,
            base,
            fired,
            False,
            True,
            with_noise,
        )
    if with_w:
        return _update(
            b,
            first,
            last,
            coef,
            c,
            v_state,
            i_exc,
            i_inh,
            w_state,
            refractory,
            acc,
            acc_b,
            acc_base,
            extra_current,
            has_extra_current,
            kicks,
            normals,
            base,
            fired,
            True,
            False,
            with_noise,
        )
    return _update(
        b,
        first,
        last,
        coef,
        c,
        v_state,
        i_exc,
        i_inh,
        w_state,
        refractory,
        acc,
        acc_b,
        acc_base,
        extra_current,
        has_extra_current,
        kicks,
        normals,
        base,
        fired,
        False,
        False,
        with_noise,
    )


@njit(cache=True, pipeline_class=_NoAliasCompiler)
def _update_lean(
    b,
    first,
    last,
    coef,
    c,
    v_state,
    i_exc,
    i_inh,
    w_state,
    refractory,
    acc,
    acc_b,
    acc_base,
    extra_current,
    has_extra_current,
    kicks,
    normals,
    base,
    fired,
    with_w,
    with_inh,
):
    """:func:`_update` (same arguments) in the loop compiled for ``with_w``, ``with_inh`` and whether row c
    has noise: a function of its own, because its loops inlined into a lane slowed small circuits' steps 2x.
    A row without noise gets a loop without the noise term: a term kept behind a test of the amplitude
    cost that loop a masked load and a branch per four neurons (~9 % of the update, 1 M / 100 M)."""
    if coef[c, NOISE_AMP] != 0.0:
        return _update_rows(
            b,
            first,
            last,
            coef,
            c,
            v_state,
            i_exc,
            i_inh,
            w_state,
            refractory,
            acc,
            acc_b,
            acc_base,
            extra_current,
            has_extra_current,
            kicks,
            normals,
            base,
            fired,
            with_w,
            with_inh,
            True,
        )
    return _update_rows(
        b,
        first,
        last,
        coef,
        c,
        v_state,
        i_exc,
        i_inh,
        w_state,
        refractory,
        acc,
        acc_b,
        acc_base,
        extra_current,
        has_extra_current,
        kicks,
        normals,
        base,
        fired,
        with_w,
        with_inh,
        False,
    )


TILED_BUILD = False
"""Replaced in each build of :func:`_lane`: True in the builds for large networks (stepped in tiles)."""
WIDE_BUILD = False
"""Replaced in each build of :func:`_lane`: True in the build whose target ranges run on threads."""


def _lane(
    b,
    t_begin,
    t_end,
    dt,
    v_state,
    i_exc,
    i_inh,
    w_state,
    refractory,
    acc,
    coef,
    kind,
    extra_current,
    has_extra_current,
    extra_rate,
    has_extra_rate,
    has_poisson,
    has_noise,
    group_ptr,
    group_syn,
    group_rank,
    delay_values,
    post,
    weight,
    inhibitory,
    pending,
    pending_count,
    pool,
    blocks,
    pool_pos,
    keys,
    population_index,
    spike_step,
    spike_neuron,
    spike_count,
    counts,
    bin_first,
    steps_per_bin,
    trace_neuron,
    trace_variable,
    traces,
    trace_first,
    status,
    next_step,
    bounds,
):
    """Advance lane b from t_begin to t_end: the one source of the three lanes, each a build of its
    own with two constants (the other builds' code is not compiled in; one lane with run-time flags
    cost the 80-neuron CPG 10-15 %):

    * ``TILED_BUILD`` False, ``WIDE_BUILD`` False (:data:`_advance_lane_serial`, networks below
      TILED_NEURONS): the whole network is one tile, the loops over tiles and target ranges have one
      pass at constant bounds (the compiler drops them), arrivals go straight into the lane's buffers
      and every update reads all variables (small circuits step ~1 µs apart, where every call counts).
    * ``TILED_BUILD`` True (:data:`_advance_lane_tiled`): tiles of TILE neurons, whose draws sit in
      tile-sized buffers; a step's arrivals sorted by tile (:func:`_bucket_fill`) and added into a
      tile-sized buffer just before the tile's update; lean updates (:func:`_lean_runs`).
    * ``WIDE_BUILD`` True as well (:data:`_advance_lane_wide`, compiled parallel): ``bounds`` splits
      the neurons into target ranges (multiples of 64), one per thread, each adding its own tiles' sorted
      arrivals into tile buffers of its own and stepping its range in tiles; from PARALLEL_QUEUE_SPIKES
      spikes (PARALLEL_BUCKET_RECORDS arriving records) in a step the queueing (sorting) is split over the
      threads too. The same numbers, bit for bit.

    The normals and Poisson draws are written out, not inlined calls: numba counts references to the
    arrays an inlined function takes (an atomic increment and decrement each) and, in a function this
    large, LLVM does not prune them; per step and per run of neurons they cost the 80-neuron CPG 5 %
    and hcp_cortex 10 %."""
    tiled = TILED_BUILD  # constants of each build: ``if tiled`` / ``if wide`` drop the other builds' code
    wide = WIDE_BUILD
    n = v_state.shape[1]
    capacity = spike_step.shape[1]
    n_traces = trace_neuron.shape[0]
    rate_to_mean = dt / 1000.0
    words = (n + 7) // 8
    fired = np.zeros(8 * words, dtype=np.uint8)  # padded to whole 64-bit words, which the scan tests at once
    fired_words = fired.view(np.uint64)
    n_chunks = bounds.shape[0] - 1 if wide else 1  # target ranges (one per thread in the wide build)
    tile_words = (min(n, TILE) + 7) // 8 if tiled else words  # below TILED_NEURONS, one tile: the network
    if wide:  # each range's own tile buffers (taken as rows inside the parallel loop)
        kick_rows = np.zeros((n_chunks, 8 * tile_words))
        normal_rows = np.zeros((n_chunks, 8 * tile_words))
        hash_rows = np.zeros((n_chunks, 8 * tile_words), dtype=np.uint64)
        rejected_rows = np.zeros((n_chunks, 8 * tile_words), dtype=np.int64)
        flag_rows = np.zeros((n_chunks, 8 * tile_words), dtype=np.uint8)
        pair_rows = np.zeros((n_chunks, 4 * tile_words + 1), dtype=np.uint64)
    else:
        kicks = np.zeros(8 * tile_words)  # a tile's Poisson counts, normals and the flags the Poisson draws left
        normals = np.zeros(8 * tile_words)
        normal_hash = np.zeros(8 * tile_words, dtype=np.uint64)  # each normal's hash, kept for the rare draws
        rejected_at = np.zeros(8 * tile_words, dtype=np.int64)  # where the ziggurat's fast path did not decide
        flags = np.zeros(8 * tile_words, dtype=np.uint8)
        pair_bits = np.zeros(4 * tile_words + 1, dtype=np.uint64)  # the Poisson draw's hashes, one per pair
        pair_halves = pair_bits.view(np.uint32)  # ... read as each neuron's 32 bits
        flag_words = flags.view(np.uint64)  # views made once: a view made per step costs reference counting
    chunk_fired = np.zeros(n_chunks if wide else 0, dtype=np.int64)  # whether each range had a spike, a non-finite v
    chunk_bad = np.zeros(n_chunks if wide else 0, dtype=np.int64)
    part_count = np.zeros((n_chunks if wide else 0, delay_values.shape[0]), dtype=np.int64)
    part_offset = np.zeros((n_chunks if wide else 0, delay_values.shape[0]), dtype=np.int64)
    pool_weight = pool.view(np.float64)  # the queued synapses' weights: pool[b, x, 0] read as doubles
    runs = _runs_of_kind(kind[b])
    if tiled:
        run_w, run_inh = _lean_runs(b, runs, coef, w_state, i_inh, acc, inhibitory)
    rank_count = np.zeros(delay_values.shape[0] + 1, dtype=np.int64)
    arrivals = np.zeros((delay_values.shape[0], 2), dtype=np.int64)
    # a tiled lane's arrivals are sorted by tile (stable: each target keeps its order) and summed into a
    # tile-sized buffer just before the tile's update, instead of into network-sized buffers; the wide lane's
    # threads each sort a share of the records, and sum their own tiles into buffers of their own
    n_tiles = (n + TILE - 1) // TILE if tiled else 0
    bucket_ptr = np.zeros(n_tiles + 1, dtype=np.int64)
    part_tile = np.zeros((n_chunks if tiled else 0, n_tiles), dtype=np.int64)  # counts, then starts per part
    # the wide build sizes the sorted records once, to the queue (pages never touched cost nothing): an array
    # reassigned before a prange that reads it crashes numba's parallel build; the serial build grows them
    sorted_size = pool.shape[1] if wide else 1024
    bucket_weight = np.empty(sorted_size if tiled else 0)
    bucket_target = np.empty(sorted_size if tiled else 0, dtype=np.int32)
    acc_tiles = np.zeros((n_chunks, 2, TILE if tiled else 0))  # each target range's arrival buffers for a tile
    key_a = keys[b, STREAM_NOISE_A]
    key_b = keys[b, STREAM_NOISE_B]
    key_p = keys[b, STREAM_POISSON]
    key_x = keys[b, STREAM_POISSON_EXTRA]
    depth = blocks.shape[1]
    # a small network's serial lane (the simulator gives it ``depth`` arrival buffers per lane) sums its
    # arrivals at queueing into a delay ring: acc[b * depth + step % depth] holds what arrives at step
    ring = not tiled and acc.shape[0] != v_state.shape[0]
    ring_base = int64(b) * depth if ring else int64(-1)  # int64: b is unsigned in a parallel loop over lanes
    in_flight = 0  # queued entries not delivered yet: none, and a step needs not look at the queue
    for slot in range(blocks.shape[1]):
        in_flight += blocks[b, slot, 1] - blocks[b, slot, 2]
    recorded = spike_count[b]  # kept local: lanes on other threads write the neighbouring counters
    for t in range(t_begin, t_end):
        if recorded + n > capacity:
            spike_count[b] = recorded
            status[b, 0] = BUFFER_FULL
            status[b, 1] = 0
            next_step[b] = t
            return
        m = pending_count[b]
        if t > 0 and m == 0:  # nothing fired: an empty block, without a call
            slot = (t - 1) % depth
            blocks[b, slot, 0] = pool_pos[b]
            blocks[b, slot, 1] = pool_pos[b]
            blocks[b, slot, 2] = pool_pos[b]
        elif t > 0 and wide and n_chunks > 1 and m >= PARALLEL_QUEUE_SPIKES:
            # the spikes split over the threads: count, place (one thread), copy
            queued = pool_pos[b]
            for part in prange(n_chunks):
                _queue_count(
                    b,
                    m * part // n_chunks,
                    m * (part + 1) // n_chunks,
                    pending,
                    group_ptr,
                    group_syn,
                    group_rank,
                    part_count[part],
                )
            if not _queue_place(b, t, part_count, part_offset, pool, blocks, pool_pos, pending_count, status):
                spike_count[b] = recorded
                next_step[b] = t
                return
            for part in prange(n_chunks):
                _queue_copy(
                    b,
                    queued,
                    m * part // n_chunks,
                    m * (part + 1) // n_chunks,
                    pending,
                    group_ptr,
                    group_syn,
                    group_rank,
                    post,
                    weight,
                    pool,
                    pool_weight,
                    part_offset[part],
                )
            in_flight += pool_pos[b] - queued
        elif t > 0:
            queued = pool_pos[b]
            if not _queue_spikes(
                b,
                t,
                pending,
                pending_count,
                group_ptr,
                group_syn,
                group_rank,
                rank_count,
                post,
                weight,
                pool,
                pool_weight,
                blocks,
                pool_pos,
                status,
                delay_values,
                acc,
                ring_base,
            ):
                spike_count[b] = recorded
                next_step[b] = t
                return
            in_flight += pool_pos[b] - queued
        n_ranges = 0
        bucketed = False
        if in_flight:
            n_ranges = _arrivals(b, t, delay_values, pool, blocks, arrivals)
            if n_ranges:
                for a in range(n_ranges):
                    in_flight -= arrivals[a, 1] - arrivals[a, 0]
                if tiled:
                    arriving = 0
                    for a in range(n_ranges):
                        arriving += arrivals[a, 1] - arrivals[a, 0]
                    if not wide and arriving > bucket_weight.shape[0]:
                        bucket_weight = np.empty(2 * arriving)
                        bucket_target = np.empty(2 * arriving, dtype=np.int32)
                    parts = n_chunks if wide and arriving >= PARALLEL_BUCKET_RECORDS else 1
                    for part in prange(parts):
                        _bucket_count(
                            b,
                            arrivals,
                            n_ranges,
                            arriving * part // parts,
                            arriving * (part + 1) // parts,
                            pool,
                            part_tile[part],
                        )
                    _bucket_starts(part_tile[:parts], bucket_ptr)
                    for part in prange(parts):
                        _bucket_fill(
                            b,
                            arrivals,
                            n_ranges,
                            arriving * part // parts,
                            arriving * (part + 1) // parts,
                            pool,
                            pool_weight,
                            part_tile[part],
                            bucket_weight,
                            bucket_target,
                        )
                    bucketed = True
                else:
                    _deliver(b, arrivals, n_ranges, pool, pool_weight, acc)
        # steps 1-3 written out here: an inlined per-step function costs ~0.2 µs in small circuits
        acc_row = ring_base + t % depth if ring else int64(b)  # the arrival buffers of this step (computed out of the
        # update's call: a branch among its arguments kept numba from pruning its arrays' reference counts)
        for chunk in prange(n_chunks):  # one pass but in the wide build
            lo_chunk = bounds[chunk] if wide else 0
            hi_chunk = bounds[chunk + 1] if wide else n
            if wide:
                kicks = kick_rows[chunk]
                normals = normal_rows[chunk]
                normal_hash = hash_rows[chunk]
                rejected_at = rejected_rows[chunk]
                flags = flag_rows[chunk]
                flag_words = flags.view(np.uint64)
                pair_bits = pair_rows[chunk]
                pair_halves = pair_bits.view(np.uint32)
            any_fired = 0  # 1 once a run of the update had a spike
            any_not_finite = 0  # 1 once a run had a propagated v that is not finite
            run_first = 0  # the first run that reaches into the tile
            tile_row = int64(chunk)  # this range's arrival buffers (int64: a prange index is unsigned)
            # passes over the network's tiles (a range's first and last may be parts of one: ranges are
            # multiples of 64, not of TILE), so that each pass reads one tile's sorted arrivals
            first_tile = lo_chunk >> TILE_SHIFT
            n_tile_passes = ((hi_chunk - 1) >> TILE_SHIFT) - first_tile + 1 if tiled else 1
            for tile_index in range(n_tile_passes):  # the draws stay in L1 cache until the update reads them
                tile = first_tile + tile_index
                lo = max(tile << TILE_SHIFT, lo_chunk) if tiled else 0
                hi = min((tile + 1) << TILE_SHIFT, hi_chunk) if tiled else n
                if has_noise:  # _draw_normals written out: inlined, it counts references to its arrays
                    n_rejected = 0
                    position = stream_position(key_a, t) + uint64(lo) * _GOLDEN
                    for j in range(hi - lo):  # the hashes in a loop of their own: it vectorises, fused it did not
                        normal_hash[uint64(j)] = mix64(position)
                        position += _GOLDEN  # random_u64(key_a, t, lo + j)'s position, by addition (no multiply)
                    for j in range(hi - lo):
                        bits = normal_hash[uint64(j)]
                        layer = bits & uint64(127)
                        u = _signed_unit(bits)
                        normals[uint64(j)] = u * _ZIG_X[layer]
                        rejected_at[n_rejected] = j  # written for every draw, kept for the undecided: no branch
                        n_rejected += abs(u) >= _ZIG_RATIO[layer]
                    for k in range(n_rejected):  # ~2.8 % of the draws: :func:`normal`'s slow path, from the kept hash
                        j = rejected_at[k]
                        bits = normal_hash[j]
                        normals[j] = _normal_rejected(
                            key_b, t, lo + j, int(bits & uint64(127)), 2.0 * _unit(bits) - 1.0
                        )
                if bucketed:  # this tile's arrivals, in arrival order, into the range's tile buffers
                    if lo == tile << TILE_SHIFT and hi == min((tile + 1) << TILE_SHIFT, n):  # the whole tile
                        for k in range(bucket_ptr[tile], bucket_ptr[tile + 1]):
                            wk = bucket_weight[k]
                            acc_tiles[tile_row, 1 - (wk >= 0.0), bucket_target[k] - lo] += wk
                    else:  # the part of a tile another range shares
                        for k in range(bucket_ptr[tile], bucket_ptr[tile + 1]):
                            j = bucket_target[k]
                            if lo <= j and j < hi:
                                wk = bucket_weight[k]
                                acc_tiles[tile_row, 1 - (wk >= 0.0), j - lo] += wk
                if tiled:
                    while runs[run_first, 1] <= lo:
                        run_first += 1
                run = run_first
                while run < runs.shape[0] and (runs[run, 0] < hi if tiled else True):
                    # a run's Poisson counts are still in L1 cache for its update
                    first = max(runs[run, 0], lo) if tiled else runs[run, 0]
                    last = min(runs[run, 1], hi) if tiled else runs[run, 1]
                    c = runs[run, 2]
                    if has_poisson and (coef[c, POISSON_MEAN] > 0.0 or has_extra_rate):  # _draw_kicks written out
                        m = last - first
                        mean = coef[c, POISSON_MEAN]
                        table = _table(coef, c)
                        last_p = coef[c, POISSON_LAST_P]
                        entries = POISSON_TABLE
                        n_beyond = 0
                        if mean < 10.0:
                            t0, t1 = _threshold(table[0]), _threshold(table[1])
                            t2, t3 = _threshold(table[2]), _threshold(table[3])
                            # random_u64(key_p, t, pair) for each pair (lo is even: pairs do not straddle), its
                            # position advanced by addition: a vectorised 64-bit multiply fewer per hash
                            position = stream_position(key_p, t) + uint64(first >> 1) * _GOLDEN
                            for pair in range(first >> 1, (last + 1) >> 1):
                                pair_bits[uint64(pair - (lo >> 1))] = mix64(position)
                                position += _GOLDEN
                            if table[3] >= 1.0 - SHORT_TABLE_TAIL:
                                entries = 4
                                for q in range(m):
                                    drawn = pair_halves[uint64(first - lo + q)]
                                    # a 32-bit count: as a 64-bit one, its conversion to a double has no AVX2
                                    # instruction and took ~30 % of this loop's time
                                    k = int32((drawn > t0) + (drawn > t1) + (drawn > t2) + (drawn > t3))
                                    beyond = k == 4
                                    kicks[uint64(first - lo + q)] = k
                                    flags[uint64(first - lo + q)] = beyond
                                    n_beyond += beyond
                            else:
                                t4, t5 = _threshold(table[4]), _threshold(table[5])
                                t6, t7 = _threshold(table[6]), _threshold(table[7])
                                for q in range(m):
                                    drawn = pair_halves[uint64(first - lo + q)]
                                    k = int32(
                                        (drawn > t0)
                                        + (drawn > t1)
                                        + (drawn > t2)
                                        + (drawn > t3)
                                        + (drawn > t4)
                                        + (drawn > t5)
                                        + (drawn > t6)
                                        + (drawn > t7)
                                    )
                                    beyond = k == POISSON_TABLE
                                    kicks[uint64(first - lo + q)] = k
                                    flags[uint64(first - lo + q)] = beyond
                                    n_beyond += beyond
                        if mean >= 10.0 or has_extra_rate:
                            for q in range(m):
                                i = uint64(first + q)
                                extra = extra_rate[b, i] if has_extra_rate else 0.0
                                if mean >= 10.0 or extra > 0.0 or kicks[i - lo] == entries:
                                    u = poisson_uniform(key_p, t, i)
                                    kicks[i - lo] = _kicks_exact(
                                        u, mean, table, last_p, extra, rate_to_mean, key_p, key_x, t, i
                                    )
                        elif n_beyond:
                            for word in range((first - lo) // 8, (last - lo + 7) // 8):
                                if flag_words[word] == 0:
                                    continue
                                for j in range(max(8 * word, first - lo), min(8 * word + 8, last - lo)):
                                    if flags[j]:
                                        u = poisson_uniform(key_p, t, lo + j)
                                        kicks[j] = _kicks_exact(
                                            u, mean, table, last_p, 0.0, rate_to_mean, key_p, key_x, t, lo + j
                                        )
                    elif has_poisson and tiled:  # the tile's counts may hold another run's: this run draws none
                        for j in range(first - lo, last - lo):
                            kicks[j] = 0.0
                    if tiled:  # lean updates; the wide build's arrivals are in the lane's buffers
                        run_flags = _update_lean(
                            b,
                            first,
                            last,
                            coef,
                            c,
                            v_state,
                            i_exc,
                            i_inh,
                            w_state,
                            refractory,
                            acc_tiles,
                            tile_row,
                            lo,
                            extra_current,
                            has_extra_current,
                            kicks,
                            normals,
                            lo,
                            fired,
                            run_w[run],
                            run_inh[run],
                        )
                    else:  # the lane's own buffers, all variables read (small circuits gain nothing here)
                        run_flags = _update(
                            b,
                            first,
                            last,
                            coef,
                            c,
                            v_state,
                            i_exc,
                            i_inh,
                            w_state,
                            refractory,
                            acc,
                            acc_row,
                            0,
                            extra_current,
                            has_extra_current,
                            kicks,
                            normals,
                            0,
                            fired,
                            True,
                            True,
                            True,
                        )
                    any_fired |= run_flags[0]
                    any_not_finite |= run_flags[1]
                    run += 1
            if wide:
                chunk_fired[chunk] = any_fired
                chunk_bad[chunk] = any_not_finite
        if wide:
            any_fired = chunk_fired.max()
            any_not_finite = chunk_bad.max()
        if any_not_finite:
            for i in range(n):
                if not math.isfinite(v_state[b, i]):
                    spike_count[b] = recorded
                    status[b, 0] = NOT_FINITE
                    status[b, 1] = t
                    status[b, 2] = i
                    next_step[b] = t
                    return
        if any_fired:
            m = 0
            for word in range(words):
                if fired_words[word] == 0:
                    continue
                for i in range(8 * word, min(8 * word + 8, n)):
                    if fired[i] == 0:
                        continue
                    c = kind[b, i]
                    spike_step[b, recorded] = t
                    spike_neuron[b, recorded] = i
                    recorded += 1
                    counts[b, t // steps_per_bin - bin_first, population_index[i]] += 1
                    v_state[b, i] = coef[c, V_RESET]
                    refractory[b, i] = int(coef[c, N_REFRACTORY])
                    w_state[b, i] += coef[c, ADAPTATION]
                    pending[b, m] = i
                    m += 1
            pending_count[b] = m
        for k in range(n_traces):
            j = trace_neuron[k]
            var = trace_variable[k]
            if var == 0:
                value = v_state[b, j]
            elif var == 1:
                value = i_exc[b, j]
            elif var == 2:
                value = i_inh[b, j]
            else:
                value = w_state[b, j]
            traces[b, t - trace_first, k] = value
    spike_count[b] = recorded
    status[b, 0] = DONE
    next_step[b] = t_end


def _advance(
    next_step,
    t_end,
    dt,
    v_state,
    i_exc,
    i_inh,
    w_state,
    refractory,
    acc,
    coef,
    kind,
    extra_current,
    has_extra_current,
    extra_rate,
    has_extra_rate,
    has_poisson,
    has_noise,
    group_ptr,
    group_syn,
    group_rank,
    delay_values,
    post,
    weight,
    inhibitory,
    pending,
    pending_count,
    pool,
    blocks,
    pool_pos,
    keys,
    population_index,
    spike_step,
    spike_neuron,
    spike_count,
    counts,
    bin_first,
    steps_per_bin,
    trace_neuron,
    trace_variable,
    traces,
    trace_first,
    status,
    bounds,
):
    """Advance every lane from ``next_step[lane]`` to ``t_end``.

    Compiled three times: :data:`advance_parallel` runs lanes on parallel threads, :data:`advance`
    one after the other (a parallel launch costs from tens of microseconds to milliseconds on
    a busy machine, too much for the short chunks of a closed loop), and :data:`advance_wide`
    runs lanes one after the other with each step's neurons split over threads by ``bounds``
    (one large network). A lane stops early when its spike buffer might overflow (status
    BUFFER_FULL) or its spike queue is full (QUEUE_FULL, with the size it needs in
    ``status[lane, 1]``); the caller grows the buffer and calls again. It also stops when its
    state is not finite (NOT_FINITE with the step and neuron). ``next_step`` is updated in place.
    """
    for b in prange(v_state.shape[0]):
        if next_step[b] < t_end:
            LANE(
                int64(b),  # unsigned in a parallel loop: as int64, the parallel build calls the serial build's lane
                next_step[b],
                t_end,
                dt,
                v_state,
                i_exc,
                i_inh,
                w_state,
                refractory,
                acc,
                coef,
                kind,
                extra_current,
                has_extra_current,
                extra_rate,
                has_extra_rate,
                has_poisson,
                has_noise,
                group_ptr,
                group_syn,
                group_rank,
                delay_values,
                post,
                weight,
                inhibitory,
                pending,
                pending_count,
                pool,
                blocks,
                pool_pos,
                keys,
                population_index,
                spike_step,
                spike_neuron,
                spike_count,
                counts,
                bin_first,
                steps_per_bin,
                trace_neuron,
                trace_variable,
                traces,
                trace_first,
                status,
                next_step,
                bounds,
            )
        else:
            status[b, 0] = DONE


def _named(function, name: str, **globals_):
    """A copy of ``function`` under another name (with some globals replaced).

    numba's on-disk cache keys a compiled function by its qualified name and signature, not by
    its compile flags: the serial and the parallel build of one Python function would overwrite
    each other's cache entries (and a process would then load the wrong one), so each build
    gets a function of its own name.
    """
    namespace = function.__globals__ if not globals_ else {**function.__globals__, **globals_}
    clone = types.FunctionType(
        function.__code__.replace(co_name=name), namespace, name, function.__defaults__, function.__closure__
    )
    clone.__qualname__ = name
    clone.__doc__ = function.__doc__
    return clone


_advance_lane_serial = njit(cache=True, pipeline_class=_NoAliasCompiler)(_named(_lane, "advance_lane_serial"))
"""One lane of a network below TILED_NEURONS on one thread (the whole network one tile)."""
_advance_lane_tiled = njit(cache=True, pipeline_class=_NoAliasCompiler)(
    _named(_lane, "advance_lane_tiled", TILED_BUILD=True)
)
"""One lane of a large network on one thread, in tiles."""
_WIDE_PARALLEL = dict(
    comprehension=False, reduction=False, inplace_binop=False, setitem=False, numpy=False, stencil=False, fusion=False
)
"""Only the ``prange`` loops of the wide lane run on threads: with numba's other parallel passes (NumPy calls
and array expressions made parallel loops, fusion) its first compile took ~50 % longer, for nothing."""
_advance_lane_wide = njit(cache=True, parallel=_WIDE_PARALLEL)(  # type: ignore[call-overload]  # numba takes a dict
    _named(_lane, "advance_lane_wide", TILED_BUILD=True, WIDE_BUILD=True)
)
"""One lane, its neuron ranges on parallel threads (each in tiles)."""
LANE = _advance_lane_serial
"""The lane function :func:`_advance` calls; each build of it names its own (see below)."""
advance = njit(cache=True)(_named(_advance, "advance_serial", LANE=_advance_lane_serial))
advance_parallel = njit(cache=True, parallel=True)(_named(_advance, "advance_parallel", LANE=_advance_lane_serial))
advance_wide = njit(cache=True)(_named(_advance, "advance_wide", LANE=_advance_lane_wide))
advance_tiled = njit(cache=True)(_named(_advance, "advance_tiled", LANE=_advance_lane_tiled))


@njit(cache=True)
def delay_extent(delays):
    """(shortest, longest, present): the delays' range and, for each delay 0..longest, whether a
    synapse has it (one pass; ``np.bincount`` would first copy the delays to 64-bit integers)."""
    if delays.shape[0] == 0:
        return 0, 0, np.zeros(1, dtype=np.bool_)
    shortest = delays[0]
    longest = delays[0]
    for d in delays:
        shortest = min(shortest, d)
        longest = max(longest, d)
    present = np.zeros(max(longest, 0) + 1, dtype=np.bool_)
    if shortest >= 0:
        for d in delays:
            present[d] = True
    return shortest, longest, present


VIEW_BLOCK_SYNAPSES = 65536
"""Synapses per sub-block of presynaptic neurons in :func:`delivery_view` (a sub-block's part of the view,
and its counters, stay in cache while it is sorted)."""
VIEW_SUB_BLOCK_BITS = 3
"""A block of :func:`delivery_view` is 2**3 sub-blocks (fewer blocks to write to at once: faster)."""


def delivery_view(
    n, indptr, indices, delays, rank_of_delay, data, block_synapses=VIEW_BLOCK_SYNAPSES, threads=1, empty=np.empty
):
    """Synapses grouped for delivery at arrival, from W[post, pre] in CSR form.

    Returns (order, post, weight, group_ptr, group_syn, group_rank): synapse q of the view is
    CSR entry ``order[q]``, sorted by presynaptic neuron, then delay, then CSR position (so by
    target within a group); ``post[q]`` is its target and ``weight[q]`` its weight ``data[order[q]]``.
    Neuron j's delay groups are ``group_ptr[j]:group_ptr[j + 1]``; group g holds synapses
    ``group_syn[g]:group_syn[g + 1]``, all of delay ``delay_values[group_rank[g]]``.

    Stable counting sorts, O(synapses + neurons), with no memory beyond the view's own arrays and
    a block's scratch per thread: the CSR arrays are read once, in order, and each synapse is written
    straight into the view's arrays, in the part of the block of presynaptic neurons it belongs to
    (few blocks, so that every block's write position stays in cache), its order entry holding its
    (neuron in the block, delay rank) key above its CSR position. Each block, copied to a scratch,
    is then written back by sub-block (about ``block_synapses`` each), and each sub-block, copied
    again, is counted by that key and written back sorted, within cache. Writing each synapse straight
    to its place would miss the cache on every write. ``threads`` of numba's threads share the work
    (ranges of rows, then blocks); the view is the same whatever their number.

    The view's arrays are NumPy's (``empty(size, dtype)``), not numba's: NumPy asks Linux to back large
    arrays with 2 MB pages, and queueing a spike reads its neuron's entries in five of them, each a TLB
    miss in 4 kB pages (a 1 M-neuron / 100 M-synapse step: 0.91-1.0 of the time, docs/notes/kernel.md,
    session 15). The group arrays are allocated one entry per synapse, their upper bound, and returned
    cut to the groups there are: the pages past the groups are never touched, so they cost no memory.
    """
    nnz = indices.shape[0]
    view = (  # order, post, weight, group_ptr, group_syn, group_rank (passed one by one: see _delivery_view_into)
        empty(nnz, np.int64),
        empty(nnz, np.int32),
        empty(nnz, np.float64),
        empty(n + 1, np.int64),
        empty(nnz + 1, np.int64),
        empty(nnz, np.int32),
    )
    n_groups = _delivery_view_into(n, indptr, indices, delays, rank_of_delay, data, block_synapses, threads, *view)
    order, post, weight, group_ptr, group_syn, group_rank = view
    return order, post, weight, group_ptr, group_syn[: n_groups + 1], group_rank[:n_groups]


@njit(cache=True, parallel=_WIDE_PARALLEL)  # type: ignore[call-overload]  # numba takes a dict
def _delivery_view_into(
    n,
    indptr,
    indices,
    delays,
    rank_of_delay,
    data,
    block_synapses,
    threads,
    order,
    post,
    weight,
    group_ptr,
    group_syn,
    group_rank,
):
    """:func:`delivery_view` into the arrays given; returns how many groups there are. (The arrays come as
    arguments of their own: taken as one tuple and unpacked here, numba's parallel build gave wrong groups.)"""
    nnz = indices.shape[0]
    n_ranks = 1
    for r in rank_of_delay:
        n_ranks = max(n_ranks, r + 1)
    rank_bits = 0
    while (1 << rank_bits) < n_ranks:
        rank_bits += 1
    fine = 0  # neurons per sub-block: 1 << fine
    while fine < 31 and (1 << (fine + 1)) * nnz <= block_synapses * n:
        fine += 1
    while fine > 0 and (1 << (fine + rank_bits)) > 4 * block_synapses:
        fine -= 1  # many distinct delays: fewer neurons per sub-block, so that its counters stay few
    shift = fine + VIEW_SUB_BLOCK_BITS  # neurons per block: 1 << shift
    n_blocks = ((n - 1) >> shift) + 1 if n > 0 else 0
    position_bits = 1
    while (1 << position_bits) < nnz:
        position_bits += 1
    if shift + rank_bits + position_bits >= 62:
        raise ValueError("too many synapses and delays to sort in 64-bit keys")
    position_mask = (1 << position_bits) - 1
    column_mask = (1 << shift) - 1
    sub_shift = position_bits + rank_bits + fine
    bin_mask = (1 << (rank_bits + fine)) - 1
    # rows in `parts` ranges of about equal synapse counts; range p's synapses go before range p + 1's
    # in every block, so each block still holds its synapses in CSR order
    parts = max(1, min(threads, n))
    row_start = np.zeros(parts + 1, dtype=np.int64)
    row = 0
    for p in range(1, parts):
        while row < n and indptr[row] < p * nnz // parts:
            row += 1
        row_start[p] = row
    row_start[parts] = n
    fill = np.zeros((parts, n_blocks), dtype=np.int64)
    for p in prange(parts):
        for k in range(indptr[row_start[p]], indptr[row_start[p + 1]]):
            fill[p, indices[k] >> shift] += 1
    block_ptr = np.zeros(n_blocks + 1, dtype=np.int64)
    for block in range(n_blocks):
        position = block_ptr[block]
        for p in range(parts):
            synapses = fill[p, block]
            fill[p, block] = position
            position += synapses
        block_ptr[block + 1] = position
    weight_bits = weight.view(np.int64)
    data_bits = data.view(np.int64)
    for p in prange(parts):
        for i in range(row_start[p], row_start[p + 1]):
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                x = fill[p, j >> shift]
                fill[p, j >> shift] = x + 1
                key = (np.int64(j & column_mask) << rank_bits) | rank_of_delay[delays[k]]
                order[x] = (key << position_bits) | k
                post[x] = i
                weight_bits[x] = data_bits[k]
    # a block's groups go first to the start of its own synapses' range (at most one group per
    # synapse; the pages of this bound that are never written are never touched), then together
    block_group_syn = np.empty(nnz, dtype=np.int64)
    block_group_rank = np.empty(nnz, dtype=np.int32)
    block_groups = np.zeros(n_blocks + 1, dtype=np.int64)
    group_ptr[0] = 0
    n_sub = 1 << VIEW_SUB_BLOCK_BITS
    for block in prange(n_blocks):
        base = block_ptr[block]
        size = block_ptr[block + 1] - base
        scratch_key = np.empty(size, dtype=np.int64)
        scratch_post = np.empty(size, dtype=np.int32)
        scratch_weight = np.empty(size, dtype=np.int64)
        sub = np.zeros(n_sub + 1, dtype=np.int64)
        count = np.zeros((1 << (rank_bits + fine)) + 1, dtype=np.int64)
        for x in range(size):
            scratch_key[x] = order[base + x]
            scratch_post[x] = post[base + x]
            scratch_weight[x] = weight_bits[base + x]
            sub[(scratch_key[x] >> sub_shift) + 1] += 1
        for f in range(n_sub):
            sub[f + 1] += sub[f]
        for x in range(size):  # into sub-blocks, stably (the block holds its synapses in CSR order)
            f = scratch_key[x] >> sub_shift
            y = base + sub[f]
            sub[f] += 1
            order[y] = scratch_key[x]
            post[y] = scratch_post[x]
            weight_bits[y] = scratch_weight[x]
        g = 0
        for f in range(n_sub):
            first = (block << shift) + (f << fine)
            if first >= n:
                break
            start = base + (sub[f - 1] if f > 0 else 0)
            sub_size = base + sub[f] - start
            count[:] = 0
            for x in range(sub_size):
                scratch_key[x] = order[start + x]
                scratch_post[x] = post[start + x]
                scratch_weight[x] = weight_bits[start + x]
                count[((scratch_key[x] >> position_bits) & bin_mask) + 1] += 1
            key = 0  # counts -> starts, in (neuron, delay rank) order; each non-empty key is a group
            for j in range(first, min(first + (1 << fine), n)):
                for r in range(1 << rank_bits):
                    c = count[key + 1]
                    if c > 0:
                        block_group_syn[base + g] = start + count[key]
                        block_group_rank[base + g] = r
                        g += 1
                    count[key + 1] = c + count[key]
                    key += 1
                group_ptr[j + 1] = g
            for x in range(sub_size):  # stable again
                key = (scratch_key[x] >> position_bits) & bin_mask
                y = start + count[key]
                count[key] += 1
                order[y] = scratch_key[x] & position_mask
                post[y] = scratch_post[x]
                weight_bits[y] = scratch_weight[x]
        block_groups[block + 1] = g
    for block in range(n_blocks):
        block_groups[block + 1] += block_groups[block]
    n_groups = block_groups[n_blocks]
    for block in prange(n_blocks):
        offset, base = block_groups[block], block_ptr[block]
        for q in range(block_groups[block + 1] - offset):
            group_syn[offset + q] = block_group_syn[base + q]
            group_rank[offset + q] = block_group_rank[base + q]
        for j in range(block << shift, min((block + 1) << shift, n)):
            group_ptr[j + 1] += offset
    group_syn[n_groups] = nnz
    return n_groups
