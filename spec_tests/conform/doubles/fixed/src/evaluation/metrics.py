"""Mirrors seed src/evaluation (MetricsTracker): codebook utilisation, distortion, codebook stats.

The definitions, exactly (computed in float64, returned as Python floats):
- utilisation of indices (N) over n codes: usage = bincount(indices, minlength=n) / N;
  usage_entropy = -sum usage * ln(usage + 1e-10) (nats); perplexity = exp(usage_entropy);
  dead_codes = the number of codes with usage < 1e-4; min_usage = min over the codes with
  usage > 0; max_usage; usage_std = unbiased std of usage over the n codes.
- distortion of z, z_q (N, k): quantization_error = mean (z - z_q)^2; quant_error_per_dim = the
  per-dimension means, averaged (the same number).
- codebook (c, k): codebook_mean_norm, codebook_std_norm (unbiased) of the row norms;
  codebook_mean_distance = mean Euclidean distance over all c(c - 1)/2 pairs of distinct
  positions, duplicated codewords included, no sampling (the seed filters zero distances and
  samples 100 codewords above 100; the conformance referee judges this definition).
"""
import torch


class MetricsTracker:
    def __init__(self, codebook_size):
        self.codebook_size = codebook_size

    def compute_utilization_metrics(self, indices):
        indices = indices.detach().reshape(-1).long().cpu()
        counts = torch.bincount(indices, minlength=self.codebook_size).double()
        usage = counts / indices.numel()
        entropy = -(usage * torch.log(usage + 1e-10)).sum()
        perplexity = torch.exp(entropy)
        used = usage[usage > 0]
        return {
            'perplexity': perplexity.item(),
            'dead_codes': int((usage < 1e-4).sum().item()),
            'min_usage': used.min().item() if used.numel() else 0.0,
            'max_usage': usage.max().item(),
            'usage_std': usage.std().item(),
            'usage_entropy': entropy.item(),
        }

    def compute_distortion_metrics(self, z, z_q):
        squared = (z.detach().double() - z_q.detach().double()).pow(2)  # (N, k)
        return {
            'quantization_error': squared.mean().item(),
            'quant_error_per_dim': squared.mean(dim=0).mean().item(),
        }

    def compute_codebook_stats(self, codebook):
        c = codebook.detach().double()
        norms = c.norm(dim=1)
        return {
            'codebook_mean_norm': norms.mean().item(),
            'codebook_std_norm': norms.std().item(),
            'codebook_mean_distance': torch.pdist(c).mean().item(),
        }
