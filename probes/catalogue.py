"""The probe suites: which probes run, at which sizes, for how long.

One table for every framework, so each measures the same math at the same shapes and dtype.
`tiny` checks that everything works (tests and CI), `quick` (the default) gives usable figures
for every framework in about a minute on a 2-core machine (single-threaded, one matmul size, the
transformer's training step only, Keras on one backend: README, "Probes"), `full` measures longer
and larger, every mode and pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from probes.timing import Budget
from probes.transformer import BlockShape

COMPUTE_PROBES = (
    "import_time",
    "train_peak_memory",
    "matmul",
    "conv_train_step",
    "mlp_train",
    "lstm_forward",
    "inference_latency",
    "dispatch_overhead",
    "transformer",
    "allreduce",
)
CAPABILITY_PROBES = (
    "capability.gpu",
    "capability.distributed",
    "capability.mixed_precision",
    "capability.onnx_export",
    "capability.compile",
)
PROBES = COMPUTE_PROBES + CAPABILITY_PROBES
FRONTEND_PROBES = ("import_time", "mlp_train", "conv_train_step", "transformer", "keras_overhead")
"""What a front-end's worker runs (Keras 3 on one backend): its MLP and conv training steps and
the transformer block's AdamW step next to the native ones (params implementation=keras /
native), then their ratios."""


@dataclass(frozen=True)
class Sizes:
    """Shapes of one suite; every framework gets exactly these."""

    matmul: tuple[int, ...]
    mlp: tuple[int, int, int, int]
    """batch, inputs, hidden units, outputs"""
    conv: tuple[int, int, int]
    """batch, channels, height (= width); 3x3 kernels, NCHW in the reference"""
    memory_batch: int
    """conv batch for the peak-memory step (larger, so activations dominate)"""
    lstm: tuple[int, int, int, int]
    """batch, time steps, inputs, hidden units"""
    latency_calls: int
    dispatch_ops: int
    budget: Budget
    transformer: tuple[BlockShape, ...]
    """encoder blocks timed (forward and AdamW step, per execution mode)"""
    transformer_budget: Budget
    allreduce_bytes: tuple[int, ...]
    """message sizes of the all-reduce probe, float32"""
    allreduce_iterations: tuple[int, int]
    """warm-up and timed all-reduces per message size"""
    transformer_passes: tuple[str, ...] = ("forward", "train")
    """what the transformer probe times: the training step always (it runs the forward pass
    too), the forward pass alone where the suite has time for it"""
    transformer_pair_budget: Budget | None = None
    """a front-end's transformer step against the native one, in alternating rounds
    (overhead.rounds_for); None: `transformer_budget`"""


KIB, MIB = 1024, 1024 * 1024
SMALL_BLOCK = BlockShape(batch=8, seq=128, d_model=256, heads=4, d_ff=1024)
"""1.7 GFLOP a forward pass: 10-50 ms a step on one CPU core, long enough to be work, short
enough for the quick suite"""

GPU_BLOCKS = (BlockShape(batch=32, seq=512, d_model=1024, heads=16, d_ff=4096),)
"""what a GPU times instead of the CPU sizes (410 GFLOP a training step: the CPU sizes would
measure kernel launches)"""

SUITES: dict[str, Sizes] = {
    "tiny": Sizes(
        matmul=(64, 256),
        mlp=(32, 64, 128, 10),
        conv=(4, 8, 16),
        memory_batch=16,
        lstm=(4, 8, 16, 32),
        latency_calls=30,
        dispatch_ops=100,
        budget=Budget(warmup=1, min_repeats=3, min_seconds=0.02),
        transformer=(BlockShape(batch=2, seq=16, d_model=32, heads=2, d_ff=64),),
        transformer_budget=Budget(warmup=1, min_repeats=3, min_seconds=0.0),
        allreduce_bytes=(4 * KIB,),
        allreduce_iterations=(2, 5),
    ),
    "quick": Sizes(
        matmul=(1024,),
        mlp=(64, 256, 512, 10),
        conv=(8, 16, 32),
        memory_batch=64,
        lstm=(16, 32, 64, 128),
        latency_calls=100,
        dispatch_ops=200,
        budget=Budget(warmup=2, min_repeats=5, min_seconds=0.15),
        transformer=(SMALL_BLOCK,),
        # after the first call and the step check: 5 untimed steps, then 10 timed (facts: 3 + 10)
        transformer_budget=Budget(warmup=3, min_repeats=10, min_seconds=0.0, max_repeats=10),
        allreduce_bytes=(4 * KIB, MIB),
        allreduce_iterations=(5, 20),
        transformer_passes=("train",),  # the forward pass alone: tiny and full (1-1.5 s each)
        # measure_pair's fewest rounds (5), after the first call, the check and one warm-up step
        transformer_pair_budget=Budget(warmup=1, min_repeats=2, min_seconds=0.0),
    ),
    "full": Sizes(
        matmul=(256, 1024, 2048),
        mlp=(128, 784, 1024, 10),
        conv=(32, 32, 32),
        memory_batch=128,
        lstm=(32, 64, 128, 256),
        latency_calls=300,
        dispatch_ops=1000,
        budget=Budget(warmup=3, min_repeats=10, min_seconds=1.0),
        transformer=(SMALL_BLOCK, BlockShape(batch=8, seq=256, d_model=512, heads=8, d_ff=2048)),
        transformer_budget=Budget(warmup=5, min_repeats=20, min_seconds=1.0),
        allreduce_bytes=(4 * KIB, 64 * KIB, MIB, 16 * MIB),
        allreduce_iterations=(5, 20),
    ),
}

LEARNING_RATE = 0.05


def suite_sizes(suite: str) -> Sizes:
    try:
        return SUITES[suite]
    except KeyError:
        raise ValueError(f"unknown suite {suite!r}: one of {', '.join(SUITES)}") from None


def suite_probes(suite: str, frontend: bool = False) -> tuple[str, ...]:
    """The probe names a suite runs (the same list in every suite; sizes differ); a front-end
    runs FRONTEND_PROBES."""
    suite_sizes(suite)
    return FRONTEND_PROBES if frontend else PROBES
