"""Seeing the tape: draw the graph behind a tensor, and trace a backward pass.

    print(mg.viz.to_dot(loss, params=dict(model.named_parameters())))   # Graphviz text
    mg.viz.draw_graph(loss, "graph.png")        # PNG by `dot` if installed, else matplotlib
    with mg.autograd.trace():                   # (also mg.viz.trace) one line per node
        loss.backward()

The graph is read from what autograd records (see autograd.py): a tensor's `creator` is
the Function that made it, and each Function's `next_edges` lead to the Functions (or the
leaves) that made its inputs. Drawn in the direction the data flows:

    leaf tensors (ellipses)  ->  ops (boxes)  ->  intermediate tensors  ->  ...  ->  root
    blue ellipse   a leaf that requires grad (a parameter: its name when `params` is given)
    grey ellipse   an input that does not require grad (data, a constant)
    green ellipse  the tensor whose graph it is
    orange box     an op recorded *by a backward pass*: for `g = mg.grad(out, x,
                   create_graph=True)`, pass `grads=g, outputs=out` and the ops behind g
                   but not behind out are marked. That is how the WGAN-GP penalty looks:
                   its graph is the critic's backward pass, turned into ordinary ops.

The trace prints, for each Function that backward visits (in the order it visits them):
its index, its name, its input and output shapes, the norm of the gradient arriving at its
output(s) and of the gradient it sends to each input (`-` for an input that needs none).
It works through the `_backward_trace` hook of autograd.run_backward and restores the
previous hook on exit. Norms are computed on the host, so tracing slows a GPU run down.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

# ------------------------------------------------------------------ the graph, as data
_STYLE = {   # kind -> Graphviz attributes (the matplotlib fallback uses the fill colours)
    "op": 'shape=box, style="rounded,filled", fillcolor="#e8e8e8"',
    "op_backward": 'shape=box, style="rounded,filled", fillcolor="#fdb863"',
    "tensor": 'shape=ellipse, style=filled, fillcolor="#ffffff", fontsize=10',
    "root": 'shape=ellipse, style=filled, fillcolor="#b2df8a"',
    "leaf_grad": 'shape=ellipse, style=filled, fillcolor="#a6cee3", penwidth=2',
    "leaf": 'shape=ellipse, style=filled, fillcolor="#d9d9d9", fontsize=10',
}
_FILL = {"op": "#e8e8e8", "op_backward": "#fdb863", "tensor": "#ffffff", "root": "#b2df8a",
         "leaf_grad": "#a6cee3", "leaf": "#d9d9d9"}


@dataclasses.dataclass
class Graph:
    """Nodes {id: (label, kind)} and edges [(source id, target id, label)], in the
    direction the data flows (label: the shape carried, when tensors are not nodes)."""
    nodes: dict
    edges: list


def _shape(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def _as_list(tensors) -> list:
    if tensors is None:
        return []
    return list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]


def _functions_behind(tensors) -> set:
    """Every Function reachable from the creators of `tensors`."""
    seen, stack = set(), [t.creator for t in _as_list(tensors) if t.creator is not None]
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        stack.extend(e.fn for e in fn.next_edges if e is not None and e.fn is not None)
    return seen


def build_graph(tensor, params: dict | None = None, grads=None, outputs=None,
                show_constants: bool = True, show_tensors: bool = True) -> Graph:
    """The graph behind `tensor` as plain data (what to_dot and draw_graph render).

    params:  {name: tensor}, e.g. dict(model.named_parameters()), to name the leaves.
    grads, outputs: the results of `grads = mg.grad(outputs, ..., create_graph=True)`;
             the ops behind `grads` but not behind `outputs` were recorded by that
             backward pass and are marked (kind 'op_backward', orange).
    show_constants: draw the inputs that do not require grad (grey).
    show_tensors: draw intermediate tensors as nodes; False labels the edges with the
             shapes instead (a graph half as tall)."""
    names = {id(t): name for name, t in (params or {}).items()}
    recorded = _functions_behind(grads) - _functions_behind(outputs)
    nodes, edges = {}, []
    leaf_ids: dict = {}
    fn_ids: dict = {}

    def leaf_node(t):
        key = leaf_ids.setdefault(id(t), f"t{len(leaf_ids)}")
        if key not in nodes:
            name = names.get(id(t)) or t.name
            label = f"{name}\n{_shape(t.shape)}" if name else _shape(t.shape)
            nodes[key] = (label, "leaf_grad" if t.requires_grad else "leaf")
        return key

    def op_node(fn):
        if fn not in fn_ids:
            fn_ids[fn] = key = f"f{len(fn_ids)}"
            nodes[key] = (fn.name, "op_backward" if fn in recorded else "op")
        return fn_ids[fn]

    def connect(fn, index, shape, target):
        """An edge from output `index` of fn to `target` (through a tensor node)."""
        if not show_tensors:
            edges.append((op_node(fn), target, _shape(shape)))
            return
        key = f"{op_node(fn)}o{index}"
        if key not in nodes:
            nodes[key] = (_shape(shape), "tensor")
            edges.append((op_node(fn), key, ""))
        edges.append((key, target, ""))

    if tensor.creator is None:
        leaf_node(tensor)
        return Graph(nodes, edges)
    label = _shape(tensor.shape)
    nodes["root"] = (label if tensor.name is None else f"{tensor.name}\n{label}", "root")
    edges.append((op_node(tensor.creator), "root", ""))
    stack, done = [tensor.creator], set()
    while stack:
        fn = stack.pop()
        if fn in done:
            continue
        done.add(fn)
        target = op_node(fn)
        for i, edge in enumerate(fn.next_edges):
            shape = fn.input_meta[i][0]
            if edge is None:
                if show_constants:
                    key = f"{target}c{i}"
                    nodes[key] = (f"const\n{_shape(shape)}", "leaf")
                    edges.append((key, target, ""))
            elif edge.leaf is not None:
                edges.append((leaf_node(edge.leaf), target, ""))
            else:
                connect(edge.fn, edge.index, shape, target)
                stack.append(edge.fn)
    return Graph(nodes, edges)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor, params: dict | None = None, grads=None, outputs=None,
           show_constants: bool = True, show_tensors: bool = True,
           title: str | None = None) -> str:
    """Graphviz dot text of the graph behind `tensor` (options: see build_graph)."""
    graph = build_graph(tensor, params, grads, outputs, show_constants, show_tensors)
    lines = ["digraph minigrad {", "  rankdir=BT;",
             '  node [fontname="Helvetica", fontsize=11];', "  edge [arrowsize=0.6];"]
    if title:
        lines.append(f"  labelloc=t; label={_quote(title)};")
    for key, (label, kind) in graph.nodes.items():
        lines.append(f"  {key} [label={_quote(label)}, {_STYLE[kind]}];")
    for source, target, label in graph.edges:
        extra = f" [label={_quote(label)}, fontsize=9]" if label else ""
        lines.append(f"  {source} -> {target}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ drawing
def draw_graph(tensor, path, params: dict | None = None, grads=None, outputs=None,
               show_constants: bool = True, show_tensors: bool = True,
               title: str | None = None, engine: str = "auto") -> Path:
    """Write a PNG of the graph behind `tensor`: by Graphviz's `dot` program when it is
    installed (engine='auto' or 'dot'), otherwise by matplotlib with a layered layout
    (engine='matplotlib'). Options: see build_graph. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dot = shutil.which("dot")
    if engine == "dot" and dot is None:
        raise RuntimeError("draw_graph: the Graphviz `dot` program is not installed "
                           "(apt install graphviz), use engine='matplotlib'")
    if engine in ("auto", "dot") and dot is not None:
        text = to_dot(tensor, params, grads, outputs, show_constants, show_tensors, title)
        subprocess.run([dot, "-Tpng", "-o", str(path)], input=text.encode(), check=True)
        return path
    graph = build_graph(tensor, params, grads, outputs, show_constants, show_tensors)
    _draw_matplotlib(graph, path, title)
    return path


