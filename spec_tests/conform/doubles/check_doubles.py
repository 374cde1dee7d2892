#!/usr/bin/python3
"""Self-check of the Python test doubles (run with Debian's /usr/bin/python3; no pytest).

1. The fixed package passes the baseline's "Test after fixing" snippet and the closed-form checks
   (rotation trick on a hand example and on random rows, projection estimator, codebook gradient)
   and the baseline API's definitions (data pipeline, initialisations, MetricsTracker, Trainer's
   train_step and evaluate, vqvae_loss's default beta, the quantizer's forward value), and its
   state across calls (the tracker's rows, final metrics, CSV file and reload; a checkpoint's
   round trip; the loader's epochs; the caller's init_codebook; evaluate repeated and followed
   by a step; VectorQuantizer's optional info keys).
2. Every variant of variants.py, materialised into a temporary folder and imported fresh in its
   own subprocess (all are named `src`; a few at a time), shows its bug, and only its bug: every
   other observation equals the fixed package's. An optional class a variant lacks
   (ProjectionVectorQuantizer, LinearGaussianVQVAE) makes the observations that need it "absent".
3. Optional (--vqvae PATH): GaussianDataset equals the C++ program's `vqvae data` bit for bit.

    /usr/bin/python3 check_doubles.py [--vqvae PATH] [--seed-doc BASELINE_FIXES.md]

Prints one line per check; exits 1 if any fails.
"""
import argparse
import concurrent.futures
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

# The baseline's "Test after fixing" snippet, verbatim from seed/BASELINE_FIXES.md.
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


# An optional part the package lacks: the value of the observations that need it.
ABSENT = "absent"
LEGACY_OBSERVATIONS = ("legacy_warns_deprecated", "legacy_encoder_weight_is_d_k",
                       "legacy_decoder_weight_is_k_d", "legacy_encode_is_x_U_k",
                       "legacy_decode_is_z_U_k_T", "legacy_init_methods_call_the_inits")


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
    import src.models
    import src.quantizers
    from src.models import VQVAE
    from src.quantizers import RotationVectorQuantizer, VectorQuantizer
    from src.training import Trainer, vqvae_loss

    obs, data = {}, {}
    # The optional parts (docs/conform_protocol.md, "The surface"): an earlier revision may lack
    # them; the observations that need one are then "absent".
    LinearGaussianVQVAE = getattr(src.models, "LinearGaussianVQVAE", None)
    ProjectionVectorQuantizer = getattr(src.quantizers, "ProjectionVectorQuantizer", None)
    obs["legacy_model_present"] = LinearGaussianVQVAE is not None or ABSENT
    obs["projection_quantizer_present"] = ProjectionVectorQuantizer is not None or ABSENT

    # The baseline's snippet.
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
        trainable = [p for p in model.parameters() if p.requires_grad]
        Trainer(model, torch.optim.Adam(trainable, lr=1e-2)).train_step(x)
        obs["trainer_step_moves_codebook"] = not torch.equal(before, model.quantizer.codebook.detach())
    except RuntimeError as e:  # bug #1 with a frozen encoder: nothing in the loss requires grad
        obs["trainer_step_moves_codebook"] = False
        data["trainer_error"] = str(e).splitlines()[0]

    # Fix #2: no gradient path to the codebook when z does not require grad.
    z_frozen = torch.randn(B, k)
    z_q, _, _ = VectorQuantizer(k, n, init_codebook=codebook)(z_frozen)
    obs["vq_z_q_no_grad_when_z_frozen"] = not z_q.requires_grad

    # Fix #3: legacy buffers named for their use.
    if LinearGaussianVQVAE is None:
        for name in LEGACY_OBSERVATIONS[:5]:
            obs[name] = ABSENT
    else:
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
    # R is orthogonal: |lam R^T g| = lam |g|, whichever of R, R^T; lam = |q|/|z|.
    obs["rotation_grad_norm_is_lambda_g_norm"] = torch.allclose(
        grad_z.norm(dim=1), q.norm(dim=1) / zr.norm(dim=1) * gr.norm(dim=1), rtol=1e-4)
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
    if ProjectionVectorQuantizer is None:
        obs["projection_hand_example"] = ABSENT
    else:
        grad_z, value, q, info = rotation_grad(ProjectionVectorQuantizer, torch.tensor([[1.0, 0.0]]),
                                               hand_codebook, g_hand)
        obs["projection_hand_example"] = (torch.allclose(grad_z, torch.tensor([[0.2, -0.4]]), atol=1e-6)
                                          and torch.equal(value, q) and "z_q_hard" in info)

    probe_api(obs, data)
    probe_state(obs, data)
    print(json.dumps({"obs": obs, "data": data}))


