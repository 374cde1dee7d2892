#!/usr/bin/python3
"""The bug variants of the fixed test double, as tables of exact text replacements.

The bug* variants each revert exactly one fix of seed/BASELINE_FIXES.md back to the document's
"Current code"; the others each plant one realistic bug that is not a documented one, one per
area the conformance referee judges (initialisation, metrics, trainer, evaluation, data pipeline,
loss defaults, the quantizer's forward value, and defective rotation-trick estimators). A variant
is materialised by copying fixed/ and applying its replacements; every fixed_text must occur
exactly once in its file, so the table cannot silently stop applying.

    /usr/bin/python3 variants.py NAME DEST    # DEST/src is the variant's package
    /usr/bin/python3 variants.py --list
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXED = os.path.join(HERE, "fixed")

DESCRIPTIONS = {
    "fixed": "all five fixes applied (a plain copy)",
    "bug1_codebook_loss": "fix #1 reverted: codebook loss on the STE z_q; no z_q_hard in VQ info, "
                          "model outputs or the trainer's call",
    "bug2_conditional_ste": "fix #2 reverted: VectorQuantizer applies the STE only if z.requires_grad",
    "bug3_legacy_swapped": "fix #3 reverted: LinearGaussianVQVAE buffers (k,d)/(d,k), used swapped",
    "bug4_pca_double_transpose": "fix #4 reverted: PCAEncoder stores U_k.T (k,d) and encodes with .T",
    "bug5_rotation_without_z_q_hard": "fix #5 reverted: RotationVectorQuantizer info lacks z_q_hard",
    "rotation_lambda_inverted": "not a documented bug: rotation trick with lam = |z|/|q|",
    "rotation_without_lambda": "not a documented bug: rotation trick with lam = 1",
    "rotation_R_not_transposed": "not a documented bug: rotation trick with R g instead of R^T g",
    "rotation_unknown_estimator": "not a documented bug: rotation backward returns 2 g "
                                  "(matches no known estimator)",
    "rotation_falls_back_to_ste": "not a documented bug: RotationVectorQuantizer forward uses the "
                                  "straight-through z + (q - z).detach()",
    "init_rate_times_k": "not a documented bug: rd_gaussian_init's default rate log2(n) * k "
                         "instead of log2(n) / k",
    "init_uniform_range": "not a documented bug: uniform_init draws on [0, 2/n) instead of "
                          "[-1/n, 1/n)",
    "metrics_perplexity_without_exp": "not a documented bug: perplexity = entropy (exp forgotten)",
    "metrics_transposed_codebook": "not a documented bug: codebook stats computed on codebook.T",
    "trainer_step_before_backward": "not a documented bug: train_step calls optimizer.step() "
                                    "before loss.backward()",
    "evaluate_mean_of_batch_means": "not a documented bug: evaluate's recon_loss is the mean of "
                                    "the per-batch means",
    "data_loader_drops_last": "not a documented bug: get_dataloader passes drop_last=True",
    "loss_default_beta": "not a documented bug: vqvae_loss's default beta is 0.5",
    "vq_forward_value_reflected": "not a documented bug: VectorQuantizer's z_q = "
                                  "z - (z_q_hard - z).detach() (gradients right, value 2z - q)",
}

VQ = "src/quantizers/vq.py"
ROT = "src/quantizers/rotation_vq.py"
LOSSES = "src/training/losses.py"
TRAINER = "src/training/trainer.py"
MODEL = "src/models/vqvae.py"
LEGACY = "src/models/legacy.py"
ENCODER = "src/encoders/linear.py"
CODEBOOK_INIT = "src/initialization/codebook_init.py"
RD_INIT = "src/initialization/rd_init.py"
METRICS = "src/evaluation/metrics.py"
DATASET = "src/data/gaussian_dataset.py"

VARIANTS = {
    "fixed": [],
    "bug1_codebook_loss": [
        (LOSSES,
         "def vqvae_loss(x, x_recon, z, z_q, z_q_hard, beta=0.25):\n",
         "def vqvae_loss(x, x_recon, z, z_q, beta=0.25):\n"),
        (LOSSES,
         "    codebook_loss = F.mse_loss(z.detach(), z_q_hard)  # ✅ Use hard quantization\n"
         "    commitment_loss = F.mse_loss(z, z_q_hard.detach())\n",
         "    codebook_loss = F.mse_loss(z.detach(), z_q)  # ❌ WRONG\n"
         "    commitment_loss = F.mse_loss(z, z_q.detach())\n"),
        (VQ,
         "        return z_q, indices, {'z_q_hard': z_q_hard}  # Return both\n",
         "        return z_q, indices, {}\n"),
        (MODEL,
         "            'z_q_hard': quantizer_info['z_q_hard'],  # Add this\n",
         ""),
        (TRAINER,
         "            z_q_hard=outputs['z_q_hard'],  # Add this\n",
         ""),
        # The legacy model's forward reads the same info key; without this it would raise KeyError.
        (LEGACY,
         "            'z_q_hard': quantizer_info['z_q_hard'],  # fix #1 step 3, here too\n",
         ""),
    ],
    "bug2_conditional_ste": [
        (VQ,
         "        z_q = z + (z_q_hard - z).detach()  # ✅ Consistent\n",
         "        if z.requires_grad:\n"
         "            z_q = z + (z_q_hard - z).detach()\n"
         "        else:\n"
         "            z_q = z_q_hard  # ❌ Inconsistent behavior\n"),
    ],
    "bug3_legacy_swapped": [
        (LEGACY,
         "        self.register_buffer('encoder_weight', U_k)    # (d, k) for encoding\n"
         "        self.register_buffer('decoder_weight', U_k.T)  # (k, d) for decoding\n",
         "        self.register_buffer('encoder_weight', U_k.T)  # (k, d)\n"
         "        self.register_buffer('decoder_weight', U_k)    # (d, k)\n"),
        (LEGACY,
         "        z = x @ self.encoder_weight  # ✅ Correct: (B,d) @ (d,k) -> (B,k)\n",
         "        z = x @ self.decoder_weight  # ❌ Using decoder_weight to encode!\n"),
        (LEGACY,
         "        x_recon = z @ self.decoder_weight  # ✅ Correct: (B,k) @ (k,d) -> (B,d)\n",
         "        x_recon = z @ self.encoder_weight  # ❌ Using encoder_weight to decode!\n"),
    ],
    "bug4_pca_double_transpose": [
        (ENCODER,
         "        self.register_buffer('encoder_weight', U_k)  # (d, k)\n",
         "        self.register_buffer('encoder_weight', U_k.T)  # (k, d)\n"),
        (ENCODER,
         "        z = x @ self.encoder_weight  # (B,d) @ (d,k) -> (B,k)\n",
         "        z = x @ self.encoder_weight.T  # Transpose again: (B,d) @ (d,k)\n"),
    ],
    "bug5_rotation_without_z_q_hard": [
        (ROT,
         "            'z_q_hard': q,  # ✅ Add this\n",
         ""),
    ],
    "rotation_lambda_inverted": [
        (ROT,
         "    lam = q_norm / z_norm.clamp_min(1e-300)  # lam = |q| / |z|\n",
         "    lam = z_norm / q_norm.clamp_min(1e-300)  # lam = |z| / |q| (inverted)\n"),
    ],
    "rotation_without_lambda": [
        (ROT,
         "    lam = q_norm / z_norm.clamp_min(1e-300)  # lam = |q| / |z|\n",
         "    lam = torch.ones_like(q_norm)  # lam forgotten\n"),
    ],
    "rotation_R_not_transposed": [
        (ROT,
         "    rotated = g64 - 2 * r * (r * g64).sum(1, keepdim=True) + 2 * e * (q_hat * g64).sum(1, keepdim=True)\n",
         "    rotated = g64 - 2 * r * (r * g64).sum(1, keepdim=True) + 2 * q_hat * (e * g64).sum(1, keepdim=True)\n"),
    ],
    "rotation_unknown_estimator": [
        (ROT,
         "        return rotation_gradient(z, q, grad_output), None  # nothing to q through this path\n",
         "        return 2 * grad_output, None\n"),
    ],
    "rotation_falls_back_to_ste": [
        (ROT,
         "        z_q = RotationEstimator.apply(z, q)\n",
         "        z_q = z + (q - z).detach()\n"),
    ],
    "init_rate_times_k": [
        (RD_INIT,
         "        rate = math.log2(codebook_size) / dim\n",
         "        rate = math.log2(codebook_size) * dim\n"),
    ],
    "init_uniform_range": [
        (CODEBOOK_INIT,
         "    return torch.rand(codebook_size, dim, device=device) * (2 / codebook_size) - 1 / codebook_size\n",
         "    return torch.rand(codebook_size, dim, device=device) * (2 / codebook_size)\n"),
    ],
    "metrics_perplexity_without_exp": [
        (METRICS,
         "        perplexity = torch.exp(entropy)\n",
         "        perplexity = entropy\n"),
    ],
    "metrics_transposed_codebook": [
        (METRICS,
         "        c = codebook.detach().double()\n",
         "        c = codebook.detach().double().T\n"),
    ],
    "trainer_step_before_backward": [
        (TRAINER,
         "        self.optimizer.zero_grad()\n"
         "        loss.backward()\n"
         "        self.optimizer.step()\n",
         "        self.optimizer.zero_grad()\n"
         "        self.optimizer.step()\n"
         "        loss.backward()\n"),
    ],
    "evaluate_mean_of_batch_means": [
        (TRAINER,
         "        recon_loss = F.mse_loss(torch.cat(x_recons).double(), torch.cat(xs).double()).item()\n",
         "        recon_loss = sum(F.mse_loss(r, x).item() for r, x in zip(x_recons, xs)) / len(xs)\n"),
    ],
    "data_loader_drops_last": [
        (DATASET,
         "        return DataLoader(TensorDataset(self.X, self.Y), batch_size=batch_size, shuffle=shuffle)\n",
         "        return DataLoader(TensorDataset(self.X, self.Y), batch_size=batch_size, shuffle=shuffle,\n"
         "                          drop_last=True)\n"),
    ],
    "loss_default_beta": [
        (LOSSES,
         "def vqvae_loss(x, x_recon, z, z_q, z_q_hard, beta=0.25):\n",
         "def vqvae_loss(x, x_recon, z, z_q, z_q_hard, beta=0.5):\n"),
    ],
    "vq_forward_value_reflected": [
        (VQ,
         "        z_q = z + (z_q_hard - z).detach()  # ✅ Consistent\n",
         "        z_q = z - (z_q_hard - z).detach()  # gradient g, value 2z - z_q_hard\n"),
    ],
}


class VariantError(Exception):
    pass


def materialise(name, dest):
    """Copy fixed/ to dest and apply VARIANTS[name]; dest/src is then the variant's package."""
    if name not in VARIANTS:
        raise VariantError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    if os.path.exists(dest) and os.listdir(dest):
        raise VariantError(f"destination {dest} exists and is not empty")
    replaced = {}
    for rel, fixed_text, buggy_text in VARIANTS[name]:
        path = os.path.join(FIXED, rel)
        text = replaced.get(rel)
        if text is None:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        count = text.count(fixed_text)
        if count != 1:
            first = fixed_text.strip().splitlines()[0]
            raise VariantError(f"variant {name}: {rel}: text {first!r} occurs {count} times, "
                               f"expected exactly once")
        replaced[rel] = text.replace(fixed_text, buggy_text)
    shutil.copytree(FIXED, dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel, text in replaced.items():
        with open(os.path.join(dest, rel), "w", encoding="utf-8") as f:
            f.write(text)


def main(argv):
    if argv == ["--list"]:
        for name in VARIANTS:
            print(f"{name}\t{DESCRIPTIONS[name]}")
        return 0
    if len(argv) != 2:
        print("usage: variants.py NAME DEST | --list", file=sys.stderr)
        return 2
    try:
        materialise(argv[0], argv[1])
    except VariantError as e:
        print(f"variants.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
