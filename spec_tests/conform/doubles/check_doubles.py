#!/usr/bin/python3
"""Self-check of the Python test doubles (run with Debian's /usr/bin/python3; no pytest).

1. The fixed package passes the seed's "Test after fixing" snippet and the closed-form checks
   (rotation trick on a hand example and on random rows, projection estimator, codebook gradient).
2. Every variant of variants.py, materialised into a temporary folder and imported fresh in its
   own subprocess (all are named `src`), shows its bug, and only its bug: every other
   observation equals the fixed package's.
3. Optional (--vqvae PATH): GaussianDataset equals the C++ program's `vqvae data` bit for bit.

    /usr/bin/python3 check_doubles.py [--vqvae PATH] [--seed-doc BASELINE_FIXES.md]

Prints one line per check; exits 1 if any fails.
"""
import argparse
import contextlib
import ctypes
import inspect
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))

# The seed's "Test after fixing" snippet, verbatim from seed/BASELINE_FIXES.md.
SEED_SNIPPET = '''\
# Quick sanity check
import torch
from src.data import GaussianDataset
from src.encoders import PCAEncoder
from src.decoders import PCADecoder
from src.quantizers import VectorQuantizer
from src.models import VQVAE
from src.initialization import rd_gaussian_init

# Generate data
dataset = GaussianDataset(d=64, k=8, n_samples=1000)

# Create model
encoder = PCAEncoder(dataset.U_k, trainable=False)
init_data = dataset.get_initialization_batch(500)
codebook = rd_gaussian_init(256, 8, init_data)
quantizer = VectorQuantizer(8, 256, init_codebook=codebook)
decoder = PCADecoder(dataset.U_k, trainable=False)
model = VQVAE(encoder, quantizer, decoder)

# Forward pass
x = dataset.X[:32]
outputs = model(x)

# Check outputs
print("Keys:", outputs.keys())
assert 'z_q_hard' in outputs, "Missing z_q_hard!"
assert outputs['z_q_hard'].shape == (32, 8), "Wrong shape!"

# Check gradient flow
from src.training.losses import vqvae_loss
loss, _ = vqvae_loss(
    x, outputs['x_recon'], outputs['z'], 
    outputs['z_q'], outputs['z_q_hard']
)
loss.backward()

# Verify codebook has gradients
assert quantizer.codebook.grad is not None, "No gradient to codebook!"
print("✅ Gradient flow working!")
'''

DATASET_TENSORS = ["X", "Y", "A", "Sigma_y", "U_k", "eigenvalues_k", "z_true"]
DATASET_CONFIGS = [  # (vqvae data flags, GaussianDataset kwargs)
    (["--n", "1000"], dict(n_samples=1000)),
    (["--d", "16", "--k", "4", "--n", "500", "--seed", "7", "--sigma-noise", "0.3"],
     dict(d=16, k=4, n_samples=500, seed=7, sigma_noise=0.3)),
]


def use_one_thread():
    """One intra-op thread for LibTorch and for OpenBLAS's own pool, as `vqvae --threads 1`.

    Debian's libblas.so.3 is OpenBLAS with pthreads, whose thread count LibTorch's setting does
    not reach; with more than one thread Xc^T Xc and eigh round differently.
    """
    import torch
    torch.set_num_threads(1)
    try:
        ctypes.CDLL("libblas.so.3").openblas_set_num_threads(1)
    except (OSError, AttributeError):
        pass  # not OpenBLAS: nothing else to set


# ----------------------------------------------------------------------------------------------
# Probe: runs inside a subprocess with one package on sys.path; prints one JSON object.

def call_loss(vqvae_loss, **kw):
    """Call the package's vqvae_loss with the arguments its signature takes."""
    params = inspect.signature(vqvae_loss).parameters
    return vqvae_loss(**{k: v for k, v in kw.items() if k in params})


