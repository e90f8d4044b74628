"""PyTorch probes: eager modules, `torch.compile` for the compiled mode, CUDA when asked."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch

from probes.frameworks.base import (
    Capability,
    Collective,
    Prepared,
    adding_chain,
    onnx_capability,
    try_capability,
)
from probes.reference import ConvBlock, Lstm, Mlp
from probes.transformer import ADAM_EPS, BETAS, LEARNING_RATE, LN_EPS, PARAMS, WEIGHT_DECAY, Block

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _numpy(t: Any) -> np.ndarray:
    return np.asarray(t.detach().float().cpu().numpy())


class TorchBackend:
    name = "pytorch"
    mlp_modes: ClassVar[dict[str, tuple[str, ...]]] = {"quick": ("eager",)}
    """the quick suite leaves torch.compile to the other suites: even with a warm inductor cache
    compiling the MLP step costs 3.5 s of a one-minute run (and it was slower than eager here)"""
    transformer_modes: ClassVar[dict[str, tuple[str, ...]]] = {
        "tiny": ("eager",),
        "quick": ("eager",),
        "full": ("eager", "compiled"),
    }
    """torch.compile only in the full suite: a cold inductor cache costs 13 s (forward) and 8 s
    (training step) here, and it did not beat eager on this CPU (facts, workload probes)"""

    def __init__(self, device: str, threads: int) -> None:
        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("CUDA requested but torch.cuda.is_available() is False")
        torch.set_num_threads(threads)
        self.device = device
        self._dev = torch.device(device)
        self.collective = (
            Collective(_ALL_REDUCE, "torch.distributed all_reduce (Gloo, TCP on 127.0.0.1)")
            if torch.distributed.is_available() and torch.distributed.is_gloo_available()
            else None
        )

    def _t(self, a: np.ndarray) -> torch.Tensor:
        """A copy on the device: training updates must never write into the reference's arrays."""
        return torch.tensor(np.ascontiguousarray(a), device=self._dev)

    def versions(self) -> dict[str, str]:
        found = {"pytorch": torch.__version__, "numpy": np.__version__}
        if torch.backends.mkldnn.is_available():
            found["onednn"] = "available"
        found["blas"] = " ".join(torch.__config__.show().split("BLAS_INFO=")[1:2]).split(",")[0]
        if torch.version.cuda:
            found["cuda"] = str(torch.version.cuda)
        return {k: v for k, v in found.items() if v}

    def sync(self, result: Any) -> None:
        if self.device == "cuda":
            torch.cuda.synchronize()

    def matmul(self, a: np.ndarray, b: np.ndarray, dtype: str) -> Prepared:
        ta, tb = (self._t(v).to(DTYPES[dtype]) for v in (a, b))
        return Prepared(run=lambda: ta @ tb, fetch=_numpy)

    def _mlp_module(self, m: Mlp) -> torch.nn.Module:
        layers = torch.nn.Sequential(
            torch.nn.Linear(m.w1.shape[1], m.w1.shape[0]),
            torch.nn.ReLU(),
            torch.nn.Linear(m.w2.shape[1], m.w2.shape[0]),
        ).to(self._dev)
        with torch.no_grad():
            for layer, w, b in ((layers[0], m.w1, m.b1), (layers[2], m.w2, m.b2)):
                layer.weight.copy_(self._t(w))
                layer.bias.copy_(self._t(b))
        return layers

    def mlp_train(self, m: Mlp, x: np.ndarray, y: np.ndarray, lr: float, mode: str) -> Prepared:
        model = self._mlp_module(m)
        details: dict[str, Any] = {"execution": "eager"}
        net: torch.nn.Module = model
        if mode == "compiled":
            net = torch.compile(model)
            details = {"execution": "torch.compile (inductor)"}
        tx, ty = self._t(x), self._t(y)
        optimiser = torch.optim.SGD(model.parameters(), lr=lr)

        def step() -> torch.Tensor:
            optimiser.zero_grad(set_to_none=True)
            loss = torch.mean((net(tx) - ty) ** 2)
            loss.backward()
            optimiser.step()
            return loss.detach()

        return Prepared(run=step, fetch=_numpy, details=details)

    def mlp_forward(self, m: Mlp, x: np.ndarray) -> Prepared:
        model = self._mlp_module(m).eval()
        tx = self._t(x)

        def forward() -> torch.Tensor:
            with torch.inference_mode():
                return model(tx)

        return Prepared(run=forward, fetch=_numpy)

    def conv_train(self, b: ConvBlock, x: np.ndarray, y: np.ndarray, lr: float) -> Prepared:
        params = [self._t(v).requires_grad_() for v in (b.k1, b.c1, b.k2, b.c2, b.dense, b.bias)]
        k1, c1, k2, c2, dense, bias = params
        optimiser = torch.optim.SGD(params, lr=lr)
        tx, ty = self._t(x), self._t(y)
        conv2d, relu = torch.nn.functional.conv2d, torch.relu

        def step() -> torch.Tensor:
            optimiser.zero_grad(set_to_none=True)
            hidden = relu(conv2d(tx, k1, c1, padding=1))
            out = relu(conv2d(hidden, k2, c2, padding=1) + tx)
            logits = out.mean(dim=(2, 3)) @ dense.T + bias
            loss = torch.mean((logits - ty) ** 2)
            loss.backward()
            optimiser.step()
            return loss.detach()

        return Prepared(run=step, fetch=_numpy, details={"execution": "eager autograd"})

    def lstm_forward(self, m: Lstm, x: np.ndarray) -> Prepared:
        hidden = m.w_hh.shape[1]
        lstm = torch.nn.LSTM(m.w_ih.shape[1], hidden, batch_first=True).to(self._dev).eval()
        with torch.no_grad():
            lstm.weight_ih_l0.copy_(self._t(m.w_ih))
            lstm.weight_hh_l0.copy_(self._t(m.w_hh))
            lstm.bias_ih_l0.copy_(self._t(m.bias))
            lstm.bias_hh_l0.zero_()
        tx = self._t(x)

        def forward() -> torch.Tensor:
            with torch.inference_mode():
                _, (h, _) = lstm(tx)
                return h[0]

        return Prepared(run=forward, fetch=_numpy, details={"execution": "eager nn.LSTM"})

    def add_chain(self, x: np.ndarray, ops: int) -> Prepared:
        return Prepared(run=adding_chain(self._t(x), ops), fetch=_numpy)

    def transformer(
        self, block: Block, x: np.ndarray, target: np.ndarray | None, mode: str
    ) -> Prepared:
        weights = {name: self._t(block.weights[name]) for name in PARAMS}
        heads = block.shape.heads
        functional = torch.nn.functional

        def split(t: torch.Tensor) -> torch.Tensor:
            b, n, d = t.shape
            return t.reshape(b, n, heads, d // heads).transpose(1, 2)

        def forward(w: dict[str, torch.Tensor], tx: torch.Tensor) -> torch.Tensor:
            d = tx.shape[-1]
            h = functional.layer_norm(tx, (d,), w["ln1_g"], w["ln1_b"], LN_EPS)
            q, k, v = (h @ w["w_qkv"] + w["b_qkv"]).split(d, dim=-1)
            attended = functional.scaled_dot_product_attention(split(q), split(k), split(v))
            x1 = tx + attended.transpose(1, 2).reshape(tx.shape) @ w["w_o"] + w["b_o"]
            h2 = functional.layer_norm(x1, (d,), w["ln2_g"], w["ln2_b"], LN_EPS)
            hidden = functional.gelu(h2 @ w["w1"] + w["b1"], approximate="tanh")
            return x1 + hidden @ w["w2"] + w["b2"]

        details = {"execution": "eager", "attention": "F.scaled_dot_product_attention"}
        run_block: Callable[..., torch.Tensor] = forward
        if mode == "compiled":
            run_block = torch.compile(forward)
            details["execution"] = "torch.compile (inductor)"
        tx = self._t(x)
        if target is None:

            def infer() -> torch.Tensor:
                with torch.inference_mode():
                    return run_block(weights, tx)

            return Prepared(run=infer, fetch=_numpy, details=details)
        for value in weights.values():
            value.requires_grad_()
        optimiser = torch.optim.AdamW(
            list(weights.values()),
            lr=LEARNING_RATE,
            betas=BETAS,
            eps=ADAM_EPS,
            weight_decay=WEIGHT_DECAY,
        )
        tt = self._t(target)

        def step() -> torch.Tensor:
            optimiser.zero_grad(set_to_none=True)
            loss = torch.mean((run_block(weights, tx) - tt) ** 2)
            loss.backward()
            optimiser.step()
            return loss.detach()

        def state() -> dict[str, np.ndarray]:
            return {name: _numpy(value) for name, value in weights.items()}

        return Prepared(
            run=step,
            fetch=_numpy,
            details={**details, "optimiser": "torch.optim.AdamW"},
            state=state,
        )

    def gpu_peak_bytes(self, reset: bool) -> int | None:
        if self.device != "cuda":
            return None
        if reset:
            torch.cuda.reset_peak_memory_stats()
        return int(torch.cuda.max_memory_allocated())

    def capabilities(self) -> dict[str, Capability]:
        found = {
            "gpu": Capability(
                torch.cuda.is_available(),
                f"{torch.cuda.device_count()} CUDA device(s)"
                + ("; MPS" if torch.backends.mps.is_available() else ""),
            ),
        }
        found["mixed_precision"] = try_capability(
            lambda: torch.autocast(self.device, dtype=torch.bfloat16),
            "torch.autocast (bfloat16)",
        )
        found["onnx_export"] = onnx_capability(
            _onnx_export, "torch.onnx.export of a Linear layer", needs=("onnx",)
        )
        found["compile"] = Capability(
            False,
            "torch.compile not exercised in this run (mlp_train's compiled mode did not run; "
            "the quick suite leaves it to `--suite tiny` or `full`)",
            unknown=True,
        )
        return found


# One rank of the all-reduce job (probes.collectives runs it after its harness).
_ALL_REDUCE = """
import datetime
import torch, torch.distributed as dist
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method=f"tcp://{ADDRESSES[0]}", rank=RANK, world_size=COUNT,
                        timeout=datetime.timedelta(seconds=30))

def reduce(t):
    dist.all_reduce(t)  # in place: the harness restores the buffer before each timed call
    return t

harness(lambda a: torch.from_numpy(a.copy()), reduce, lambda t: t.numpy(), lambda t: None,
        reset=lambda t, a: t.copy_(torch.from_numpy(a)))
dist.destroy_process_group()
"""


def _onnx_export() -> tuple[bytes, np.ndarray, np.ndarray]:
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 2)
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    buffer = io.BytesIO()
    torch.onnx.export(layer, (torch.from_numpy(x),), buffer, dynamo=False, input_names=["x"])
    return buffer.getvalue(), x, _numpy(layer(torch.from_numpy(x)))


def make_backend(device: str, threads: int) -> TorchBackend:
    return TorchBackend(device, threads)