def small_learned_model(seed, d, k, n):
    """VQVAE(LearnedLinearEncoder(d, k), VectorQuantizer(k, n) on randn·0.5, LearnedLinearDecoder(k, d))
    of the package under test, drawn after torch.manual_seed(seed)."""
    import torch
    from src.decoders import LearnedLinearDecoder
    from src.encoders import LearnedLinearEncoder
    from src.models import VQVAE
    from src.quantizers import VectorQuantizer
    torch.manual_seed(seed)
    encoder, decoder = LearnedLinearEncoder(d, k), LearnedLinearDecoder(k, d)
    return VQVAE(encoder, VectorQuantizer(k, n, init_codebook=torch.randn(n, k) * 0.5), decoder)


def seeded(seed, function, *args, **kwargs):
    """function(*args, **kwargs) right after torch.manual_seed(seed)."""
    import torch
    torch.manual_seed(seed)
    return function(*args, **kwargs)


def close(a, b, rel=1e-9, abs_=1e-12):
    return isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def probe_api(obs, data):
    """Observations of the baseline API beyond the five fixes: one or more per area a variant touches."""
    import copy
    import statistics

    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from src.data import GaussianDataset
    from src.decoders import LearnedLinearDecoder
    from src.encoders import LearnedLinearEncoder
    from src.evaluation import MetricsTracker
    from src.initialization import (compute_rd_variance, kmeans_init, random_normal_init,
                                    rd_gaussian_init, uniform_init)
    import src.models
    from src.models import VQVAE
    from src.quantizers import VectorQuantizer
    from src.training import Trainer, vqvae_loss

    # Data pipeline.
    ds = GaussianDataset(d=4, k=2, sigma_noise=0.3, n_samples=10, seed=5)
    obs["dataset_noise_variance"] = close(ds.noise_variance, 0.3 ** 2)
    obs["dataset_init_batch"] = (torch.equal(ds.get_initialization_batch(3), ds.X[:3] @ ds.U_k)
                                 and torch.equal(ds.get_initialization_batch(), ds.X @ ds.U_k))
    batches = list(ds.get_dataloader(batch_size=4, shuffle=False))
    obs["loader_batch_4_over_10_rows_yields_4_4_2"] = (
        [len(x) for x, _ in batches] == [4, 4, 2]
        and torch.equal(torch.cat([x for x, _ in batches]), ds.X)
        and torch.equal(torch.cat([y for _, y in batches]), ds.Y))
    big = GaussianDataset(d=4, k=2, n_samples=200, seed=5)
    torch.manual_seed(0)
    epoch = list(big.get_dataloader())
    rows = torch.cat([torch.cat([x, y], 1) for x, y in epoch])
    every = torch.cat([big.X, big.Y], 1)
    data["default_loader_batch_sizes"] = [len(x) for x, _ in epoch]
    obs["default_loader_shuffles_200_rows_in_64_64_64_8"] = (
        data["default_loader_batch_sizes"] == [64, 64, 64, 8] and not torch.equal(rows, every)
        and torch.equal(rows[rows[:, 0].argsort()], every[every[:, 0].argsort()]))

    # Initialisations.
    n, k = 16, 4
    torch.manual_seed(1)
    points = torch.randn(300, k) * torch.tensor([1.0, 2.0, 0.5, 1.5])
    wide = seeded(0, uniform_init, 4096, 2)
    obs["uniform_init_is_rand_times_2_over_n_minus_1_over_n"] = (
        torch.equal(seeded(0, uniform_init, n, k), seeded(0, torch.rand, n, k) * (2 / n) - 1 / n)
        and float(wide.min()) >= -1 / 4096 and float(wide.max()) < 1 / 4096)
    obs["quantizer_default_codebook_is_uniform_on_symmetric_range"] = torch.equal(
        seeded(0, VectorQuantizer, k, n).codebook.detach(),
        seeded(0, torch.rand, n, k) * (2 / n) - 1 / n)
    obs["random_normal_init_is_randn_times_std"] = (
        torch.equal(seeded(0, random_normal_init, n, k, std=2.5), seeded(0, torch.randn, n, k) * 2.5)
        and torch.equal(seeded(0, random_normal_init, n, k), seeded(0, torch.randn, n, k)))
    mean_variance = float(points.double().var(dim=0).mean())
    variance = compute_rd_variance(points, 0.7)
    obs["compute_rd_variance_closed_form"] = close(variance, mean_variance * (1 - 2 ** -1.4), rel=1e-6)
    explicit_scale = math.sqrt(mean_variance * (1 - 2 ** -1.4))
    default_scale = math.sqrt(mean_variance * (1 - 2 ** (-2 * math.log2(n) / k)))  # rate log2(n)/k
    obs["rd_gaussian_init_explicit_rate"] = torch.allclose(
        seeded(0, rd_gaussian_init, n, k, points, rate=0.7),
        seeded(0, torch.randn, n, k) * explicit_scale, rtol=1e-5, atol=0)
    obs["rd_gaussian_init_default_rate_is_log2n_over_k"] = torch.allclose(
        seeded(0, rd_gaussian_init, n, k, points), seeded(0, torch.randn, n, k) * default_scale,
        rtol=1e-5, atol=0)
    corners = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    torch.manual_seed(2)
    clusters = corners.repeat_interleave(25, 0) + 0.1 * torch.randn(100, 2)
    centres = kmeans_init(4, 2, clusters)
    try:
        kmeans_init(4, 2, clusters[:3])
        asserts = False
    except AssertionError:
        asserts = True
    obs["kmeans_init_finds_the_cluster_means"] = (
        centres.dtype == torch.float32 and tuple(centres.shape) == (4, 2) and asserts
        and float(torch.cdist(clusters.view(4, 25, 2).mean(1), centres).min(1).values.max()) < 1e-4)
    legacy_ds = GaussianDataset(d=8, k=k, n_samples=300, seed=5)
    init_data = legacy_ds.get_initialization_batch(300)
    LinearGaussianVQVAE = getattr(src.models, "LinearGaussianVQVAE", None)  # optional
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        def legacy_codebook(**kwargs):
            model = seeded(0, LinearGaussianVQVAE, 8, k, n, legacy_ds.U_k, **kwargs)
            return model.quantizer.codebook.detach()
        obs["legacy_init_methods_call_the_inits"] = ABSENT if LinearGaussianVQVAE is None else (
            torch.equal(legacy_codebook(), seeded(0, uniform_init, n, k))
            and torch.equal(legacy_codebook(init_method='rd_gaussian', init_data=init_data),
                            seeded(0, rd_gaussian_init, n, k, init_data))
            and torch.allclose(legacy_codebook(init_method='kmeans', init_data=init_data),
                               kmeans_init(n, k, init_data), atol=1e-5))

    # MetricsTracker.
    uniform_usage = MetricsTracker(8).compute_utilization_metrics(torch.arange(8).repeat(5))
    obs["perplexity_of_uniform_usage_over_8_codes_is_8"] = close(uniform_usage["perplexity"], 8.0, rel=1e-6)
    usage = [3 / 6, 1 / 6, 2 / 6, 0.0, 0.0]
    entropy = -sum(u * math.log(u + 1e-10) for u in usage)
    got = MetricsTracker(5).compute_utilization_metrics(torch.tensor([0, 0, 0, 1, 2, 2]))
    rare = MetricsTracker(3).compute_utilization_metrics(
        torch.cat([torch.zeros(20000, dtype=torch.long), torch.ones(1, dtype=torch.long)]))
    one = MetricsTracker(4).compute_utilization_metrics(torch.full((10,), 2))
    obs["utilization_closed_form"] = (
        got["dead_codes"] == 2 and close(got["min_usage"], 1 / 6) and close(got["max_usage"], 0.5)
        and close(got["usage_std"], statistics.stdev(usage)) and close(got["usage_entropy"], entropy)
        and close(got["perplexity"], math.exp(entropy))
        and rare["dead_codes"] == 2 and close(rare["min_usage"], 1 / 20001)  # 1/20001 < 1e-4: dead
        and one["dead_codes"] == 3 and close(one["min_usage"], 1.0) and close(one["perplexity"], 1.0, rel=1e-8))
    torch.manual_seed(4)
    z, z_q = torch.randn(7, 3), torch.randn(7, 3)
    distortion = MetricsTracker(4).compute_distortion_metrics(z, z_q)
    error = float((z.double() - z_q.double()).pow(2).mean())
    obs["distortion_is_mean_squared_error"] = (close(distortion["quantization_error"], error)
                                               and close(distortion["quant_error_per_dim"], error))
    stats = MetricsTracker(3).compute_codebook_stats(torch.tensor([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0]]))
    obs["codebook_stats_of_3_codewords_with_a_duplicate"] = (  # norms 0, 5, 5; distances 5, 5, 0
        close(stats["codebook_mean_norm"], 10 / 3) and close(stats["codebook_std_norm"], 5 / math.sqrt(3))
        and close(stats["codebook_mean_distance"], 10 / 3))
    torch.manual_seed(3)
    codebook = torch.randn(128, 5)
    c = codebook.double()
    pairs = torch.triu_indices(128, 128, 1)
    stats = MetricsTracker(128).compute_codebook_stats(codebook)
    obs["codebook_stats_of_128_codewords_exact"] = (
        close(stats["codebook_mean_norm"], float(c.norm(dim=1).mean()))
        and close(stats["codebook_std_norm"], float(c.norm(dim=1).std()))
        and close(stats["codebook_mean_distance"], float(torch.cdist(c, c)[pairs[0], pairs[1]].mean())))

    # vqvae_loss's default beta and the VectorQuantizer's forward value and gradient.
    torch.manual_seed(5)
    x, x_recon, z, z_q = torch.randn(6, 4), torch.randn(6, 4), torch.randn(6, 2), torch.randn(6, 2)
    _, parts = call_loss(vqvae_loss, x=x, x_recon=x_recon, z=z, z_q=z_q, z_q_hard=z_q)  # no beta
    obs["vqvae_loss_default_beta_is_0.25"] = close(
        parts["total"], parts["recon"] + parts["codebook"] + 0.25 * parts["commitment"], rel=1e-6)
    codebook = torch.randn(8, 3)
    z, g = torch.randn(10, 3, requires_grad=True), torch.randn(10, 3)
    z_q, indices, _ = VectorQuantizer(3, 8, init_codebook=codebook)(z)
    z_q.backward(g)
    obs["vq_forward_value_is_z_q_hard"] = (
        torch.equal(indices, torch.cdist(z.detach(), codebook).argmin(1))
        and torch.allclose(z_q.detach(), codebook[indices], rtol=1e-6, atol=1e-6))
    obs["vq_gradient_to_z_is_straight_through"] = torch.equal(z.grad, g)

    # Trainer.train_step against Adam on the model's own forward and the fixed loss.
    ds2 = GaussianDataset(d=8, k=3, n_samples=64, seed=11)
    d, k, n = 8, 3, 6

    def learned_model(seed):
        return small_learned_model(seed, d, k, n)

    def adam(model):
        return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.05)

    model = learned_model(0)
    reference = copy.deepcopy(model)
    trainer = Trainer(model, adam(model))
    before = [p.detach().clone() for p in model.parameters()]
    steps = [(ds2.X[:16], 0.7), ((ds2.X[16:32], ds2.Y[16:32]), None)]  # tensor, beta; pair, default
    returned = []
    try:
        for s, (batch, beta) in enumerate(steps):
            returned.append(trainer.train_step(batch, beta=beta) if beta is not None
                            else trainer.train_step(batch))
            if s == 0:
                obs["train_step_changes_the_parameters_on_the_first_step"] = any(
                    not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters()))
    except RuntimeError as e:  # e.g. a step before backward: autograd sees the in-place update
        data["train_step_error"] = str(e).splitlines()[0]
    optimizer = adam(reference)
    expected = []
    for batch, beta in steps:
        x = batch[0] if isinstance(batch, tuple) else batch
        out = reference(x)
        hard = reference.quantizer.codebook[out["indices"]]
        recon = F.mse_loss(out["x_recon"], x)
        codebook_term, commitment = F.mse_loss(out["z"].detach(), hard), F.mse_loss(out["z"], hard.detach())
        total = recon + codebook_term + (0.25 if beta is None else beta) * commitment
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        expected.append([total.item(), recon.item(), codebook_term.item(), commitment.item()])
    got = [[step[key] for key in ("total", "recon", "codebook", "commitment")] for step in returned]
    data["train_losses"] = {"got": got, "expected": expected}
    obs["train_step_matches_adam_on_the_fixed_loss"] = (
        len(got) == len(expected) and all(close(a, b, rel=1e-5, abs_=1e-7) for ga, ea in zip(got, expected) for a, b in zip(ga, ea))
        and all(torch.allclose(p, r, rtol=1e-5, atol=1e-6)
                for p, r in zip(model.parameters(), reference.parameters())))

    # Trainer.evaluate: whole-set values; changes nothing training reads afterwards.
    X, Y = ds2.X[:10], ds2.Y[:10]
    model = learned_model(1)
    trainer = Trainer(model, adam(model))
    trainer.train_step(ds2.X[32:48], beta=0.25)
    params = [p.detach().clone() for p in model.parameters()]
    state = copy.deepcopy(trainer.optimizer.state_dict()["state"])
    model.train()
    torch.manual_seed(123)
    metrics = trainer.evaluate(DataLoader(TensorDataset(X, Y), batch_size=4, shuffle=False),
                               MetricsTracker(n))
    rng_after = torch.rand(4)
    pure = (model.training and torch.equal(rng_after, seeded(123, torch.rand, 4))
            and all(torch.equal(a, p.detach()) for a, p in zip(params, model.parameters())))
    after = trainer.optimizer.state_dict()["state"]
    pure = pure and state.keys() == after.keys() and all(
        torch.equal(torch.as_tensor(state[i][key]), torch.as_tensor(after[i][key]))
        for i in state for key in state[i])
    model.eval()
    trainer.evaluate(DataLoader(TensorDataset(X, Y), batch_size=4), MetricsTracker(n))
    obs["evaluate_changes_nothing_training_reads"] = bool(pure and not model.training)
    with torch.no_grad():
        out = model(X)
    recon = F.mse_loss(out["x_recon"].double(), X.double()).item()
    data["evaluate_recon_loss"] = {"got": metrics.get("recon_loss"), "whole_set": recon}
    obs["evaluate_recon_loss_over_10_rows_in_batches_of_4_is_the_whole_set_mean"] = close(
        metrics.get("recon_loss"), recon, rel=1e-6)
    tracker = MetricsTracker(n)
    whole = {**tracker.compute_utilization_metrics(out["indices"]),
             **tracker.compute_distortion_metrics(out["z"], out["z_q"]),
             **tracker.compute_codebook_stats(model.quantizer.codebook)}
    obs["evaluate_metrics_over_the_whole_set"] = (
        set(metrics) == set(whole) | {"recon_loss"}
        and all(close(metrics[key], value, rel=1e-6) for key, value in whole.items()))
    data["evaluate_keys_not_over_the_whole_set"] = sorted(
        [key for key, value in whole.items() if not close(metrics.get(key), value, rel=1e-6)]
        + ([] if close(metrics.get("recon_loss"), recon, rel=1e-6) else ["recon_loss"]))