def rotation_closed_form(z, q, g):
    """lam R^T g with R = I - 2 r r^T + 2 q_hat e^T built as explicit matrices (rows nonzero)."""
    import torch
    z, q, g = z.double(), q.double(), g.double()
    out = []
    for zi, qi, gi in zip(z, q, g):
        e, qh = zi / zi.norm(), qi / qi.norm()
        r = (e + qh) / (e + qh).norm()
        R = torch.eye(len(zi), dtype=torch.double) - 2 * torch.outer(r, r) + 2 * torch.outer(qh, e)
        out.append(qi.norm() / zi.norm() * (R.T @ gi))
    return torch.stack(out)


def rotation_grad(quantizer_cls, z, codebook, g):
    import torch
    quantizer = quantizer_cls(z.shape[1], codebook.shape[0], init_codebook=codebook)
    z = z.clone().requires_grad_(True)
    z_q, indices, info = quantizer(z)
    z_q.backward(g)
    return z.grad, z_q.detach(), quantizer.codebook[indices].detach(), info


def probe():
    import torch
    from src.data import GaussianDataset
    from src.decoders import PCADecoder
    from src.encoders import PCAEncoder
    from src.models import VQVAE, LinearGaussianVQVAE
    from src.quantizers import ProjectionVectorQuantizer, RotationVectorQuantizer, VectorQuantizer
    from src.training import Trainer, vqvae_loss

    obs, data = {}, {}

    # The seed's snippet.
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(SEED_SNIPPET, "seed-snippet", "exec"), {"__name__": "seed_snippet"})
        obs["seed_snippet_passes"] = "Gradient flow working" in out.getvalue()
    except Exception as e:  # noqa: BLE001 - the failure is the observation
        obs["seed_snippet_passes"] = False
        data["seed_snippet_error"] = f"{type(e).__name__}: {e}"

    ds = GaussianDataset(d=16, k=4, n_samples=200, seed=3)
    d, k, n, B = 16, 4, 8, 6
    x = ds.X[:B]

    # Fix #1: z_q_hard in the quantizer's info and the model's outputs; codebook gradient.
    torch.manual_seed(0)
    codebook = torch.randn(n, k)
    vq = VectorQuantizer(k, n, init_codebook=codebook)
    z = torch.randn(B, k, requires_grad=True)
    z_q, indices, info = vq(z)
    obs["vq_info_has_z_q_hard"] = "z_q_hard" in info
    zeros_x = torch.zeros(B, d)
    loss, _ = call_loss(vqvae_loss, x=zeros_x, x_recon=zeros_x, z=z, z_q=z_q,
                        z_q_hard=info.get("z_q_hard"), beta=0.0)  # total = the codebook term
    loss.backward()
    grad = vq.codebook.grad
    obs["codebook_gets_gradient_from_codebook_term"] = grad is not None and bool(grad.abs().sum() > 0)
    expected = torch.zeros(n, k).index_add_(0, indices, 2 * (codebook[indices] - z.detach()) / (B * k))
    data["codebook_grad_closed_form_max_error"] = (
        float((grad - expected).abs().max()) if grad is not None else None)
    model = VQVAE(PCAEncoder(ds.U_k), VectorQuantizer(k, n, init_codebook=codebook),
                  PCADecoder(ds.U_k))
    obs["vqvae_outputs_have_z_q_hard"] = "z_q_hard" in model(x)
    before = model.quantizer.codebook.detach().clone()
    try:
        Trainer(model, lr=1e-2).train_step(x)
        obs["trainer_step_moves_codebook"] = not torch.equal(before, model.quantizer.codebook.detach())
    except RuntimeError as e:  # bug #1 with a frozen encoder: nothing in the loss requires grad
        obs["trainer_step_moves_codebook"] = False
        data["trainer_error"] = str(e).splitlines()[0]

    # Fix #2: no gradient path to the codebook when z does not require grad.
    z_frozen = torch.randn(B, k)
    z_q, _, _ = VectorQuantizer(k, n, init_codebook=codebook)(z_frozen)
    obs["vq_z_q_no_grad_when_z_frozen"] = not z_q.requires_grad

    # Fix #3: legacy buffers named for their use.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        legacy = LinearGaussianVQVAE(d, k, n, ds.U_k)
    obs["legacy_warns_deprecated"] = any(issubclass(w.category, DeprecationWarning) for w in caught)
    obs["legacy_encoder_weight_is_d_k"] = tuple(legacy.encoder_weight.shape) == (d, k)
    obs["legacy_decoder_weight_is_k_d"] = tuple(legacy.decoder_weight.shape) == (k, d)
    legacy_out = legacy(x)
    obs["legacy_encode_is_x_U_k"] = torch.equal(legacy_out["z"], x @ ds.U_k)
    obs["legacy_decode_is_z_U_k_T"] = torch.equal(legacy.decode(legacy_out["z_q"]),
                                                  legacy_out["z_q"] @ ds.U_k.T)

    # Fix #4: PCA buffers in (d, k) orientation, values unchanged.
    enc, dec = PCAEncoder(ds.U_k), PCADecoder(ds.U_k)
    obs["pca_encoder_weight_is_d_k"] = tuple(enc.encoder_weight.shape) == (d, k)
    obs["pca_decoder_weight_is_d_k"] = tuple(dec.decoder_weight.shape) == (d, k)
    data["pca_encode"] = enc(x).tolist()
    obs["pca_encode_is_x_U_k"] = torch.equal(enc(x), x @ ds.U_k)

    # Fix #5 and the rotation trick: hand example z = (1, 0), q = (0, 2), g = (1, 0):
    # e = (1, 0), q_hat = (0, 1), r = (1, 1)/sqrt 2, R = [[0, -1], [1, 0]], lam = 2, lam R^T g = (0, -2).
    hand_codebook = torch.tensor([[0.0, 2.0], [10.0, 10.0]])
    g_hand = torch.tensor([[1.0, 0.0]])
    grad_z, value, q, info = rotation_grad(RotationVectorQuantizer, torch.tensor([[1.0, 0.0]]),
                                           hand_codebook, g_hand)
    obs["rotation_info_has_z_q_hard"] = "z_q_hard" in info
    obs["rotation_info_has_distances_and_commitment"] = {"distances", "commitment_loss"} <= set(info)
    obs["rotation_forward_value_is_q"] = torch.equal(value, q)
    data["rotation_hand_grad"] = grad_z.tolist()
    obs["rotation_hand_example"] = torch.allclose(grad_z, torch.tensor([[0.0, -2.0]]), atol=1e-6)
    torch.manual_seed(1)
    zr, cr, gr = torch.randn(32, 5), torch.randn(16, 5) * 3, torch.randn(32, 5)
    grad_z, _, q, _ = rotation_grad(RotationVectorQuantizer, zr, cr, gr)
    obs["rotation_matches_explicit_R"] = torch.allclose(
        grad_z.double(), rotation_closed_form(zr, q, gr), rtol=1e-5, atol=1e-6)
    data["rotation_random"] = {"z": zr.tolist(), "q": q.tolist(), "grad": grad_z.tolist()}
    far = [9.0, 9.0, 9.0]
    g3 = torch.tensor([[0.5, 1.0, -2.0]])
    grad_z, _, _, _ = rotation_grad(RotationVectorQuantizer, torch.zeros(1, 3),
                                    torch.tensor([[1.0, 2.0, 2.0], far]), g3)
    obs["rotation_z_zero_passes_g"] = torch.equal(grad_z, g3)
    grad_z, _, _, _ = rotation_grad(RotationVectorQuantizer, torch.tensor([[0.1, 0.2, -0.1]]),
                                    torch.tensor([[0.0, 0.0, 0.0], far]), g3)
    obs["rotation_q_zero_gives_zero"] = torch.equal(grad_z, torch.zeros(1, 3))
    grad_z, _, q, _ = rotation_grad(RotationVectorQuantizer, torch.tensor([[1.0, 2.0, -2.0]]),
                                    torch.tensor([[-1.0, -2.0, 2.0], far]), g3)
    obs["rotation_antiparallel_finite_norm_kept"] = (  # z = -q: R orthogonal, lam = 1
        bool(torch.isfinite(grad_z).all()) and torch.equal(q, torch.tensor([[-1.0, -2.0, 2.0]]))
        and math.isclose(float(grad_z.norm()), float(g3.norm()), rel_tol=1e-5))

    # Projection estimator, same hand example: u = (-1, 2)/sqrt 5, (g . u) u = (1/5, -2/5).
    grad_z, value, q, info = rotation_grad(ProjectionVectorQuantizer, torch.tensor([[1.0, 0.0]]),
                                           hand_codebook, g_hand)
    obs["projection_hand_example"] = (torch.allclose(grad_z, torch.tensor([[0.2, -0.4]]), atol=1e-6)
                                      and torch.equal(value, q) and "z_q_hard" in info)

    print(json.dumps({"obs": obs, "data": data}))


