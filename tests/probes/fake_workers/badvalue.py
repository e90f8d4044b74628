"""Reports results the runner must not trust: NaN, ok without a value, a string value."""

from fakeproto import done, hello, parse, result, start

args = parse()
hello(args, probes=("matmul", "conv", "mlp_train", "lstm"))
start("matmul")
result(args, "matmul", value=float("nan"))
start("conv")
result(args, "conv", value=None)
start("mlp_train")
result(args, "mlp_train", value="fast")
start("lstm")
result(args, "lstm", status="skipped", value=None, error="not on this device")
done()