def plain_rows(metrics):
    """A tracker's dict of lists with None and NaN as None and numbers as floats."""
    return {key: [None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
                  for value in column]
            for key, column in metrics.items()}


def probe_state(obs, data):
    """State across calls (protocol 3): the logging path (MetricsTracker.update, get_final_metrics,
    save, load), checkpoints, the loader across epochs, the caller's init_codebook, evaluation
    repeated and followed by training, and VectorQuantizer's optional info keys. The training
    steps here are written out (forward, a fixed loss, the optimizer) rather than train_step, so
    that a train_step defect shows only in its own observations."""
    import csv
    import tempfile

    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from src.data import GaussianDataset
    from src.decoders import LearnedLinearDecoder
    from src.encoders import LearnedLinearEncoder
    from src.evaluation import MetricsTracker
    from src.models import VQVAE
    from src.quantizers import VectorQuantizer
    from src.training import Trainer

    # The logging path: a key logged only sometimes (eval_D), a key first logged at the 3rd row (late).
    log = [(0, {"loss": 1.0, "eval_D": 0.5}), (10, {"loss": 0.8}), (20, {"loss": 0.6, "late": 3.0}),
           (30, {"loss": 0.4, "eval_D": 0.25}), (40, {"loss": 0.2})]
    rows = {"step": [0.0, 10.0, 20.0, 30.0, 40.0], "loss": [1.0, 0.8, 0.6, 0.4, 0.2],
            "eval_D": [0.5, None, None, 0.25, None], "late": [None, None, 3.0, None, None]}
    tracker = MetricsTracker(4)
    for step, metrics in log:
        tracker.update(step, **metrics)
    obs["tracker_rows_empty_where_a_key_is_not_logged"] = plain_rows(tracker.metrics) == rows
    final = tracker.get_final_metrics()
    data["tracker_final"] = {key: final.get(key) for key in ("loss", "eval_D", "late")}
    obs["tracker_final_metrics_are_each_keys_last_logged_value"] = data["tracker_final"] == {
        "loss": 0.2, "eval_D": 0.25, "late": 3.0}
    with tempfile.TemporaryDirectory(prefix="vqvae-doubles-") as folder:
        path = os.path.join(folder, "metrics.csv")
        try:
            tracker.save(path)
            with open(path, newline="") as f:
                lines = list(csv.reader(f))
            written = {key: [None if line[j] == "" else float(line[j]) for line in lines[1:]]
                       for j, key in enumerate(lines[0])}
            obs["tracker_save_writes_a_csv_line_per_row_empty_where_not_logged"] = written == rows
        except Exception as e:  # noqa: BLE001 - the failure is the observation
            obs["tracker_save_writes_a_csv_line_per_row_empty_where_not_logged"] = False
            data["tracker_save_error"] = f"{type(e).__name__}: {e}"
        loaded = MetricsTracker(4)
        try:
            loaded.load(path)
            obs["tracker_load_gives_the_saved_rows_and_final_metrics"] = (
                plain_rows(loaded.metrics) == plain_rows(tracker.metrics)
                and loaded.get_final_metrics() == tracker.get_final_metrics())
        except Exception as e:  # noqa: BLE001
            obs["tracker_load_gives_the_saved_rows_and_final_metrics"] = False
            data["tracker_load_error"] = f"{type(e).__name__}: {e}"

    # Models and steps written out: forward, recon + codebook + 0.25 commitment, optimizer step.
    ds = GaussianDataset(d=8, k=3, n_samples=64, seed=11)
    d, k, n = 8, 3, 6

    def learned_model(seed):
        return small_learned_model(seed, d, k, n)

    def trainer_of(model):
        return Trainer(model, torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.05))

    def step(trainer, x):
        out = trainer.model(x)
        hard = trainer.model.quantizer.codebook[out["indices"]]
        loss = (F.mse_loss(out["x_recon"], x) + F.mse_loss(out["z"].detach(), hard)
                + 0.25 * F.mse_loss(out["z"], hard.detach()))
        trainer.optimizer.zero_grad()
        loss.backward()
        trainer.optimizer.step()
        return [loss.item()] + [p.detach().clone() for p in trainer.model.parameters()]

    def same(a, b):
        return len(a) == len(b) and a[0] == b[0] and all(torch.equal(x, y) for x, y in zip(a[1:], b[1:]))

    # A checkpoint round trip: steps after load_checkpoint into a fresh trainer equal the steps
    # taken without it.
    batches = [ds.X[8 * i:8 * i + 8] for i in range(4)]
    a, b = trainer_of(learned_model(3)), trainer_of(learned_model(4))
    for x in batches[:2]:
        step(a, x)
    with tempfile.TemporaryDirectory(prefix="vqvae-doubles-") as folder:
        path = os.path.join(folder, "checkpoint.pt")
        a.save_checkpoint(path)
        saved = torch.load(path)
        obs["checkpoint_holds_model_and_optimizer_state_dicts"] = (
            isinstance(saved, dict) and sorted(saved) == ["model_state_dict", "optimizer_state_dict"])
        continued = [step(a, x) for x in batches[2:]]
        b.load_checkpoint(path)
        resumed = [step(b, x) for x in batches[2:]]
    data["checkpoint_losses"] = {"continued": [c[0] for c in continued], "resumed": [r[0] for r in resumed]}
    obs["checkpoint_resumed_steps_equal_the_continued_steps"] = all(
        same(c, r) for c, r in zip(continued, resumed))

    # Evaluation twice with the same loader and tracker; a step after it equals one without it.
    loader = DataLoader(TensorDataset(ds.X[:10], ds.Y[:10]), batch_size=4)
    evaluated, twin = trainer_of(learned_model(5)), trainer_of(learned_model(5))
    step(evaluated, batches[0])
    step(twin, batches[0])
    tracker = MetricsTracker(n)
    first = evaluated.evaluate(loader, tracker)
    second = evaluated.evaluate(loader, tracker)
    data["evaluate_twice"] = {"first": first, "second": second}
    obs["evaluate_twice_with_the_same_tracker_gives_the_same_values"] = first == second
    obs["step_after_evaluate_equals_the_step_without_it"] = same(step(evaluated, batches[1]),
                                                                 step(twin, batches[1]))

    # The caller's init_codebook: the quantizer owns a copy, an optimizer step leaves it as it was.
    torch.manual_seed(6)
    codebook = torch.randn(n, k)
    kept = codebook.clone()
    quantizer = VectorQuantizer(k, n, init_codebook=codebook)
    optimizer = torch.optim.SGD(quantizer.parameters(), lr=0.1)
    quantizer.codebook.pow(2).sum().backward()
    optimizer.step()
    data["init_codebook_test_moved_the_codebook"] = not torch.equal(quantizer.codebook.detach(), kept)
    obs["training_leaves_the_callers_init_codebook_untouched"] = torch.equal(codebook, kept)

    # The loader across epochs: a new order each epoch from torch's global generator; the same
    # seed gives the same first epoch.
    big = GaussianDataset(d=4, k=2, n_samples=200, seed=5)

    def epoch(loader):
        return torch.cat([x for x, _ in loader])
    torch.manual_seed(7)
    loader = big.get_dataloader(batch_size=64, shuffle=True)
    first_epoch, second_epoch = epoch(loader), epoch(loader)
    torch.manual_seed(7)
    again = epoch(big.get_dataloader(batch_size=64, shuffle=True))
    obs["loader_second_epoch_draws_a_new_order"] = not torch.equal(first_epoch, second_epoch)
    obs["loader_same_seed_repeats_the_first_epoch"] = torch.equal(first_epoch, again)

    # VectorQuantizer's optional info keys (required of the rotation class only): which it
    # returns, each checked against its definition.
    torch.manual_seed(8)
    z, codebook = torch.randn(9, 3), torch.randn(5, 3)
    _, indices, info = VectorQuantizer(3, 5, init_codebook=codebook)(z)
    q = codebook[indices]
    definitions = {"distances": (z - q).norm(dim=1), "commitment_loss": (z - q).norm(dim=1).pow(2).mean()}
    returned = [key if torch.allclose(torch.as_tensor(info[key]).detach(), value, rtol=1e-5, atol=1e-6)
                else f"{key} (wrong)" for key, value in definitions.items() if key in info]
    obs["vq_info_optional_keys"] = ",".join(returned) or "none"