# ----------------------------------------------------------------------------------------------
# Driver.

# The observations each variant must flip (everything else must equal the fixed package's).
FLIPS = {
    "bug1_codebook_loss": {"seed_snippet_passes", "vq_info_has_z_q_hard",
                           "codebook_gets_gradient_from_codebook_term", "vqvae_outputs_have_z_q_hard",
                           "trainer_step_moves_codebook"},
    "bug2_conditional_ste": {"vq_z_q_no_grad_when_z_frozen"},
    "bug3_legacy_swapped": {"legacy_encoder_weight_is_d_k", "legacy_decoder_weight_is_k_d"},
    "bug4_pca_double_transpose": {"pca_encoder_weight_is_d_k"},
    "bug5_rotation_without_z_q_hard": {"rotation_info_has_z_q_hard"},
    "rotation_lambda_inverted": {"rotation_hand_example", "rotation_matches_explicit_R",
                                 "rotation_q_zero_gives_zero"},
}


class Report:
    def __init__(self):
        self.failures = 0

    def check(self, ok, what, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}")
        self.failures += not ok


def run_probe(package_root):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=package_root)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--probe"], env=env,
                          cwd=package_root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"probe in {package_root} failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_fixed(report, fixed):
    obs, data = fixed["obs"], fixed["data"]
    report.check(obs["seed_snippet_passes"], "fixed: seed 'Test after fixing' snippet passes",
                 data.get("seed_snippet_error", ""))
    for name, value in obs.items():
        if name != "seed_snippet_passes":
            report.check(value, f"fixed: {name}")
    err = data["codebook_grad_closed_form_max_error"]
    report.check(err is not None and err < 1e-6,
                 "fixed: codebook gradient = 2(c_j - z)/(B k) summed over assigned z",
                 f"max error {err}")


