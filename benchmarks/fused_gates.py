"""Would a compiled library fuse an LSTM step's gate work faster than NumPy's passes?

One step of neuronet's LSTM(128) at batch 64 (``neuronet.ops.recurrent.cells``) is a
(512 x 128) @ (128 x 64) product and about ten elementwise NumPy passes over the gates.
The speed issues ask that a compiled accelerator be argued from measurements; this
script measures the candidates on the same gate work, one thread each:
- NumPy: ``LSTMCell.step`` minus its product, timed alone (the passes neuronet runs);
- numba (``pip install numba``): the whole gate work as one fused loop;
- numexpr (``pip install numexpr``): c_t = f c_{t-1} + i g as one expression, against
  NumPy's three passes for it.
A library that is not installed is reported as missing, with no figure.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/fused_gates.py [--rounds 7]
"""
import argparse
import statistics
import time

import numpy as np

UNITS, BATCH = 128, 64


def microseconds(work, rounds, calls=2000):
    """Median over ``rounds`` of the mean time of one call, in microseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            work()
        times.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(times)


def arrays():
    rng = np.random.default_rng(0)
    a = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in
         [("z", (4 * UNITS, BATCH)), ("rec", (4 * UNITS, BATCH)), ("c", (UNITS, BATCH)),
          ("h", (UNITS, BATCH)), ("kernel", (UNITS, 4 * UNITS)),
          ("recurrent", (UNITS, 4 * UNITS))]}
    for name in ("c_new", "h_new", "act_c"):
        a[name] = np.empty((UNITS, BATCH), np.float32)
    return a


def numpy_gates(a, rounds):
    """neuronet's step, less its product measured alone."""
    from neuronet.ops.recurrent.cells import LSTMCell

    cell = LSTMCell("tanh", "sigmoid", UNITS)
    weights = cell.weights(a["kernel"], a["recurrent"], None)
    cell.start(1, BATCH, np.float32)
    z = a["z"].copy()
    states, new_states = (a["h"], a["c"]), (a["h_new"], a["c_new"])
    step = microseconds(lambda: cell.step(z, 0, weights, states, new_states), rounds)
    product = microseconds(lambda: np.matmul(weights.rt, a["h"], out=a["rec"]), rounds)
    return step - product


def numba_gates(a, rounds):
    import numba

    @numba.njit(fastmath=True)
    def fused(z, rec, c, c_new, act_c, h_new):
        u, n = c.shape
        for k in range(u):
            for j in range(n):
                i = np.tanh(z[k, j] + rec[k, j]) * 0.5 + 0.5
                f = np.tanh(z[u + k, j] + rec[u + k, j]) * 0.5 + 0.5
                o = np.tanh(z[2 * u + k, j] + rec[2 * u + k, j]) * 0.5 + 0.5
                g = np.tanh(z[3 * u + k, j] + rec[3 * u + k, j])
                z[k, j], z[u + k, j], z[2 * u + k, j], z[3 * u + k, j] = i, f, o, g
                c_new[k, j] = f * c[k, j] + i * g
                act_c[k, j] = np.tanh(c_new[k, j])
                h_new[k, j] = o * act_c[k, j]

    z = a["z"].copy()
    args = (z, a["rec"], a["c"], a["c_new"], a["act_c"], a["h_new"])
    fused(*args)  # compile before timing
    return microseconds(lambda: fused(*args), rounds)


def cell_state_update(a, rounds):
    """c_t = f c + i g: numexpr's one expression against NumPy's three passes."""
    import numexpr

    numexpr.set_num_threads(1)
    i, f, g = a["z"][:UNITS], a["z"][UNITS:2 * UNITS], a["z"][3 * UNITS:]
    c, c_new, tmp = a["c"], a["c_new"], a["act_c"]
    terms = {"f": f, "c": c, "i": i, "g": g}

    def numpy_passes():
        np.multiply(f, c, out=c_new)
        np.multiply(i, g, out=tmp)
        np.add(c_new, tmp, out=c_new)

    def one_expression():
        numexpr.evaluate("f * c + i * g", local_dict=terms, out=c_new)
    fused = microseconds(one_expression, rounds)
    return fused, microseconds(numpy_passes, rounds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    a = arrays()
    print(f"LSTM({UNITS}) step, batch {BATCH}, float32, medians of {args.rounds} rounds (us)")
    print(f"  NumPy passes (neuronet's step less its product): {numpy_gates(a, args.rounds):.1f}")
    try:
        print(f"  numba, the gate work fused in one loop: {numba_gates(a, args.rounds):.1f}")
    except ImportError:
        print("  numba: not installed")
    try:
        fused, passes = cell_state_update(a, args.rounds)
        print(f"  c_t = f c + i g: numexpr {fused:.1f}, NumPy's three passes {passes:.1f}")
    except ImportError:
        print("  numexpr: not installed")


if __name__ == "__main__":
    main()