def _layers(graph: Graph) -> dict:
    """Layer of each node: 0 for the root (no outgoing edge), then the longest path down
    to it, so every edge points upwards (leaves at the bottom)."""
    consumers = {key: [] for key in graph.nodes}
    for source, target, _ in graph.edges:
        consumers[source].append(target)
    layer: dict = {}

    def depth(key):
        stack = [key]
        while stack:
            node = stack[-1]
            pending = [c for c in consumers[node] if c not in layer]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            layer[node] = 1 + max((layer[c] for c in consumers[node]), default=-1)
        return layer[key]

    for key in graph.nodes:
        if key not in layer:
            depth(key)
    return layer


def _order_in_layers(graph: Graph, layer: dict) -> dict:
    """x position of each node: nodes of a layer in the mean order of their consumers
    (a one-sweep barycentre heuristic, enough for graphs of a few dozen nodes)."""
    by_layer: dict = {}
    for key, lay in layer.items():
        by_layer.setdefault(lay, []).append(key)
    consumers = {key: [] for key in graph.nodes}
    for source, target, _ in graph.edges:
        consumers[source].append(target)
    x: dict = {}
    for lay in sorted(by_layer):
        keys = by_layer[lay]
        keys.sort(key=lambda k: (sum(x[c] for c in consumers[k]) / len(consumers[k])
                                 if consumers[k] else 0.0))
        for i, key in enumerate(keys):
            x[key] = i - (len(keys) - 1) / 2
    return x


