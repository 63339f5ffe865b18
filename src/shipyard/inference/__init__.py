"""The model server (data plane): Open Inference Protocol and plain JSON over verified bundles,
with adaptive batching and Prometheus metrics."""
