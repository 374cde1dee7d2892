"""Mirrors the baseline's src/data (GaussianDataset): X = Y A^T + W, then PCA.

Draw order and arithmetic follow docs/design.md ("The data") exactly, so that with the same
LibTorch the tensors equal the C++ library's bit for bit, provided BLAS runs one thread, as
`vqvae --threads 1` does (Debian's OpenBLAS otherwise splits Xc^T Xc and eigh over threads and
rounds differently; see check_doubles.use_one_thread). All tensors are float32.

The data pipeline: get_initialization_batch(n_init=1000) = X[:min(n_init, N)] @ U_k, and
get_dataloader(batch_size=64, shuffle=True), a DataLoader over TensorDataset(X, Y) whose batches
are (x, y) pairs (its shuffle draws from the global torch generator, as any DataLoader does).
"""
import torch
from torch.utils.data import DataLoader, TensorDataset


class GaussianDataset:
    def __init__(self, d=64, k=8, sigma_noise=0.1, n_samples=10000, seed=42):
        if not 1 <= k <= d:
            raise ValueError(f"GaussianDataset: need 1 <= k <= d, got k={k}, d={d}")
        if n_samples < 2:
            raise ValueError(f"GaussianDataset: n_samples must be >= 2, got {n_samples}")
        self.d, self.k, self.sigma_noise, self.n_samples, self.seed = d, k, sigma_noise, n_samples, seed
        n = n_samples

        torch.manual_seed(seed)
        A_random = torch.randn(d, k)
        self.A, _ = torch.linalg.qr(A_random, mode="reduced")  # (d, k)
        B = torch.randn(k, k)
        self.Sigma_y = B @ B.T + 0.1 * torch.eye(k)  # (k, k)
        L = torch.linalg.cholesky(self.Sigma_y)
        eps = torch.empty(n, k).normal_()
        self.Y = torch.matmul(L, eps.unsqueeze(-1)).squeeze(-1)  # (n, k)
        W = torch.randn(n, d) * sigma_noise
        self.X = self.Y @ self.A.T + W  # (n, d)

        # PCA, written as the baseline writes it (not torch.cov) to keep the same bits.
        Xc = self.X - self.X.mean(0, keepdim=True)
        self.Sigma_X = (Xc.T @ Xc) / float(n - 1)  # (d, d)
        eigenvalues, eigenvectors = torch.linalg.eigh(self.Sigma_X, UPLO="L")
        top = torch.argsort(eigenvalues, descending=True)[:k]
        self.U_k = eigenvectors.index_select(1, top)  # (d, k)
        self.eigenvalues_k = eigenvalues.index_select(0, top)  # (k)
        self.z_true = self.X @ self.U_k  # (n, k)
        self.Sigma_z = self.U_k.T @ self.Sigma_X @ self.U_k  # (k, k)
        self.sigma_z_squared = torch.diag(self.Sigma_z).mean().item()
        self.signal_variance = torch.diag(self.A @ self.Sigma_y @ self.A.T).mean().item()
        self.noise_variance = sigma_noise ** 2
        self.snr = self.signal_variance / (self.noise_variance + 1e-10)

    def get_initialization_batch(self, n_init=1000):
        """(min(n_init, n_samples), k): the first rows of X projected on U_k."""
        return self.X[:min(n_init, self.n_samples)] @ self.U_k

    def get_dataloader(self, batch_size=64, shuffle=True):
        """A DataLoader over (X, Y): batches are (x (B, d), y (B, k)) pairs; the last one short."""
        return DataLoader(TensorDataset(self.X, self.Y), batch_size=batch_size, shuffle=shuffle)

    def __len__(self):
        return self.n_samples

    def __getitem__(self, i):
        return self.X[i]
