"""One-off: convert pytorch-fid's FID Inception weights (.pth) into the .npz that
gans.metrics.load_inception reads. The only file in the project that imports PyTorch.

    pip install torch                      # CPU build is enough; only for this script
    # pt_inception-2015-12-05-6726825d.pth from pytorch-fid's release "fid_weights"
    python tools/convert_fid_inception.py pt_inception-2015-12-05-6726825d.pth \\
        fid_inception.npz
    python -m gans evaluate --checkpoint runs/gan/checkpoint.npz --feature-net inception \\
        --inception-weights fid_inception.npz

The state dict's names are kept as they are (Conv2d_1a_3x3.conv.weight, ...,
fc.weight (1008, 2048)); every tensor is written as float32, `num_batches_tracked`
counters are dropped. The result is checked by building the minigrad network from it:
a missing or wrong-shaped tensor stops the script with the offending names. Nothing is
downloaded here: pass the file.
"""
import argparse
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pth", help="pt_inception-2015-12-05-6726825d.pth")
    parser.add_argument("out", help="the .npz to write")
    args = parser.parse_args(argv)

    import torch  # noqa: PLC0415 (only here, and only in this script)

    try:
        state = torch.load(args.pth, map_location="cpu", weights_only=True)
    except Exception as error:               # missing, a folder, text, an .npz, ...
        parser.error(f"{args.pth}: not a PyTorch checkpoint that torch.load reads "
                     f"({type(error).__name__}: {' '.join(str(error).split())[:200]})")
    if not isinstance(state, dict):
        parser.error(f"{args.pth}: holds a {type(state).__name__}, not a state dict")
    if "state_dict" in state and not hasattr(state["state_dict"], "shape"):
        state = state["state_dict"]
    not_tensors = [name for name, value in state.items() if not hasattr(value, "detach")]
    if not_tensors:
        parser.error(f"{args.pth}: not a state dict of tensors ({', '.join(not_tensors[:5])} "
                     f"{'are' if len(not_tensors) > 1 else 'is'} not)")
    arrays = {name: tensor.detach().cpu().numpy().astype(np.float32)
              for name, tensor in state.items() if not name.endswith("num_batches_tracked")}

    import minigrad as mg  # noqa: PLC0415
    from gans.metrics.inception import load_inception  # noqa: PLC0415

    out = Path(args.out)
    checked = out.with_name(out.name + ".unchecked.npz")    # the result goes to args.out
    mg.save(arrays, checked)                                 # only once it has passed
    try:
        load_inception(checked)       # raises, naming the tensors, if anything is off
    except (ValueError, RuntimeError, mg.SerializationError) as error:
        checked.unlink(missing_ok=True)
        parser.error(f"{args.pth} is not pytorch-fid's FID Inception: "
                     f"{' '.join(str(error).split())[:400]}")
    checked.replace(out)
    total = sum(a.size for a in arrays.values())
    print(f"wrote {len(arrays)} tensors ({total:,} values) to {args.out}; "
          f"load_inception() accepts it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
