"""Data-parallel scale-out of the CNN: 1 process x 2 threads against 2 MPI ranks x 1 thread.

Both train the course's CNN (``architectures.cnn``, 28x28x1, 10 classes, Adam) with
``fit`` on the same global batch (``--batch`` samples a step: 2 ranks take half each),
one epoch of ``--samples`` samples per round after a warm-up epoch, ``--rounds``
rounds, medians. The ranks also report the bytes each sends to the Allreduce per step,
the time per step spent in it during training (which includes waiting for the slower
rank), and the time of the same Allreduce alone (20 back to back). From these and the
measured compute time per sample it prints the expected step time on 8 and 64
machines linked at 10 and 100 Gbit/s (ring allreduce: each rank sends and receives
2 (N - 1) / N of the gradient bytes, in 2 (N - 1) messages), and the per-machine batch
below which communication would take longer than the computation.

Usage: nice -n 10 python benchmarks/distributed.py [--rounds 3] [--samples 512] [--batch 64]
       [--compute-rate SAMPLES_PER_S]
Writes benchmarks/distributed.json.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy

HERE = os.path.dirname(os.path.abspath(__file__))
LATENCY_S = 20e-6  # per message on Ethernet with MPI over TCP (a typical figure)


def train_rate(rounds, samples, batch):
    """(samples/s of each round, the model): rank 0's view of global samples/s."""
    from neuronet import architectures, distributed, losses, optimizers
    from neuronet.random import manual_seed

    manual_seed(0)
    rng = numpy.random.default_rng(0)
    x = rng.random((samples, 28, 28, 1), dtype=numpy.float32)
    y = rng.integers(0, 10, size=samples)
    model = architectures.cnn((28, 28, 1), 10)
    model.compile(optimizer=optimizers.Adam(1e-3),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    per_rank = batch // distributed.size()
    model.fit(x, y, batch_size=per_rank, epochs=1, verbose=0)  # warm-up
    rates = []
    for _ in range(rounds):
        distributed.barrier()
        started = time.perf_counter()
        model.fit(x, y, batch_size=per_rank, epochs=1, verbose=0)
        distributed.barrier()
        rates.append(samples / (time.perf_counter() - started))
    return rates, model


def single(args):
    from neuronet import parallel

    parallel.set_num_threads(2)
    rates, model = train_rate(args.rounds, args.samples, args.batch)
    return {"samples_per_second": statistics.median(rates), "rounds": rates,
            "params": model.count_params()}


def ranks(args):
    """Run inside mpiexec: rank 0 prints the JSON of the measurements."""
    from neuronet import distributed
    from neuronet.distributed import launch

    launch.start_rank()
    rates, model = train_rate(args.rounds, args.samples, args.batch)
    averager = model.optimizer.gradient_averager
    steps = averager.calls
    buffer = numpy.zeros(averager.bytes_sent // steps // 4, dtype=numpy.float32)
    distributed.barrier()
    started = time.perf_counter()
    for _ in range(20):
        distributed.comm.allreduce_sum(buffer)
    alone = (time.perf_counter() - started) / 20
    if distributed.rank() == 0:
        print(json.dumps({"samples_per_second": statistics.median(rates), "rounds": rates,
                          "bytes_per_step": averager.bytes_sent // steps,
                          "allreduce_s_per_step_in_training": averager.seconds / steps,
                          "allreduce_s_alone": alone, "threads_per_rank": 1}))


def on_paper(single_rate, bytes_per_step, batch):
    """Expected ring-allreduce time per step and the batch where it equals compute."""
    compute_per_sample = 1.0 / single_rate  # one 2-core machine, as measured
    rows = []
    for machines in (8, 64):
        for gbit in (10, 100):
            moved = 2 * (machines - 1) / machines * bytes_per_step
            seconds = moved / (gbit * 1e9 / 8) + 2 * (machines - 1) * LATENCY_S
            step_compute = batch * compute_per_sample
            rows.append({"machines": machines, "gbit_per_s": gbit,
                         "bytes_moved_per_rank": moved, "allreduce_s": seconds,
                         "compute_s_at_batch": step_compute,
                         "efficiency": step_compute / (step_compute + seconds),
                         "batch_where_comm_equals_compute": seconds / compute_per_sample})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64, help="global batch per step")
    parser.add_argument("--compute-rate", type=float, metavar="SAMPLES_PER_S",
                        help="one machine's training rate for the estimates on paper "
                             "(default: the 1-process rate measured here)")
    parser.add_argument("--ranks-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ranks_run:
        return ranks(args)
    from neuronet.distributed import launch

    alone = single(args)
    done = launch.run_ranks(2, [os.path.abspath(__file__), "--ranks-run", "--rounds",
                                str(args.rounds), "--samples", str(args.samples),
                                "--batch", str(args.batch)],
                            capture_output=True, text=True, check=True)
    two = json.loads(done.stdout.strip().splitlines()[-1])
    result = {"one_process_2_threads": alone, "two_ranks_1_thread": two,
              "speedup": two["samples_per_second"] / alone["samples_per_second"],
              "global_batch": args.batch, "samples": args.samples,
              "compute_rate_on_paper": args.compute_rate or alone["samples_per_second"]}
    result["on_paper"] = on_paper(result["compute_rate_on_paper"], two["bytes_per_step"],
                                  args.batch)
    with open(os.path.join(HERE, "distributed.json"), "w") as file:
        json.dump(result, file, indent=2)
    print(f"CNN ({alone['params']} params), global batch {args.batch}: 1 process x 2 threads "
          f"{alone['samples_per_second']:.0f} samples/s, 2 ranks x 1 thread "
          f"{two['samples_per_second']:.0f} samples/s ({result['speedup']:.2f}x)")
    print(f"Allreduce per step: {two['bytes_per_step']} bytes, "
          f"{two['allreduce_s_per_step_in_training'] * 1e3:.2f} ms in training, "
          f"{two['allreduce_s_alone'] * 1e3:.2f} ms alone")
    print(f"On paper, one machine training {result['compute_rate_on_paper']:.0f} samples/s:")
    for row in result["on_paper"]:
        print(f"{row['machines']:3d} machines, {row['gbit_per_s']:3d} Gbit/s: allreduce "
              f"{row['allreduce_s'] * 1e3:.2f} ms, compute {row['compute_s_at_batch'] * 1e3:.0f}"
              f" ms at batch {args.batch}/machine, efficiency {row['efficiency']:.3f}, "
              f"comm = compute at batch {row['batch_where_comm_equals_compute']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