def check_variant(report, name, variant, fixed):
    obs, data, fobs = variant["obs"], variant["data"], fixed["obs"]
    flips = FLIPS[name]
    shown = [o for o in sorted(flips) if obs[o] != fobs[o]]
    report.check(len(shown) == len(flips), f"{name}: bug observable",
                 ", ".join(f"{o}={obs[o]}" for o in sorted(flips))
                 + "".join(f" [{key}: {data[key]}]" for key in ("seed_snippet_error", "trainer_error")
                           if key in data))
    others = [o for o in fobs if o not in flips and obs[o] != fobs[o]]
    report.check(not others, f"{name}: every other observation as fixed",
                 ", ".join(others) if others else f"{len(fobs) - len(flips)} observations")
    if name == "bug4_pca_double_transpose":
        report.check(data["pca_encode"] == fixed["data"]["pca_encode"],
                     f"{name}: PCAEncoder output bit-identical to fixed")
    if name == "rotation_lambda_inverted":
        import torch
        rv, rf = data["rotation_random"], fixed["data"]["rotation_random"]
        z, q = torch.tensor(rv["z"]), torch.tensor(rv["q"])
        factor = (z.norm(dim=1, keepdim=True) / q.norm(dim=1, keepdim=True)) ** 2
        gv, gf = torch.tensor(rv["grad"]), torch.tensor(rf["grad"])
        report.check(torch.allclose(gv, gf * factor, rtol=1e-4, atol=1e-6)
                     and not torch.allclose(gv, gf, rtol=1e-3),
                     f"{name}: grad_z = fixed grad_z * (|z|/|q|)^2 on {len(z)} rows",
                     f"hand example {data['rotation_hand_grad']} vs fixed "
                     f"{fixed['data']['rotation_hand_grad']}")


