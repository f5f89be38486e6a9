"""How many 128-token passages a second this CPU could embed at best: the int8 matrix-multiply rate
ONNX Runtime reaches on the embedder's own layer shapes, divided by the multiply-adds one passage costs.

The embedder's int8 graph spends its time in MatMulInteger (uint8 activations x int8 weights), so that
rate, measured alone with nothing else in the graph, is a ceiling for the whole model: attention,
LayerNorm, GELU and quantising activations only add to it.

    python scripts/int8_ceiling.py [--threads 2] [--tokens 4096]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from transformers import AutoConfig

from qa.settings import Settings


def matmul_integer_session(k: int, n: int, threads: int) -> ort.InferenceSession:
    rng = np.random.default_rng(0)
    weights = numpy_helper.from_array(rng.integers(-127, 128, size=(k, n), dtype=np.int8), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w"], ["y"])],
        "matmul_integer",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, ["t", k])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, ["t", n])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def macs_per_second(k: int, n: int, tokens: int, threads: int, seconds: float = 3.0) -> float:
    session = matmul_integer_session(k, n, threads)
    a = np.random.default_rng(1).integers(0, 256, size=(tokens, k), dtype=np.uint8)
    session.run(None, {"a": a})
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        session.run(None, {"a": a})
        runs += 1
    return runs * tokens * k * n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=4096, help="rows per multiply (a batch of 32 passages)")
    parser.add_argument("--passage-tokens", type=int, default=128)
    args = parser.parse_args()

    config = AutoConfig.from_pretrained(Settings().embedder_name())
    hidden, inner, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    # Per token and layer: the query, key, value and output projections (hidden x hidden each) and the
    # feed-forward's two (hidden x inner each); the attention products themselves run in fp32 here.
    shapes = [(hidden, hidden)] * 4 + [(hidden, inner), (inner, hidden)]
    seconds_per_token = 0.0
    for k, n in sorted(set(shapes)):
        rate = macs_per_second(k, n, args.tokens, args.threads)
        print(f"MatMulInteger {args.tokens} x {k} x {n}: {rate / 1e9:.1f} G multiply-adds/s ({args.threads} threads)")
        seconds_per_token += shapes.count((k, n)) * k * n / rate
    macs = sum(k * n for k, n in shapes) * layers * args.passage_tokens
    ceiling = 1 / (seconds_per_token * layers * args.passage_tokens)
    print(f"{layers} layers, hidden {hidden}, inner {inner}: {macs / 1e9:.2f} G int8 multiply-adds per {args.passage_tokens}-token passage")
    print(f"ceiling: {ceiling:.0f} passages/s from the projections alone")


if __name__ == "__main__":
    main()
