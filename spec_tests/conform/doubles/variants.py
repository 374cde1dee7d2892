#!/usr/bin/python3
"""The bug variants of the fixed test double, as tables of exact text replacements.

The bug* variants each revert exactly one fix of seed/BASELINE_FIXES.md back to the document's
"Current code"; the others each plant one realistic bug that is not a documented one, one per
area the conformance referee judges (initialisation, metrics, trainer, evaluation, data pipeline,
loss defaults, the quantizer's forward value, and defective rotation-trick estimators; state
across calls: the loader's epochs, the caller's init_codebook, the tracker's logging path,
checkpoints, evaluation repeated or followed by training), and evaluate_two_defects plants two at
once; no_projection_quantizer and no_legacy_model are earlier revisions without an optional
class. A variant is materialised by copying fixed/ and applying its replacements; every
fixed_text must occur exactly once in its file, so the table cannot silently stop applying.

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
    "no_projection_quantizer": "an earlier revision: no ProjectionVectorQuantizer in src.quantizers "
                               "(an optional part)",
    "no_legacy_model": "an earlier revision: no LinearGaussianVQVAE in src.models (an optional part)",
    "vq_info_distances_only": "not a documented bug: VectorQuantizer's info also has 'distances' "
                              "(right values) but no 'commitment_loss'",
    "loader_repeats_order": "not a documented bug: a shuffled get_dataloader draws one permutation "
                            "when called, so every epoch repeats the same order",
    "quantizer_shares_init_codebook": "not a documented bug: the codebook parameter shares the "
                                      "caller's init_codebook storage; training writes into it",
    "tracker_cannot_save_late_key": "not a documented bug: update does not pad a key first seen at a "
                                    "later step, so the columns differ in length and save raises",
    "tracker_final_value_none": "not a documented bug: get_final_metrics returns each column's last "
                                "entry (None for a key not logged at the last update)",
    "checkpoint_without_optimizer": "not a documented bug: save_checkpoint saves only the model's "
                                    "state, load_checkpoint restores only the model",
    "evaluate_leaves_codebook_frozen": "not a documented bug: evaluate freezes the quantizer and "
                                       "never unfreezes it (training after it no longer moves the codebook)",
    "tracker_accumulates_usage": "not a documented bug: compute_utilization_metrics adds each call's "
                                 "code counts to the tracker's and divides by this call's count",
    "evaluate_two_defects": "not a documented bug, two at once: evaluate's recon_loss is the mean of "
                            "the per-batch means and its quantization_error the last batch's",
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
QUANTIZERS = "src/quantizers/__init__.py"
MODELS = "src/models/__init__.py"
BASE_QUANTIZER = "src/quantizers/base.py"

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
    "no_projection_quantizer": [
        (QUANTIZERS,
         "from .projection_vq import ProjectionVectorQuantizer\n",
         ""),
        (QUANTIZERS,
         '__all__ = ["BaseQuantizer", "VectorQuantizer", "RotationVectorQuantizer",\n'
         '           "ProjectionVectorQuantizer"]\n',
         '__all__ = ["BaseQuantizer", "VectorQuantizer", "RotationVectorQuantizer"]\n'),
    ],
    "no_legacy_model": [
        (MODELS,
         "from .legacy import LinearGaussianVQVAE\n",
         ""),
        (MODELS,
         '__all__ = ["VQVAE", "LinearGaussianVQVAE"]\n',
         '__all__ = ["VQVAE"]\n'),
    ],
    "vq_info_distances_only": [
        (VQ,
         "        return z_q, indices, {'z_q_hard': z_q_hard}  # Return both\n",
         "        distances = (z - z_q_hard).norm(dim=1)\n"
         "        return z_q, indices, {'z_q_hard': z_q_hard, 'distances': distances}\n"),
    ],
    "loader_repeats_order": [
        (DATASET,
         "        return DataLoader(TensorDataset(self.X, self.Y), batch_size=batch_size, shuffle=shuffle)\n",
         "        if shuffle:  # one order, drawn now, for every epoch\n"
         "            order = torch.randperm(self.n_samples).tolist()\n"
         "            return DataLoader(TensorDataset(self.X, self.Y), batch_size=batch_size, sampler=order)\n"
         "        return DataLoader(TensorDataset(self.X, self.Y), batch_size=batch_size, shuffle=False)\n"),
    ],
    "quantizer_shares_init_codebook": [
        (BASE_QUANTIZER,
         "        self.codebook = nn.Parameter(init_codebook.detach().clone().float())\n",
         "        self.codebook = nn.Parameter(init_codebook.detach().float())  # the caller's storage\n"),
    ],
    "tracker_cannot_save_late_key": [
        (METRICS,
         "                self.metrics[key] = [None] * earlier  # first seen now: empty in the earlier rows\n",
         "                self.metrics[key] = []  # starts at this step: shorter than the others\n"),
    ],
    "tracker_final_value_none": [
        (METRICS,
         "        final = {}\n"
         "        for key, column in self.metrics.items():\n"
         "            logged = [value for value in column if value is not None]\n"
         "            final[key] = logged[-1] if logged else None\n"
         "        return final\n",
         "        return {key: column[-1] for key, column in self.metrics.items()}\n"),
    ],
    "checkpoint_without_optimizer": [
        (TRAINER,
         "            'optimizer_state_dict': self.optimizer.state_dict(),\n",
         ""),
        (TRAINER,
         "        self.optimizer.load_state_dict(checkpoint['optimizer_state_dict'])\n",
         ""),
    ],
    "evaluate_leaves_codebook_frozen": [
        (TRAINER,
         "        self.model.eval()\n",
         "        self.model.quantizer.freeze()  # never unfrozen\n"
         "        self.model.eval()\n"),
    ],
    "tracker_accumulates_usage": [
        (METRICS,
         "        counts = torch.bincount(indices, minlength=self.codebook_size).double()\n",
         "        counts = torch.bincount(indices, minlength=self.codebook_size).double()\n"
         "        if getattr(self, 'usage_counts', None) is not None:\n"
         "            counts = counts + self.usage_counts  # every earlier call's counts too\n"
         "        self.usage_counts = counts\n"),
    ],
    "evaluate_two_defects": [
        (TRAINER,
         "        recon_loss = F.mse_loss(torch.cat(x_recons).double(), torch.cat(xs).double()).item()\n",
         "        recon_loss = sum(F.mse_loss(r, x).item() for r, x in zip(x_recons, xs)) / len(xs)\n"),
        (TRAINER,
         "        metrics.update(metrics_tracker.compute_distortion_metrics(torch.cat(zs), torch.cat(z_qs)))\n",
         "        metrics.update(metrics_tracker.compute_distortion_metrics(torch.cat(zs), torch.cat(z_qs)))\n"
         "        metrics['quantization_error'] = metrics_tracker.compute_distortion_metrics(\n"
         "            zs[-1], z_qs[-1])['quantization_error']  # the last batch's only\n"),
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
