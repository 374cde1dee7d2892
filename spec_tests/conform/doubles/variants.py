#!/usr/bin/python3
"""The bug variants of the fixed test double, as tables of exact text replacements.

Each variant reverts exactly one fix of seed/BASELINE_FIXES.md back to the document's
"Current code" (plus one defective estimator that is not a documented bug). A variant is
materialised by copying fixed/ and applying its replacements; every fixed_text must occur
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
}

VQ = "src/quantizers/vq.py"
ROT = "src/quantizers/rotation_vq.py"
LOSSES = "src/training/losses.py"
TRAINER = "src/training/trainer.py"
MODEL = "src/models/vqvae.py"
LEGACY = "src/models/legacy.py"
ENCODER = "src/encoders/linear.py"

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