# ----------------------------------------------------------------------------------------------
# Driver.

# The observations each variant must flip (everything else must equal the fixed package's).
FLIPS = {
    "bug1_codebook_loss": {"seed_snippet_passes", "vq_info_has_z_q_hard",
                           "codebook_gets_gradient_from_codebook_term", "vqvae_outputs_have_z_q_hard",
                           "trainer_step_moves_codebook", "train_step_matches_adam_on_the_fixed_loss"},
    "bug2_conditional_ste": {"vq_z_q_no_grad_when_z_frozen"},
    "bug3_legacy_swapped": {"legacy_encoder_weight_is_d_k", "legacy_decoder_weight_is_k_d"},
    "bug4_pca_double_transpose": {"pca_encoder_weight_is_d_k"},
    "bug5_rotation_without_z_q_hard": {"rotation_info_has_z_q_hard"},
    "rotation_lambda_inverted": {"rotation_hand_example", "rotation_matches_explicit_R",
                                 "rotation_q_zero_gives_zero", "rotation_grad_norm_is_lambda_g_norm"},
    "rotation_without_lambda": {"rotation_hand_example", "rotation_matches_explicit_R",
                                "rotation_q_zero_gives_zero", "rotation_grad_norm_is_lambda_g_norm"},
    "rotation_R_not_transposed": {"rotation_hand_example", "rotation_matches_explicit_R"},
    "rotation_unknown_estimator": {"rotation_hand_example", "rotation_matches_explicit_R",
                                   "rotation_z_zero_passes_g", "rotation_q_zero_gives_zero",
                                   "rotation_antiparallel_finite_norm_kept",
                                   "rotation_grad_norm_is_lambda_g_norm"},
    "rotation_falls_back_to_ste": {"rotation_hand_example", "rotation_matches_explicit_R",
                                   "rotation_q_zero_gives_zero", "rotation_grad_norm_is_lambda_g_norm"},
    "init_rate_times_k": {"rd_gaussian_init_default_rate_is_log2n_over_k"},
    "init_uniform_range": {"uniform_init_is_rand_times_2_over_n_minus_1_over_n",
                           "quantizer_default_codebook_is_uniform_on_symmetric_range"},
    "metrics_perplexity_without_exp": {"perplexity_of_uniform_usage_over_8_codes_is_8",
                                       "utilization_closed_form"},
    "metrics_transposed_codebook": {"codebook_stats_of_3_codewords_with_a_duplicate",
                                    "codebook_stats_of_128_codewords_exact"},
    "trainer_step_before_backward": {"train_step_changes_the_parameters_on_the_first_step",
                                     "train_step_matches_adam_on_the_fixed_loss",
                                     "trainer_step_moves_codebook"},
    "evaluate_mean_of_batch_means": {
        "evaluate_recon_loss_over_10_rows_in_batches_of_4_is_the_whole_set_mean"},
    "data_loader_drops_last": {"loader_batch_4_over_10_rows_yields_4_4_2",
                               "default_loader_shuffles_200_rows_in_64_64_64_8"},
    "loss_default_beta": {"vqvae_loss_default_beta_is_0.25"},
    "vq_forward_value_reflected": {"vq_forward_value_is_z_q_hard"},
    "no_projection_quantizer": {"projection_quantizer_present", "projection_hand_example"},
    "no_legacy_model": {"legacy_model_present", *LEGACY_OBSERVATIONS},
    "vq_info_distances_only": {"vq_info_optional_keys"},
    "loader_repeats_order": {"loader_second_epoch_draws_a_new_order"},
    "quantizer_shares_init_codebook": {"training_leaves_the_callers_init_codebook_untouched"},
    "tracker_cannot_save_late_key": {"tracker_rows_empty_where_a_key_is_not_logged",
                                     "tracker_save_writes_a_csv_line_per_row_empty_where_not_logged",
                                     "tracker_load_gives_the_saved_rows_and_final_metrics"},
    "tracker_final_value_none": {"tracker_final_metrics_are_each_keys_last_logged_value"},
    "checkpoint_without_optimizer": {"checkpoint_holds_model_and_optimizer_state_dicts",
                                     "checkpoint_resumed_steps_equal_the_continued_steps"},
    "evaluate_leaves_codebook_frozen": {"step_after_evaluate_equals_the_step_without_it"},
    "tracker_accumulates_usage": {"evaluate_twice_with_the_same_tracker_gives_the_same_values"},
    "evaluate_two_defects": {"evaluate_recon_loss_over_10_rows_in_batches_of_4_is_the_whole_set_mean",
                             "evaluate_metrics_over_the_whole_set"},
}