def _draw_matplotlib(graph: Graph, path: Path, title: str | None) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    layer = _layers(graph)
    x = _order_in_layers(graph, layer)
    width = max(sum(1 for v in layer.values() if v == lay) for lay in set(layer.values()))
    height = max(layer.values()) + 1
    fig, ax = plt.subplots(figsize=(min(2.0 + 1.5 * width, 40), min(1.0 + 0.9 * height, 60)))
    ax.set_xlim(-width / 2 - 0.5, width / 2 + 0.5)
    ax.set_ylim(-height + 0.5, 0.7)
    ax.axis("off")
    pos = {key: (x[key], -layer[key]) for key in graph.nodes}
    for source, target, label in graph.edges:
        ax.annotate("", xy=pos[target], xytext=pos[source],
                    arrowprops=dict(arrowstyle="->", color="#555555", lw=0.8,
                                    shrinkA=11, shrinkB=11))
        if label:
            (x0, y0), (x1, y1) = pos[source], pos[target]
            ax.text(0.6 * x0 + 0.4 * x1, 0.6 * y0 + 0.4 * y1, label, fontsize=6,
                    color="#555555", ha="center", va="center",
                    bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none"))
    for key, (label, kind) in graph.nodes.items():
        box = "round,pad=0.3" if kind.startswith("op") else "ellipse,pad=0.25"
        ax.text(*pos[key], label, ha="center", va="center",
                fontsize=7 if kind in ("tensor", "leaf") else 8,
                bbox=dict(boxstyle=box, fc=_FILL[kind],
                          ec="#1f78b4" if kind == "leaf_grad" else "#444444",
                          lw=1.6 if kind == "leaf_grad" else 0.6))
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ------------------------------------------------------------------ backward trace
@dataclasses.dataclass
class TraceRecord:
    """One visited backward node."""
    index: int
    name: str
    input_shapes: list
    output_shapes: list
    grad_output_norms: list
    grad_input_norms: list       # None for an input that received no gradient
    fn: object = dataclasses.field(repr=False, default=None)


def _norm(t) -> float | None:
    if t is None:
        return None
    return float(np.sqrt(np.sum(np.square(t.numpy(), dtype=np.float64))))


def _fmt_norm(value) -> str:
    return "-" if value is None else ("nan" if math.isnan(value) else f"{value:.3g}")


def format_record(r: TraceRecord) -> str:
    ins = ", ".join(_shape(s) for s in r.input_shapes)
    outs = ", ".join(_shape(s) for s in r.output_shapes)
    g_out = ", ".join(_fmt_norm(v) for v in r.grad_output_norms)
    g_in = ", ".join(_fmt_norm(v) for v in r.grad_input_norms)
    return (f"[{r.index:3d}] {r.name:<14} in {ins:<32} out {outs:<18} "
            f"|grad out| {g_out:<10} |grad in| {g_in}")


@contextlib.contextmanager
def trace(file=None, quiet: bool = False, keep_fn: bool = False):
    """`with trace() as records:` print one line per backward node as backward runs.

    file: where to print (default sys.stdout); quiet=True prints nothing and only
    collects. Yields the list of TraceRecord, filled as nodes run; keep_fn=True keeps a
    reference to each Function in its record (which keeps its saved tensors alive)."""
    from . import autograd  # noqa: PLC0415

    records: list = []

    def hook(fn, grad_outputs, grad_inputs):
        record = TraceRecord(
            index=len(records), name=fn.name,
            input_shapes=[meta[0] for meta in fn.input_meta],
            output_shapes=[meta[0] for meta in fn.output_meta],
            grad_output_norms=[_norm(g) for g in grad_outputs],
            grad_input_norms=[_norm(g) if need else None
                              for g, need in zip(grad_inputs, fn.needs_input_grad)],
            fn=fn if keep_fn else None)
        records.append(record)
        if not quiet:
            print(format_record(record), file=sys.stdout if file is None else file)

    previous, autograd._backward_trace = autograd._backward_trace, hook
    try:
        yield records
    finally:
        autograd._backward_trace = previous


def count_functions(tensor) -> int:
    """How many Functions the graph behind `tensor` holds (what a full backward visits)."""
    return len(_functions_behind([tensor]))