def check_seed_doc(report, path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"### Test after fixing:\s*```python\n(.*?)```", text, re.S)
    report.check(m is not None and m.group(1) == SEED_SNIPPET,
                 f"embedded seed snippet equals the one in {path}")


def dataset_probe(kwargs_json):
    """Subprocess: GaussianDataset(**kwargs) with one thread; prints the tensors as JSON."""
    use_one_thread()
    from src.data import GaussianDataset
    ds = GaussianDataset(**json.loads(kwargs_json))
    print(json.dumps({name: getattr(ds, name).tolist() for name in DATASET_TENSORS}))


def check_dataset(report, vqvae, tmp):
    import h5py
    import numpy as np
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=os.path.join(HERE, "fixed"))
    for i, (flags, kwargs) in enumerate(DATASET_CONFIGS):
        out = os.path.join(tmp, f"data{i}.h5")
        subprocess.run([vqvae, "data", *flags, "--out", out], check=True, capture_output=True)
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--dataset-probe",
                               json.dumps(kwargs)], env=env, capture_output=True, text=True,
                              check=True)
        ours = json.loads(proc.stdout)
        diffs = {}
        with h5py.File(out, "r") as f:
            for name in DATASET_TENSORS:
                theirs = f[name][()]
                mine = np.asarray(ours[name], dtype=np.float32)
                same = theirs.dtype == np.float32 and theirs.shape == mine.shape and \
                    np.array_equal(theirs, mine)
                if not same:
                    diffs[name] = float(np.abs(theirs.astype(np.float64) - mine).max()) \
                        if theirs.shape == mine.shape else f"shape {theirs.shape} vs {mine.shape}"
        report.check(not diffs, f"dataset {' '.join(flags)}: {', '.join(DATASET_TENSORS)} "
                     "bit-identical to `vqvae data`",
                     "max |diff| " + ", ".join(f"{k} {v}" for k, v in diffs.items()) if diffs else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vqvae", help="the C++ program, to compare GaussianDataset with `vqvae data`")
    parser.add_argument("--seed-doc", help="BASELINE_FIXES.md, to check the embedded snippet")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dataset-probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        return probe()
    if args.dataset_probe:
        return dataset_probe(args.dataset_probe)

    report = Report()
    if args.seed_doc:
        check_seed_doc(report, args.seed_doc)
    names = [line.split("\t")[0] for line in subprocess.run(
        [sys.executable, os.path.join(HERE, "variants.py"), "--list"],
        check=True, capture_output=True, text=True).stdout.splitlines()]
    with tempfile.TemporaryDirectory(prefix="vqvae-doubles-") as tmp:
        results = {}
        for name in names:
            dest = os.path.join(tmp, name)
            made = subprocess.run([sys.executable, os.path.join(HERE, "variants.py"), name, dest],
                                  capture_output=True, text=True)
            report.check(made.returncode == 0, f"{name}: materialised by variants.py",
                         made.stderr.strip())
            if made.returncode == 0:
                results[name] = run_probe(dest)
        check_fixed(report, results["fixed"])
        for name in names:
            if name != "fixed" and name in results:
                check_variant(report, name, results[name], results["fixed"])
        missing = set(FLIPS) - set(names)
        report.check(not missing, "every expected variant is listed", ", ".join(sorted(missing)))
        if args.vqvae:
            check_dataset(report, args.vqvae, tmp)
    print(f"{'all checks passed' if not report.failures else f'{report.failures} check(s) failed'}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main() or 0)