# Variants whose defect is in evaluate's values: exactly these keys differ from the whole set's.
EVALUATE_KEYS_OFF = {"evaluate_mean_of_batch_means": ["recon_loss"],
                     "evaluate_two_defects": ["quantization_error", "recon_loss"]}


class Report:
    def __init__(self):
        self.failures = 0

    def check(self, ok, what, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}")
        self.failures += not ok


def run_probe(package_root):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=package_root)
    for threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # probes run side by side
        env.setdefault(threads, "1")
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
    report.check(data["init_codebook_test_moved_the_codebook"],
                 "fixed: the init_codebook observation's optimizer step moved the codebook (not vacuous)")
    report.check(obs["vq_info_optional_keys"] == "none",
                 "fixed: VectorQuantizer's info has neither optional key (distances, commitment_loss)",
                 obs["vq_info_optional_keys"])


def check_variant(report, name, variant, fixed):
    obs, data, fobs = variant["obs"], variant["data"], fixed["obs"]
    flips = FLIPS[name]
    shown = [o for o in sorted(flips) if obs[o] != fobs[o]]
    report.check(len(shown) == len(flips), f"{name}: bug observable",
                 ", ".join(f"{o}={obs[o]}" for o in sorted(flips))
                 + "".join(f" [{key}: {data[key]}]" for key in ("seed_snippet_error", "trainer_error", "train_step_error")
                           if key in data))
    others = [o for o in fobs if o not in flips and obs[o] != fobs[o]]
    report.check(not others, f"{name}: every other observation as fixed",
                 ", ".join(others) if others else f"{len(fobs) - len(flips)} observations")
    if name in EVALUATE_KEYS_OFF:
        off = data["evaluate_keys_not_over_the_whole_set"]
        report.check(off == EVALUATE_KEYS_OFF[name],
                     f"{name}: evaluate's keys off the whole set are {', '.join(EVALUATE_KEYS_OFF[name])}",
                     ", ".join(off))
    if name == "vq_info_distances_only":
        report.check(obs["vq_info_optional_keys"] == "distances",
                     f"{name}: VectorQuantizer's info has distances (right values), no commitment_loss",
                     obs["vq_info_optional_keys"])
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
        made_ok = []
        for name in names:
            dest = os.path.join(tmp, name)
            made = subprocess.run([sys.executable, os.path.join(HERE, "variants.py"), name, dest],
                                  capture_output=True, text=True)
            report.check(made.returncode == 0, f"{name}: materialised by variants.py",
                         made.stderr.strip())
            if made.returncode == 0:
                made_ok.append(name)
        # One subprocess per package, a few at a time (each runs on one thread).
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            probes = {name: pool.submit(run_probe, os.path.join(tmp, name)) for name in made_ok}
            results = {name: probe.result() for name, probe in probes.items()}
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
