"""How a model's forward pass runs: PyTorch (the reference, and what training uses) or ONNX Runtime
(int8, the default for answering and indexing). One module per runtime; `qa.runtime.loading` picks one."""
