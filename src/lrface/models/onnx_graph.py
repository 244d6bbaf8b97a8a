"""Face networks rebuilt in PyTorch from a shipped ONNX file's graph and initializers.

``GraphNet`` turns a plain feed-forward ONNX graph (the ops of ``OPS``: convolution, PReLU/ReLU,
batch norm, add, flatten, fully connected, dropout, and the input's own scaling) into torch
modules, one per node, registered under the node's name, so the result is an ordinary trainable
``nn.Module`` (``state_dict``, gradients, ``torch.compile``, DDP). Quantised weights (``DequantizeLinear``
with per-tensor, per-axis or block scales, then ``Reshape``) are dequantised to float32 once, at
build time: what the rebuilt network computes is what onnxruntime computes, in float.

Forward executes the nodes in the graph's (topological) order; ``forward_features`` also returns
the last map at each spatial size ("s112", "s56", ..., for multi-hierarchy losses) and "embedding".
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import LrfaceError
from .base import FaceBackbone

OPS = {"Conv", "PRelu", "Relu", "BatchNormalization", "Add", "Flatten", "Gemm", "Dropout", "Sub", "Mul",
       "DequantizeLinear", "Reshape", "Constant"}


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def dequantize(q: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, axis: int = 1, block: int = 0) -> np.ndarray:
    """ONNX DequantizeLinear: (q - zero) * scale, with a scalar, per-axis or block-wise scale."""
    q = q.astype(np.float32)
    scale = scale.astype(np.float32)
    zero = np.zeros_like(scale) if zero is None else zero.astype(np.float32)
    if scale.ndim == 0 or scale.size == 1:
        return (q - zero.reshape(())) * scale.reshape(())
    axis = axis % q.ndim
    if block:
        scale = np.repeat(scale, block, axis=axis).take(range(q.shape[axis]), axis=axis)
        zero = np.repeat(zero, block, axis=axis).take(range(q.shape[axis]), axis=axis)
    else:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (q - zero) * scale


def _key(name: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in name)


class GraphNet(FaceBackbone):
    """A feed-forward ONNX face network as torch modules (module doc)."""

    def __init__(self, model: Any, input_size: tuple[int, int] = (112, 112), embedding_dim: int = 512,
                 input_scale: tuple[float, float] = (255.0, 0.0), align_style: str = "arcface") -> None:
        """``model``: an ``onnx.ModelProto``. The network gets RGB in [0, 1] and feeds the graph
        x * input_scale[0] + input_scale[1] (the file's own input convention)."""
        super().__init__()
        from onnx import numpy_helper

        self.input_size, self.embedding_dim, self.align_style = input_size, embedding_dim, align_style
        self.input_scale = input_scale
        g = model.graph
        const: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        self.input_name = next(i.name for i in g.input if i.name not in const)
        self.layers = nn.ModuleDict()
        self.steps: list[tuple[str, str, list[str], str, dict[str, Any]]] = []  # (op, key, inputs, output, attrs)
        for node in g.node:
            op, a = node.op_type, _attrs(node)
            if op not in OPS:
                raise LrfaceError(f"cannot rebuild ONNX op {op} ({node.name}) in PyTorch")
            ins, out = list(node.input), node.output[0]
            if op == "Constant":
                const[out] = numpy_helper.to_array(a["value"])
            elif op == "DequantizeLinear":
                const[out] = dequantize(const[ins[0]], const[ins[1]], const.get(ins[2]) if len(ins) > 2 else None,
                                        int(a.get("axis", 1)), int(a.get("block_size", 0)))
            elif op == "Reshape" and all(i in const for i in ins):
                const[out] = const[ins[0]].reshape(const[ins[1]].astype(np.int64))
            else:
                key = _key(node.name or out)
                self._build(op, key, ins, const, a)
                self.steps.append((op, key, [i for i in ins if i not in const or op in ("Sub", "Mul", "Add")], out, a))
                if op in ("Sub", "Mul", "Add"):
                    for i in ins:
                        if i in const:
                            self.register_buffer(_key(i), torch.from_numpy(np.array(const[i], np.float32)))
        self.output_name = g.output[0].name
        self._const_names = set(const)

    def _build(self, op: str, key: str, ins: list[str], const: dict[str, np.ndarray], a: dict[str, Any]) -> None:
        t = lambda name: torch.from_numpy(np.array(const[name], np.float32))  # noqa: E731  (a writable copy)
        if op == "Conv":
            w = t(ins[1])
            pads = a.get("pads", [0, 0, 0, 0])
            if pads[:2] != pads[2:]:
                raise LrfaceError("asymmetric convolution padding is not supported")
            conv = nn.Conv2d(w.shape[1] * int(a.get("group", 1)), w.shape[0], tuple(w.shape[2:]),  # type: ignore[arg-type]
                             tuple(a.get("strides", [1, 1])), tuple(pads[:2]), tuple(a.get("dilations", [1, 1])),
                             int(a.get("group", 1)), bias=len(ins) > 2)
            conv.weight.data.copy_(w)
            if len(ins) > 2:
                conv.bias.data.copy_(t(ins[2]))  # type: ignore[union-attr]  # torch's stubs: module attributes and buffers
            self.layers[key] = conv
        elif op == "PRelu":
            slope = t(ins[1]).reshape(-1)
            p = nn.PReLU(len(slope))
            p.weight.data.copy_(slope)
            self.layers[key] = p
        elif op == "BatchNormalization":
            c = const[ins[1]].size
            bn = nn.BatchNorm2d(c, eps=float(a.get("epsilon", 1e-5)), momentum=1 - float(a.get("momentum", 0.9)))
            bn.weight.data.copy_(t(ins[1]).reshape(-1))
            bn.bias.data.copy_(t(ins[2]).reshape(-1))
            bn.running_mean.copy_(t(ins[3]).reshape(-1))  # type: ignore[union-attr]
            bn.running_var.copy_(t(ins[4]).reshape(-1))  # type: ignore[union-attr]
            self.layers[key] = bn
        elif op == "Gemm":
            w = t(ins[1])
            if int(a.get("transB", 0)) == 0:
                w = w.T
            fc = nn.Linear(w.shape[1], w.shape[0], bias=len(ins) > 2)
            fc.weight.data.copy_(w * float(a.get("alpha", 1.0)))
            if len(ins) > 2:
                fc.bias.data.copy_(t(ins[2]).reshape(-1) * float(a.get("beta", 1.0)))
            self.layers[key] = fc

    @property
    def feature_names(self) -> list[str]:
        return ["embedding"]

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        env: dict[str, torch.Tensor] = {self.input_name: x * self.input_scale[0] + self.input_scale[1]}
        feats: dict[str, torch.Tensor] = {}

        def val(name: str) -> torch.Tensor:
            return env[name] if name in env else getattr(self, _key(name))

        for op, key, ins, out, a in self.steps:
            if op in ("Conv", "Gemm"):
                y = self.layers[key](val(ins[0]))
            elif op == "PRelu":
                y = self.layers[key](val(ins[0]))
            elif op == "BatchNormalization":
                v = val(ins[0])
                y = self.layers[key](v) if v.dim() == 4 else F.batch_norm(
                    v, self.layers[key].running_mean, self.layers[key].running_var, self.layers[key].weight,  # type: ignore[arg-type]
                    self.layers[key].bias, self.training, 0.1, self.layers[key].eps)  # type: ignore[arg-type]
            elif op == "Relu":
                y = F.relu(val(ins[0]))
            elif op == "Add":
                y = val(ins[0]) + val(ins[1])
            elif op == "Sub":
                y = val(ins[0]) - val(ins[1])
            elif op == "Mul":
                y = val(ins[0]) * val(ins[1])
            elif op == "Flatten":
                y = torch.flatten(val(ins[0]), int(a.get("axis", 1)))
            elif op == "Dropout":
                y = val(ins[0])
            else:  # Reshape of a computed tensor
                raise LrfaceError(f"unsupported runtime {op}")
            env[out] = y
            if y.dim() == 4:
                feats[f"s{y.shape[-1]}"] = y
        feats["embedding"] = env[self.output_name]
        return feats
